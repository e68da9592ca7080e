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
