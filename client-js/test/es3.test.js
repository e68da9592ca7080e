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
const FILES = ['polysock.js', 'polysock.min.js', 'polysock-http.min.js'];

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

test('as in IE8 (defineProperty for DOM objects only, no EventTarget, no URL): plain attributes, the ES3 paths', () => {
  const vm = require('node:vm');
  const { env, OPEN } = require('./fakes');
  const src = fs.readFileSync(path.join(DIST, 'polysock.min.js'), 'utf8');
  const http = fs.readFileSync(path.join(DIST, 'polysock-http.min.js'), 'utf8');
  const ctx = { window: undefined };
  ctx.window = ctx;
  vm.createContext(ctx);
  // IE8 has no WebSocket: both served files (the page may load polysock-http.js itself).
  vm.runInContext('Object.defineProperty = function () { throw new TypeError("DOM objects only"); };' +
    'delete this.EventTarget; delete this.URL;' + src + http, ctx);
  // The page's <a> element resolves URLs (what IE8 has).
  const a = () => {
    const el = {};
    Object.defineProperty(el, 'href', { set(v) { this.u = new URL(v, 'http://example.test/page.html'); }, get() { return this.u.href; } });
    Object.defineProperty(el, 'protocol', { get() { return this.u.protocol; } });
    return el;
  };
  const f = env({ ws: false, document: { createElement: a } });
  for (const k of Object.keys(ctx)) if (/^_polysock_http/.test(k)) f.env[k] = ctx[k];
  f.env.location = { protocol: 'http:', host: 'other.test', href: 'http://other.test/' }; // no htmlfile: not same-origin
  const s = new ctx.Polysock('/engine.io', [], { env: f.env, transports: ['polling'] });
  assert.equal(s.url, 'ws://example.test/engine.io');
  assert.ok(Object.prototype.hasOwnProperty.call(s, 'readyState'), 'a plain property');
  const seen = [];
  s.addEventListener('open', () => seen.push('listener'));
  s.onopen = () => seen.push('onopen');
  s.onmessage = (e) => seen.push(e.data);
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN());
  assert.equal(s.readyState, 1);
  assert.deepEqual(seen, ['onopen', 'listener'], 'without accessors the handler runs first');
  f.xhrs[1].respond(200, '4hello');
  assert.deepEqual(seen.slice(2), ['hello']);
  s.close(4000, 'bye');
  assert.equal(s.readyState, 2);
  assert.equal(f.xhrs[3].body, '1{"code":4000,"reason":"bye"}');
});
