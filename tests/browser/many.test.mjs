// Many sockets to one host (issue 13, "25 sockets" and "seven tabs"), in
// headless Chromium. The mechanisms (protocol-spec/client-api.md, "Many
// sockets to one host"):
// - websocket: the page's handshakes to a host take turns, and a socket's
//   timeout runs from its turn, so none gives up while the browser queues it;
// - HTTP transports: HTTP/2 over TLS (polysock::serve().tls_pem, ALPN),
//   where every request of the origin is a stream of one connection, so the
//   six-connections-per-host limit of HTTP/1.1 no longer starves anyone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, tlsArgs } from './support.mjs';

const N = 25;
const TABS = 7;
const HTTP_TRANSPORTS = ['xhr-streaming', 'htmlfile', 'polling'];
let srv, tls, browser;

before(async () => {
  [srv, tls, browser] = await Promise.all([startServer(), tlsArgs().then((a) => startServer(a)), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await Promise.all([srv?.stop(), tls?.stop()]);
});

async function withPage(server, opts, body) {
  const page = await openPage(browser, server, opts);
  try {
    await body(page);
    assert.deepEqual(page.errors.map(String), []);
  } finally {
    await page.close();
  }
}

const noWebSocket = { init: () => { delete window.WebSocket; } };

test(`${N} sockets, default transports: all open on websocket and echo`, () => withPage(srv, {}, async (page) => {
  const r = await page.evaluate((n) => T.many(n), N);
  assert.deepEqual(r.transports, Array(N).fill('websocket'));
}));

test(`${N} sockets, websocket alone: all open and echo`, () => withPage(srv, {}, async (page) => {
  const r = await page.evaluate((n) => T.many(n, { transports: ['websocket'] }), N);
  assert.deepEqual(r.transports, Array(N).fill('websocket'));
}));

test(`${N} sockets over HTTPS, default transports: all open on websocket and echo`, () => withPage(tls, {}, async (page) => {
  const r = await page.evaluate((n) => T.many(n), N);
  assert.deepEqual(r.transports, Array(N).fill('websocket'));
}));

for (const name of HTTP_TRANSPORTS) {
  test(`${N} sockets over HTTPS (HTTP/2), ${name} alone: all open and echo`, () => withPage(tls, {}, async (page) => {
    const r = await page.evaluate(([n, t]) => T.many(n, { transports: [t] }), [N, name]);
    assert.deepEqual(r.transports, Array(N).fill(name));
    assert.deepEqual(await page.evaluate(() => T.protocols()), ['h2'], 'every request went over HTTP/2');
  }));
}

test(`${N} sockets over HTTPS, no WebSocket in the page (as behind a blocking proxy): all open on xhr-streaming`, () =>
  withPage(tls, noWebSocket, async (page) => {
    const r = await page.evaluate((n) => T.many(n), N);
    assert.deepEqual(r.transports, Array(N).fill('xhr-streaming'));
  }));

// Seven pages of one origin in one browser context (its tabs share the
// connections), each with a socket on `transports`; all open, then all echo
// at the same time.
async function sevenTabs(server, transports, opts = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const pages = [];
  try {
    for (let i = 0; i < TABS; i++) pages.push(await openPage(browser, server, { ...opts, context }));
    const opened = await Promise.all(pages.map((p) => p.evaluate((t) => T.open(t ? { transports: t } : {}), transports)));
    const echoed = await Promise.all(pages.map((p, k) => p.evaluate(([id, k]) =>
      T.roundTrip(id, ['tab ' + k + ' a', 'tab ' + k + ' b']), [opened[k].id, k])));
    echoed.forEach((got, k) => assert.deepEqual(got, ['tab ' + k + ' a', 'tab ' + k + ' b']));
    for (const p of pages) assert.deepEqual(p.errors.map(String), []);
    return opened.map((o) => o.transport);
  } finally {
    await context.close();
  }
}

for (const name of HTTP_TRANSPORTS) {
  test(`${TABS} tabs of one origin over HTTPS (HTTP/2), ${name} alone: all open and echo`, async () => {
    assert.deepEqual(await sevenTabs(tls, [name]), Array(TABS).fill(name));
  });
}

test(`${TABS} tabs over HTTPS, no WebSocket (as behind a blocking proxy), default transports: all work`, async () => {
  assert.deepEqual(await sevenTabs(tls, null, noWebSocket), Array(TABS).fill('xhr-streaming'));
});
