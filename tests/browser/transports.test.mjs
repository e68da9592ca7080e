// Each transport forced alone, in headless Chromium against the echo server:
// opens and names itself, echoes 1,000 awkward messages in order, binary,
// close codes both ways, negotiated subprotocol, idle past three pings.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './support.mjs';

const TRANSPORTS = ['websocket', 'xhr-streaming', 'htmlfile', 'polling'];
const PING = 300;
// Twice the interval: tight enough that a lost pong closes the socket within
// the idle test's wait, loose enough for a loaded machine's scheduling.
const PING_TIMEOUT = 600;
let srv, idleSrv, browser;

before(async () => {
  [srv, idleSrv, browser] = await Promise.all([
    startServer(['--protocols', 'chat,superchat', '--max-payload', '4000000']),
    startServer(['--ping-interval', String(PING), '--ping-timeout', String(PING_TIMEOUT)]),
    launchBrowser(),
  ]);
});

after(async () => {
  await browser?.close();
  await Promise.all([srv?.stop(), idleSrv?.stop()]);
});

// Runs body(page) on a fresh page; fails on any page error.
async function withPage(server, body, opts) {
  const page = await openPage(browser, server, opts);
  try {
    await body(page);
    assert.deepEqual(page.errors.map(String), []);
  } finally {
    await page.close();
  }
}

for (const name of TRANSPORTS) {
  test(`${name}: opens alone, names itself, negotiates the subprotocol`, () => withPage(srv, async (page) => {
    const o = await page.evaluate((n) => T.open({ transports: [n], protocols: ['superchat', 'chat'] }), name);
    assert.equal(o.transport, name);
    assert.equal(o.readyState, 1);
    assert.equal(o.protocol, 'superchat');
    assert.equal(await page.evaluate((id) => T.hook(id, '@transport', '@transport'), o.id), `@transport ${name}`);
    assert.equal(await page.evaluate((id) => T.hook(id, '@protocol', '@protocol'), o.id), '@protocol superchat');
    const none = await page.evaluate((n) => T.open({ transports: [n], protocols: ['nope'] }), name);
    assert.equal(none.protocol, '');
    const dflt = await page.evaluate((n) => T.open({ transports: [n] }), name);
    assert.equal(dflt.protocol, '');
  }));

  test(`${name}: 1,000 messages echo back complete and in order (incl. a 1 MB string)`, () => withPage(srv, async (page) => {
    const o = await page.evaluate((n) => T.open({ transports: [n] }), name);
    const r = await page.evaluate((id) => T.echoTest(id, 90000), o.id);
    assert.deepEqual(r, { count: 1000, firstMismatch: -1, bigSeen: true, sample: null });
    const st = await page.evaluate((id) => T.state(id), o.id);
    assert.equal(st.transport, name);
    assert.equal(st.bufferedAmount, 0);
  }));

  test(`${name}: binary messages (ArrayBuffer, typed array, DataView; arraybuffer and blob)`, () => withPage(srv, async (page) => {
    const o = await page.evaluate((n) => T.open({ transports: [n] }), name);
    const r = await page.evaluate((id) => T.binaryTest(id), o.id);
    assert.deepEqual(r.types, ['[object ArrayBuffer]', '[object ArrayBuffer]', '[object ArrayBuffer]', '[object String]']);
    assert.deepEqual(r.first, Array.from({ length: 256 }, (_, i) => i));
    assert.equal(r.emptyLength, 0);
    assert.deepEqual(r.view, [10, 11, 12, 13, 14]);
    assert.equal(r.text, 'text between');
    assert.equal(r.blob, true);
    assert.deepEqual(r.blobBytes, [7, 8, 9]);
  }));

  test(`${name}: the server's close code and reason reach onclose`, () => withPage(srv, async (page) => {
    const o = await page.evaluate((n) => T.open({ transports: [n] }), name);
    const ev = await page.evaluate(async (id) => { T.get(id).send('@close 4002 why not'); return T.closed(id); }, o.id);
    assert.deepEqual(ev, { code: 4002, reason: 'why not', wasClean: true });
    assert.equal((await page.evaluate((id) => T.state(id), o.id)).readyState, 3);
  }));

  test(`${name}: close(4001, "bye") reaches the server's socket`, () => withPage(srv, async (page) => {
    const o = await page.evaluate((n) => T.open({ transports: [n] }), name);
    const sid = (await page.evaluate((id) => T.hook(id, '@id', '@id '), o.id)).slice(4);
    const ev = await page.evaluate((id) => { T.get(id).close(4001, 'bye'); return T.closed(id); }, o.id);
    assert.deepEqual(ev, { code: 4001, reason: 'bye', wasClean: true });
    // Ask from a second socket until the server has recorded it (it may lag the client's close event).
    const other = await page.evaluate(() => T.open({ transports: ['websocket'] }));
    const why = await page.evaluate(async ([id, sid]) => {
      // Each ask is a round trip to the server; give up after 5 s.
      const deadline = performance.now() + 5000;
      let r;
      do r = await T.hook(id, '@whyclosed ' + sid, '@closed');
      while (r === '@closed null' && performance.now() < deadline);
      return r;
    }, [other.id, sid]);
    assert.deepEqual(JSON.parse(why.slice('@closed '.length)), { code: 4001, reason: 'bye' });
  }));

  test(`${name}: an idle connection stays open past three ping intervals`, () => withPage(idleSrv, async (page) => {
    const o = await page.evaluate((n) => T.open({ transports: [n] }), name);
    // Time passing is what is tested here: wait past the first ping's deadline
    // (interval + timeout) and past three intervals, on the page's clock.
    await page.evaluate((ms) => T.idle(ms), Math.max(PING * 4, 2 * (PING + PING_TIMEOUT)));
    const st = await page.evaluate((id) => T.state(id), o.id);
    assert.equal(st.readyState, 1);
    assert.equal(st.closeEvent, null);
    assert.equal(st.transport, name);
    assert.deepEqual(await page.evaluate((id) => T.roundTrip(id, ['still here']), o.id), ['still here']);
  }));
}
