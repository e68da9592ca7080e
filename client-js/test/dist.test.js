// dist/ is committed: rebuilding from src/ must give the same bytes.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { build, sizes } = require('../build.js');

test('dist/polysock.js and dist/polysock.min.js are fresh (run `node client-js/build.js`)', async () => {
  const b = await build();
  const dist = path.join(__dirname, '..', 'dist');
  assert.ok(fs.readFileSync(path.join(dist, 'polysock.js'), 'utf8') === b.js, 'dist/polysock.js is stale');
  assert.ok(fs.readFileSync(path.join(dist, 'polysock.min.js'), 'utf8') === b.min, 'dist/polysock.min.js is stale');
  // Budget: well under engine.io-client 6.6 (9.2 KiB) and sockjs-client 1.6 (16.4 KiB).
  assert.ok(parseFloat(sizes(b).minGzip) < 7.5, 'min+gzip ' + sizes(b).minGzip);
});

test('the minified file (property-mangled internals) still works: open, echo, close', () => {
  const Min = require(path.join(__dirname, '..', 'dist', 'polysock.min.js'));
  const { env, OPEN } = require('./fakes');
  const f = env({ ws: false });
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
