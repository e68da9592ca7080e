// Fallback and upgrade in headless Chromium (protocol-spec/fallback.md):
// each provoked failure still opens, on the transport the algorithm names,
// within the bound, and exchanges messages; a lesser transport upgrades to
// websocket without losing or reordering messages; what worked is remembered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './support.mjs';

const TIMEOUT = 2500; // the client's default per-transport timeout
const FAST = 1500;    // bound when a failure is reported at once (no timeout involved)
let browser;
const servers = {};

before(async () => {
  const args = {
    all: [],
    noWs: ['--transports', 'xhr-streaming,htmlfile,polling'],
    htmlfilePolling: ['--transports', 'htmlfile,polling'],
    pollingOnly: ['--transports', 'polling'],
  };
  const started = await Promise.all([launchBrowser(), ...Object.values(args).map((a) => startServer(a))]);
  browser = started[0];
  Object.keys(args).forEach((k, i) => { servers[k] = started[i + 1]; });
});

after(async () => {
  await browser?.close();
  await Promise.all(Object.values(servers).map((s) => s.stop()));
});

async function scenario(server, opts, body) {
  const page = await openPage(browser, server, opts);
  try {
    await body(page);
    assert.deepEqual(page.errors.map(String), []);
  } finally {
    await page.close();
  }
}

// Opens with the default options and checks transport, time bound, an echo.
async function opensOn(page, transport, boundMs) {
  const o = await page.evaluate(() => T.open());
  assert.equal(o.transport, transport);
  assert.ok(o.ms < boundMs, `opened after ${Math.round(o.ms)} ms, bound ${boundMs} ms`);
  assert.deepEqual(await page.evaluate((id) => T.roundTrip(id, ['a', '', 'c']), o.id), ['a', '', 'c']);
  assert.equal(await page.evaluate((id) => T.hook(id, '@transport', '@transport'), o.id), `@transport ${transport}`);
  return o;
}

const remembered = (page) => page.evaluate(() => localStorage.getItem('polysock:' + location.origin + '/engine.io'));

test('window.WebSocket removed before the script loads: opens on xhr-streaming at once', () =>
  scenario(servers.all, { init: () => { delete window.WebSocket; } }, async (page) => {
    assert.equal(await page.evaluate(() => typeof WebSocket), 'undefined');
    await opensOn(page, 'xhr-streaming', FAST);
    assert.equal(await remembered(page), 'xhr-streaming');
  }));

test('server without websocket: the refused handshake moves on to xhr-streaming at once', () =>
  scenario(servers.noWs, {}, async (page) => {
    await opensOn(page, 'xhr-streaming', FAST);
  }));

test('server with htmlfile and polling only: opens on htmlfile', () =>
  scenario(servers.htmlfilePolling, {}, async (page) => {
    await opensOn(page, 'htmlfile', FAST);
  }));

test('server with streaming switched off too (polling only): opens on polling', () =>
  scenario(servers.pollingOnly, {}, async (page) => {
    await opensOn(page, 'polling', FAST);
    assert.equal(await remembered(page), 'polling');
  }));

// A WebSocket whose connection opens but whose incoming messages vanish, as
// behind a proxy that accepts the Upgrade and then carries nothing back.
function silentWebSocket() {
  const Native = window.WebSocket;
  window.silentSockets = 0;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.silentSockets++;
    Object.defineProperty(ws, 'onmessage', { get: () => null, set: () => {} });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
}

test('a WebSocket that opens but stays silent: xhr-streaming after the timeout, and no probe', () =>
  scenario(servers.all, { init: silentWebSocket }, async (page) => {
    const o = await opensOn(page, 'xhr-streaming', TIMEOUT + FAST);
    assert.ok(o.ms >= TIMEOUT - 50, `left websocket after ${Math.round(o.ms)} ms`);
    assert.equal(await page.evaluate(() => window.silentSockets), 1, 'websocket failed at connect: not probed again');
    assert.equal(await remembered(page), 'xhr-streaming');
  }));

// Keeps three messages in flight across the upgrade; resolves once 30 more
// went through after s.transport turned to websocket.
function trafficAcrossUpgrade(id) {
  const s = T.get(id);
  const from = s.inbox.length;
  const sent = [];
  const seen = [s.transport];
  let wsAt = -1;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade within 10 s; transports ${seen}`)), 10000);
    function burst() {
      for (let k = 0; k < 3; k++) {
        const m = 'u' + sent.length;
        sent.push(m);
        s.send(m);
      }
    }
    s.addEventListener('message', () => {
      if (seen[seen.length - 1] !== s.transport) seen.push(s.transport);
      if (wsAt < 0 && s.transport === 'websocket') wsAt = sent.length;
      if (s.inbox.length - from < sent.length) return;
      if (wsAt >= 0 && sent.length >= wsAt + 30) {
        clearTimeout(timer);
        resolve({ sent, got: s.inbox.slice(from), seen });
      } else burst();
    });
    burst();
  });
}

for (const start of ['polling', 'xhr-streaming', 'htmlfile']) {
  test(`remembered ${start}: opens on it, then upgrades to websocket; nothing lost or reordered`, () =>
    scenario(servers.all, {
      init: (t) => { try { localStorage.setItem('polysock:' + location.origin + '/engine.io', t); } catch (e) {} },
      initArg: start,
    }, async (page) => {
      // Traffic starts in the same task as the open event, before any upgrade.
      const [o, r] = await page.evaluate(`T.open().then((o) => (${trafficAcrossUpgrade})(o.id).then((r) => [o, r]))`);
      assert.equal(o.transport, start);
      assert.deepEqual(r.got, r.sent);
      assert.deepEqual(r.seen, [start, 'websocket']);
      assert.equal(await page.evaluate((id) => T.hook(id, '@transport', '@transport'), o.id), '@transport websocket');
      assert.equal(await remembered(page), 'websocket');
    }));
}
