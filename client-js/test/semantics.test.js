// WebSocket semantics (WHATWG WebSockets standard): one test per deviation
// listed in issue 13, each of which fails on the client before it (run with
// POLYSOCK_DIST=<old dist/polysock.js> to see), plus the neighbouring rules.
// The same behaviours in Chromium: tests/browser/semantics.test.mjs.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Polysock, env, OPEN, record } = require('./fakes');

const URL_ = 'http://example.test/engine.io';

function openWs(opts) {
  const f = env(opts);
  const s = new Polysock(URL_, [], { env: f.env });
  const ev = record(s);
  f.clock.tick();
  const ws = f.wss[0];
  ws.serverOpen();
  ws.serverSend(OPEN({ upgrades: [] }));
  return { f, s, ev, ws };
}

test('deviation 1: dispatchEvent takes a native Event (its target is read-only)', () => {
  const { s } = openWs();
  const seen = [];
  s.addEventListener('custom', (e) => seen.push([e.type, e.target === s, e.currentTarget === s]));
  const ev = new Event('custom');
  assert.equal(s.dispatchEvent(ev), true);
  assert.deepEqual(seen, [['custom', true, true]]);
  // The socket's own events still reach listeners and handlers.
  let got = null;
  s.onmessage = (e) => { got = e.data; };
  s.dispatchEvent(new MessageEvent('message', { data: 'synthetic' }));
  assert.equal(got, 'synthetic');
  // A cancelled event makes dispatchEvent return false, as EventTarget's does.
  s.addEventListener('cancel-me', (e) => e.preventDefault());
  assert.equal(s.dispatchEvent(new Event('cancel-me', { cancelable: true })), false);
});

test('deviation 2: sockets to one host take turns at the websocket handshake, the timeout runs from their turn', () => {
  const f = env();
  const N = 25;
  const sockets = [];
  for (let i = 0; i < N; i++) sockets.push(new Polysock(URL_, [], { env: f.env }));
  f.clock.tick();
  assert.equal(f.wss.length, 1, 'one handshake in progress per host');
  for (let i = 0; i < N; i++) {
    // Each handshake takes 2 s: 50 s in all, far past the 2.5 s timeout.
    f.clock.advance(2000);
    assert.equal(f.wss.length, i + 1, `handshake ${i} started on its turn`);
    f.wss[i].serverOpen();
    f.wss[i].serverSend(OPEN({ sid: 'S' + i, upgrades: [] }));
  }
  assert.deepEqual(sockets.map((s) => s.transport), Array(N).fill('websocket'));
  assert.equal(f.xhrs.length, 0, 'nobody fell back to an HTTP transport');
});

test('deviation 2b: a handshake that hangs costs the waiting sockets one timeout, not one each', () => {
  const f = env();
  const sockets = [];
  for (let i = 0; i < 5; i++) sockets.push(new Polysock(URL_, [], { env: f.env }));
  f.clock.tick();
  f.clock.advance(2500); // the first handshake never completes
  assert.equal(f.wss.length, 1);
  assert.equal(f.xhrs.length, 5, 'all five moved on to xhr-streaming at once');
  assert.ok(f.xhrs.every((x) => x.query.get('transport') === 'xhr-streaming'));
  for (const s of sockets) s.close();
});

test('deviation 3: bufferedAmount counts websocket sends until a later task finds them sent', () => {
  const { f, s, ws } = openWs();
  ws.bufferedAmount = 0;
  s.send('hello');
  assert.equal(s.bufferedAmount, 5, 'counted in the task that sent');
  f.clock.tick();
  assert.equal(s.bufferedAmount, 0, 'drained once the WebSocket handed it on');
  ws.bufferedAmount = 100; // the browser is still sending
  s.send(new Uint8Array(3));
  f.clock.advance(50);
  assert.equal(s.bufferedAmount, 3);
  ws.bufferedAmount = 0;
  f.clock.advance(10);
  assert.equal(s.bufferedAmount, 0);
});

test('deviation 4: handler attributes keep only objects (else null); binaryType keeps only its two values', () => {
  const { s } = openWs();
  for (const name of ['onopen', 'onmessage', 'onerror', 'onclose']) {
    for (const v of ['x', 1, true, undefined]) {
      s[name] = v;
      assert.equal(s[name], null, `${name} = ${String(v)}`);
    }
    const f = () => {};
    s[name] = f;
    assert.equal(s[name], f);
    s[name] = null;
    assert.equal(s[name], null);
  }
  s.binaryType = 'arraybuffer';
  s.binaryType = 'bogus';
  assert.equal(s.binaryType, 'arraybuffer');
  s.binaryType = 'blob';
  assert.equal(s.binaryType, 'blob');
  // Read-only attributes ignore assignment (a TypeError in strict code, as WebSocket's).
  assert.throws(() => { s.readyState = 3; }, TypeError);
  assert.equal(s.readyState, 1);
});

test('deviation 5a: a URL with a fragment throws SyntaxError', () => {
  const f = env();
  for (const u of ['http://example.test/engine.io#x', 'http://example.test/#', 'ws://example.test/p#']) {
    assert.throws(() => new Polysock(u, [], { env: f.env }), { name: 'SyntaxError' }, u);
  }
});

test('deviation 5b: url is normalised as WebSocket does', () => {
  const f = env();
  const url = (u) => new Polysock(u, [], { env: f.env }).url;
  assert.equal(url('http://Example.TEST'), 'ws://example.test/');
  assert.equal(url('http://example.test/a b?q=c d'), 'ws://example.test/a%20b?q=c%20d');
  assert.equal(url('HTTPS://example.test:443/x'), 'wss://example.test/x');
  assert.equal(url('ws://example.test:80/x'), 'ws://example.test/x');
  assert.equal(url('/engine.io'), 'ws://example.test/engine.io');
  assert.equal(url('engine.io'), 'ws://example.test/engine.io');
});

test('deviation 5c: http:host and http:/host resolve as WebSocket resolves them', () => {
  const f = env();
  const url = (u) => new Polysock(u, [], { env: f.env }).url;
  // Same scheme as the page (http://example.test/page.html): relative.
  assert.equal(url('http:host'), 'ws://example.test/host');
  assert.equal(url('http:/host'), 'ws://example.test/host');
  // Another scheme than the page's: the host is what follows.
  assert.equal(url('https:host'), 'wss://host/');
  assert.equal(url('https:/host'), 'wss://host/');
});

test('deviation 6a: new Polysock() and send() without an argument throw TypeError', () => {
  assert.throws(() => new Polysock(), TypeError);
  const f = env();
  const s = new Polysock(URL_, [], { env: f.env });
  assert.throws(() => s.send(), TypeError, 'argument count is checked before the state');
  const o = openWs();
  assert.throws(() => o.s.send(), TypeError);
  assert.equal(o.ws.sent.length, 0);
});

test('deviation 6b: a close reason with a lone surrogate becomes U+FFFD (USVString)', () => {
  const { f, s, ev, ws } = openWs();
  s.close(4000, 'a\ud800b');
  assert.deepEqual(JSON.parse(ws.sent[0].slice(1)), { code: 4000, reason: 'a\ufffdb' });
  f.clock.tick();
  assert.equal(ev[ev.length - 1].reason, 'a\ufffdb');
  // U+FFFD is 3 bytes: 41 lone surrogates are 123 bytes, 42 too many.
  const o = openWs();
  assert.throws(() => o.s.close(4000, '\udc00'.repeat(42)), { name: 'SyntaxError' });
  o.s.close(4000, '\udc00'.repeat(41));
});

test('deviation 6c: onopen runs in its place among the listeners, not first', () => {
  const f = env();
  const s = new Polysock(URL_, [], { env: f.env });
  const order = [];
  s.addEventListener('open', () => order.push('listener added first'));
  s.onopen = () => order.push('onopen');
  s.addEventListener('open', () => order.push('listener added after'));
  // Replacing the handler keeps its place; null then a new one moves it last.
  s.onopen = () => order.push('onopen replaced');
  f.clock.tick();
  f.wss[0].serverOpen();
  f.wss[0].serverSend(OPEN({ upgrades: [] }));
  assert.deepEqual(order, ['listener added first', 'onopen replaced', 'listener added after']);
  const seen = [];
  s.onmessage = () => seen.push('handler');
  s.addEventListener('message', () => seen.push('listener'));
  s.onmessage = null;
  s.onmessage = () => seen.push('handler again');
  f.wss[0].serverSend('4x');
  assert.deepEqual(seen, ['listener', 'handler again']);
});

test('close(): [Clamp] codes, a reason without a code sends 1000', () => {
  const { ws, s } = openWs();
  assert.throws(() => s.close(NaN), { name: 'InvalidAccessError' });
  assert.throws(() => s.close(null), { name: 'InvalidAccessError' }, 'null is 0');
  s.close(3999.5, 'r'); // rounds half to even: 4000
  assert.deepEqual(JSON.parse(ws.sent[0].slice(1)), { code: 4000, reason: 'r' });
  const o = openWs();
  o.s.close(undefined, 'only a reason');
  assert.deepEqual(JSON.parse(o.ws.sent[0].slice(1)), { code: 1000, reason: 'only a reason' });
  const p = openWs();
  p.s.close(999.6); // clamps and rounds to 1000
  assert.equal(JSON.parse(p.ws.sent[0].slice(1)).code, 1000);
});

test('send(): text is USVString too; the caller\'s protocols array is not modified', () => {
  const { ws, s } = openWs();
  s.send('x\udfffy');
  assert.equal(ws.sent[0], '4x\ufffdy');
  const f = env();
  const list = ['chat', 7];
  new Polysock(URL_, list, { env: f.env });
  assert.deepEqual(list, ['chat', 7]);
});
