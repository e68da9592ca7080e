// The built files are committed: rebuilding from src/ must give the same
// bytes, in client-js/dist/ and in server/assets/ (what the crate embeds);
// and the served scripts must stay within their size budgets.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { build, sizes, BUDGET, BUDGET_BOTH, DIST, ASSET, ASSET_HTTP } = require('../build.js');

let fresh;
test.before(async () => { fresh = await build(); });

test('dist/ and server/assets/ are fresh (run `node client-js/build.js`)', () => {
  const read = (f) => fs.readFileSync(f, 'utf8');
  assert.ok(read(path.join(DIST, 'polysock.js')) === fresh.js, 'dist/polysock.js is stale');
  assert.ok(read(path.join(DIST, 'polysock.min.js')) === fresh.min, 'dist/polysock.min.js is stale');
  assert.ok(read(path.join(DIST, 'polysock-http.min.js')) === fresh.httpMin, 'dist/polysock-http.min.js is stale');
  assert.ok(read(path.join(DIST, 'polysock.mjs')) === fresh.mjs, 'dist/polysock.mjs is stale');
  assert.ok(read(ASSET) === fresh.min, 'server/assets/polysock.min.js is stale');
  assert.ok(read(ASSET_HTTP) === fresh.httpMin, 'server/assets/polysock-http.min.js is stale');
});

// engine.io-client 6.6 is about 9.2 KB with two transports, sockjs-client 1.6 about 16 KB.
test(`the served script (<mount>/polysock.js) is at most ${BUDGET} B minified and gzipped`, () => {
  const { minGzip } = sizes(fresh);
  assert.ok(minGzip <= BUDGET, `min+gzip ${minGzip} B > ${BUDGET} B`);
});

test(`with <mount>/polysock-http.js (a browser without a working WebSocket) at most ${BUDGET_BOTH} B`, () => {
  const { minGzip, httpMinGzip } = sizes(fresh);
  assert.ok(minGzip + httpMinGzip <= BUDGET_BOTH, `min+gzip ${minGzip} + ${httpMinGzip} B > ${BUDGET_BOTH} B`);
});

test('the two served files carry one build id, and the core only takes the HTTP half of its own build', () => {
  const key = '_polysock_http' + fresh.id;
  assert.match(fresh.id, /^[0-9a-f]{8}$/);
  assert.ok(fresh.min.includes(JSON.stringify(key)), 'the core reads it');
  assert.ok(fresh.httpMin.includes('.' + key + '='), 'polysock-http.js sets it');
});

test('the served files add one global each to the page: Polysock, and the HTTP half under its build\'s name', () => {
  const page = { window: null };
  page.window = page;
  vm.runInNewContext(fresh.min + fresh.httpMin, page);
  assert.deepEqual(Object.keys(page).sort(), ['Polysock', '_polysock_http' + fresh.id, 'window']);
});

test('the minified files (property-mangled internals, one name cache) still work together: open, echo, close', () => {
  const { env, OPEN } = require('./fakes');
  const f = env({ ws: false });
  const ctx = { URL };
  ctx.window = ctx;
  vm.runInNewContext(fresh.min, ctx);
  vm.runInNewContext(fresh.httpMin, { window: f.env }); // as if the page had loaded it already
  const Min = ctx.Polysock;
  const s = new Min('http://example.test/engine.io', ['chat'], { env: f.env, transports: ['polling'] });
  const got = [];
  s.onmessage = (e) => got.push(e.data);
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN({ protocol: 'chat' }));
  assert.equal(s.readyState, 1);
  assert.equal(s.protocol, 'chat');
  s.send('x');
  assert.equal(f.xhrs[2].body, '4x');
  f.xhrs[1].respond(200, '4y\x1e1{"code":4002,"reason":"why"}');
  assert.deepEqual(got, ['y']);
  assert.equal(s.readyState, 3);
});

test('the ES module build exports Polysock as the default and the helpers by name', async () => {
  const m = await import(path.join(DIST, 'polysock.mjs'));
  assert.equal(typeof m.default, 'function');
  assert.equal(m.default, m.Polysock);
  assert.equal(m.default.OPEN, 1);
  assert.equal(m.encodePacket({ type: 4, data: 'x' }), '4x');
});
