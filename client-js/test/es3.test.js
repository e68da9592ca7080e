// The shipped file is plain ES5 that parses as ES3: no trailing commas, no
// reserved words as property names, no getter syntax, no ES2015+ syntax, and
// no use of library functions that IE6-8 lack. (Object.defineProperty is used
// behind a feature check that IE8's DOM-only version fails; the last test
// runs the bundle where it throws, as in IE8. atob/btoa are read off the
// global only on the binary path, which needs the typed arrays IE10 brought
// together with them.)
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const acorn = require('acorn');

const DIST = path.join(__dirname, '..', 'dist');
const FILES = ['polysock.js', 'polysock.min.js'];

for (const f of FILES) {
  const src = fs.readFileSync(path.join(DIST, f), 'utf8');

  test(`${f} parses at ecmaVersion 3 with reserved words refused as property names`, () => {
    acorn.parse(src, { ecmaVersion: 3, allowReserved: 'never', sourceType: 'script' });
  });

  test(`${f} parses at ecmaVersion 5`, () => {
    acorn.parse(src, { ecmaVersion: 5, sourceType: 'script' });
  });

  test(`${f} has no trailing comma in an array or object literal`, () => {
    const tokens = [...acorn.tokenizer(src, { ecmaVersion: 5 })];
    for (let i = 0; i + 1 < tokens.length; i++) {
      if (tokens[i].type.label === ',' && (tokens[i + 1].type.label === ']' || tokens[i + 1].type.label === '}')) {
        assert.fail(`trailing comma at ${tokens[i].start}: ${src.slice(tokens[i].start - 30, tokens[i].start + 5)}`);
      }
    }
  });

  test(`${f} uses nothing IE6-8 lack (outside feature checks)`, () => {
    const ast = acorn.parse(src, { ecmaVersion: 5 });
    const banned = new Set(['forEach', 'map', 'filter', 'reduce', 'some', 'every', 'trim', 'bind', 'keys',
      'create', 'getPrototypeOf', 'now', 'isArray', 'lastIndexOf']);
    const bannedGlobals = new Set(['Promise', 'fetch', 'Symbol', 'Map', 'Set', 'WeakMap', 'Proxy', 'Reflect',
      'atob', 'btoa', 'TextEncoder', 'TextDecoder', 'queueMicrotask']);
    const found = [];
    (function walk(n) {
      if (!n || typeof n.type !== 'string') return;
      if (n.type === 'MemberExpression' && !n.computed && banned.has(n.property.name)) found.push('.' + n.property.name);
      if (n.type === 'Identifier' && bannedGlobals.has(n.name)) found.push(n.name);
      for (const k of Object.keys(n)) {
        const v = n[k];
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v.type === 'string' && k !== 'property') walk(v);
      }
    })(ast);
    assert.deepEqual(found, []);
  });
}

test('the bundle is ASCII and the readable one keeps its comments', () => {
  for (const f of FILES) {
    assert.ok(!/[^\x00-\x7f]/.test(fs.readFileSync(path.join(DIST, f), 'utf8')), f);
  }
  assert.match(fs.readFileSync(path.join(DIST, 'polysock.js'), 'utf8'), /\/\/ socket\.js: Polysock, the WebSocket-shaped object/);
});

test('UMD: CommonJS export, AMD define and a browser global', () => {
  const vm = require('node:vm');
  const src = fs.readFileSync(path.join(DIST, 'polysock.js'), 'utf8');
  // AMD
  let defined = null;
  const amd = { define: (deps, f) => { defined = (f || deps)(); } };
  amd.define.amd = {};
  amd.window = amd;
  vm.runInNewContext(src, amd);
  assert.equal(typeof defined, 'function');
  assert.equal(defined.OPEN, 1);
  // global
  const g = {};
  g.window = g;
  vm.runInNewContext(src, g);
  assert.equal(g.Polysock.CLOSED, 3);
  // CommonJS
  assert.equal(require(path.join(DIST, 'polysock.js')).CONNECTING, 0);
});
