// The server serves the bundled client at <mount>/polysock.js with an ETag;
// the browser tests load it from there, so it must be today's dist file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, REPO } from './support.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

test('<mount>/polysock.js is dist/polysock.min.js, with an ETag and 304', async () => {
  const res = await fetch(srv.mount + '/polysock.js');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /javascript/);
  const etag = res.headers.get('etag');
  assert.ok(etag);
  const body = await res.text();
  const dist = readFileSync(path.join(REPO, 'client-js', 'dist', 'polysock.min.js'), 'utf8');
  assert.ok(body === dist, 'the echo binary embeds an older client: rebuild it (cargo build --example echo)');
  const again = await fetch(srv.mount + '/polysock.js', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
});
