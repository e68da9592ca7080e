// The server serves the bundled client at <mount>/polysock.js and its HTTP
// transports at <mount>/polysock-http.js, each with an ETag; the browser
// tests load them from there, so they must be today's dist files. In
// Chromium: a page whose WebSocket works never fetches polysock-http.js; one
// without WebSocket fetches it once for all its sockets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, openPage, REPO } from './support.mjs';

let srv, browser;
before(async () => { [srv, browser] = await Promise.all([startServer(), launchBrowser()]); });
after(async () => { await browser?.close(); await srv?.stop(); });

for (const [file, dist] of [['polysock.js', 'polysock.min.js'], ['polysock-http.js', 'polysock-http.min.js']]) {
  test(`<mount>/${file} is dist/${dist}, with an ETag and 304`, async () => {
    const res = await fetch(srv.mount + '/' + file);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /javascript/);
    const etag = res.headers.get('etag');
    assert.ok(etag);
    const body = await res.text();
    const built = readFileSync(path.join(REPO, 'client-js', 'dist', dist), 'utf8');
    assert.ok(body === built, 'the echo binary embeds an older client: rebuild it (cargo build --example echo)');
    const again = await fetch(srv.mount + '/' + file, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
  });
}

// Opens `n` sockets at once with the default options; -> their transports
// and the URLs of polysock-http.js the page requested.
async function openMany(init, n) {
  const page = await openPage(browser, srv, { init });
  const fetched = [];
  page.on('request', (r) => { if (/polysock-http\.js/.test(r.url())) fetched.push(r.url()); });
  try {
    const opened = await page.evaluate((n) => Promise.all(Array.from({ length: n }, () => T.open())), n);
    const echoed = await page.evaluate((id) => T.roundTrip(id, ['a', 'b']), opened[0].id);
    assert.deepEqual(echoed, ['a', 'b']);
    assert.deepEqual(page.errors.map(String), []);
    return { transports: opened.map((o) => o.transport), fetched };
  } finally {
    await page.close();
  }
}

test('a working WebSocket: three sockets open on websocket and polysock-http.js is never fetched', async () => {
  const r = await openMany(undefined, 3);
  assert.deepEqual(r.transports, ['websocket', 'websocket', 'websocket']);
  assert.deepEqual(r.fetched, []);
});

test('no WebSocket: three sockets open on xhr-streaming, polysock-http.js fetched once from the mount', async () => {
  const r = await openMany(() => { delete window.WebSocket; }, 3);
  assert.deepEqual(r.transports, ['xhr-streaming', 'xhr-streaming', 'xhr-streaming']);
  assert.deepEqual(r.fetched, [srv.mount + '/polysock-http.js']);
});
