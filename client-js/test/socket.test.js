// The socket's state machine and WebSocket-shaped surface, on fake transports.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Polysock, env, OPEN, record } = require('./fakes');

const URL_ = 'http://example.test/engine.io';

// A socket opened on the fake WebSocket.
function openWs(opts, open) {
  const f = env(opts);
  const s = new Polysock(URL_, (opts && opts.protocols) || [], { env: f.env });
  const ev = record(s);
  f.clock.tick();
  const ws = f.wss[0];
  ws.serverOpen();
  ws.serverSend(open || OPEN({ upgrades: [] }));
  return { f, s, ev, ws };
}

test('constants on the constructor and the instance; initial state', () => {
  const f = env();
  const s = new Polysock(URL_, { env: f.env });
  for (const [k, v] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]]) {
    assert.equal(Polysock[k], v);
    assert.equal(s[k], v);
  }
  assert.equal(s.readyState, 0);
  assert.equal(s.url, 'ws://example.test/engine.io');
  assert.equal(s.protocol, '');
  assert.equal(s.extensions, '');
  assert.equal(s.bufferedAmount, 0);
  assert.equal(s.binaryType, 'arraybuffer'); // no Blob in this environment
  assert.equal(s.transport, null);
  assert.equal(f.wss.length, 0, 'nothing starts before the constructor returns');
});

test('constructor validation: URL, subprotocols, transport names', () => {
  const f = env();
  assert.throws(() => new Polysock('ftp://x/', [], { env: f.env }), { name: 'SyntaxError' });
  assert.throws(() => new Polysock('http://[::1', [], { env: f.env }), { name: 'SyntaxError' });
  // Relative to the page, as WebSocket resolves it.
  assert.equal(new Polysock('nonsense', [], { env: f.env }).url, 'ws://example.test/nonsense');
  assert.throws(() => new Polysock(URL_, ['chat', 'chat'], { env: f.env }), { name: 'SyntaxError' });
  assert.throws(() => new Polysock(URL_, ['a b'], { env: f.env }), { name: 'SyntaxError' });
  assert.throws(() => new Polysock(URL_, [], { env: f.env, transports: ['carrier-pigeon'] }), TypeError);
  assert.throws(() => Polysock(URL_), TypeError);
  const rel = new Polysock('/engine.io', 'chat', { env: f.env });
  assert.equal(rel.url, 'ws://example.test/engine.io');
});

test('websocket handshake: query, open event, negotiated protocol, transport name', () => {
  const f = env();
  const s = new Polysock(URL_ + '?token=x', ['chat', 'superchat'], { env: f.env });
  const ev = record(s);
  f.clock.tick();
  const ws = f.wss[0];
  assert.match(ws.url, /^ws:\/\/example\.test\/engine\.io\/\?token=x&EIO=4&transport=websocket&ext=1&protocols=chat,superchat&resume=1$/);
  assert.equal(ws.protocols, undefined, 'subprotocols travel in the query only');
  assert.throws(() => s.send('x'), { name: 'InvalidStateError' });
  ws.serverOpen();
  assert.equal(s.readyState, 0, 'open waits for the open packet');
  ws.serverSend(OPEN({ protocol: 'superchat', upgrades: [] }));
  assert.equal(s.readyState, 1);
  assert.equal(s.protocol, 'superchat');
  assert.equal(s.transport, 'websocket');
  assert.deepEqual(ev.types(), ['open']);
});

test('a stock server (no ext in the open packet): protocol empty, bare close packet', () => {
  const { s, ws } = openWs({ protocols: ['chat'] }, '0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  assert.equal(s.readyState, 1);
  assert.equal(s.protocol, '');
  s.close(4001, 'bye');
  assert.deepEqual(ws.sent, ['1']);
});

test('messages both ways: text, binary, ping/pong, binaryType', () => {
  const { s, ev, ws } = openWs();
  s.send('hi');
  s.send('');
  const bytes = new Uint8Array([1, 2, 3]);
  s.send(bytes);
  bytes[0] = 9; // send() took a snapshot
  s.send(new Uint16Array([0x0201]).buffer);
  assert.deepEqual(ws.sent.slice(0, 2), ['4hi', '4'], 'handed to the WebSocket at once, as it queues');
  assert.deepEqual(Buffer.from(ws.sent[2]), Buffer.from([1, 2, 3]));
  assert.deepEqual(Buffer.from(ws.sent[3]), Buffer.from([1, 2]));
  ws.serverSend('4hello');
  ws.serverSend(new Uint8Array([7, 8]).buffer);
  ws.serverSend('2');
  assert.equal(ws.sent[4], '3', 'ping answered with pong');
  const msgs = ev.filter((e) => e.type === 'message');
  assert.equal(msgs[0].data, 'hello');
  assert.deepEqual(Buffer.from(msgs[1].data), Buffer.from([7, 8]));
  assert.equal(msgs[0].target, s);
});

test('binaryType "blob" hands out Blobs where Blob exists', () => {
  const { s, ev, ws } = openWs({ Blob });
  assert.equal(s.binaryType, 'blob');
  ws.serverSend(new Uint8Array([5]).buffer);
  s.binaryType = 'arraybuffer';
  ws.serverSend(new Uint8Array([6]).buffer);
  const msgs = ev.filter((e) => e.type === 'message');
  assert.ok(msgs[0].data instanceof Blob);
  assert.ok(msgs[1].data instanceof ArrayBuffer);
  assert.throws(() => s.send(new Blob(['x'])), TypeError);
});

test('close() validation is WebSocket.close()\'s', () => {
  const { s } = openWs();
  for (const c of [0, 999, 1001, 1005, 2999, 5000, 65535]) {
    assert.throws(() => s.close(c), { name: 'InvalidAccessError' }, String(c));
  }
  assert.throws(() => s.close(4000, 'x'.repeat(124)), { name: 'SyntaxError' });
  assert.throws(() => s.close(4000, '😀'.repeat(31)), { name: 'SyntaxError' }, '124 UTF-8 bytes');
  assert.equal(s.readyState, 1, 'a refused close changes nothing');
  s.close(4000, 'x'.repeat(123));
  assert.equal(s.readyState, 2);
  s.close(4999); // no-op while closing
});

test('close(4001, "bye"): close packet with code and reason, then a clean close event', () => {
  const { f, s, ev, ws } = openWs();
  s.send('last');
  s.close(4001, 'bye');
  assert.equal(s.readyState, 2);
  assert.deepEqual(ws.sent, ['4last', '1{"code":4001,"reason":"bye"}']);
  assert.deepEqual(ev.types(), ['open'], 'close event comes from a later task');
  s.send('late');
  assert.equal(s.bufferedAmount, 8, 'sends while CLOSING are counted, as WebSocket does');
  f.clock.tick();
  assert.deepEqual(ws.sent, ['4last', '1{"code":4001,"reason":"bye"}'], '...and discarded');
  assert.equal(s.bufferedAmount, 4);
  assert.equal(s.readyState, 3);
  const c = ev[ev.length - 1];
  assert.deepEqual([c.type, c.code, c.reason, c.wasClean], ['close', 4001, 'bye', true]);
  assert.ok(ws.closed);
});

test('close() without a code sends a bare close packet and reports 1005', () => {
  const { f, s, ev, ws } = openWs();
  s.close();
  assert.deepEqual(ws.sent, ['1']);
  f.clock.tick();
  assert.equal(ev[ev.length - 1].code, 1005);
});

test('the server closing with code and reason reaches onclose', () => {
  const { s, ws } = openWs();
  let got = null;
  s.onclose = (e) => { got = e; };
  ws.serverSend('1{"code":4002,"reason":"why"}');
  assert.equal(s.readyState, 3);
  assert.deepEqual([got.code, got.reason, got.wasClean], [4002, 'why', true]);
});

test('a bare close packet from the server is 1005', () => {
  const { s, ev, ws } = openWs();
  ws.serverSend('1');
  assert.equal(ev[ev.length - 1].code, 1005);
  assert.equal(s.readyState, 3);
});

test('close() while CONNECTING fails the connection: error, then close 1006', () => {
  const f = env();
  const s = new Polysock(URL_, [], { env: f.env });
  const ev = record(s);
  f.clock.tick();
  s.close();
  assert.equal(s.readyState, 2);
  assert.ok(f.wss[0].closed);
  f.clock.tick();
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.types(), ['error', 'close']);
  assert.equal(ev[1].code, 1006);
  assert.equal(ev[1].wasClean, false);
});

test('heartbeat: silence longer than pingInterval + pingTimeout closes with 1006', () => {
  const { f, s, ev, ws } = openWs({}, OPEN({ pingInterval: 100, pingTimeout: 50, upgrades: [] }));
  f.clock.advance(149);
  assert.equal(s.readyState, 1);
  ws.serverSend('2');
  f.clock.advance(149);
  assert.equal(s.readyState, 1, 'the ping restarted the wait');
  f.clock.advance(1);
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.types(), ['open', 'error', 'close']);
  assert.equal(ev[2].code, 1006);
  assert.ok(ws.closed);
});

test('a transport lost after open: error then close 1006, not clean', () => {
  const { s, ev, ws } = openWs();
  ws.serverClose(1006);
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.types(), ['open', 'error', 'close']);
  assert.equal(ev[2].wasClean, false);
});

test('polling: sends batch into one POST at a time; bufferedAmount follows', () => {
  const f = env({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['polling'] });
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN({ maxPayload: 20 }));
  const get2 = f.xhrs[1];
  assert.equal(get2.method, 'GET');
  assert.equal(get2.query.get('sid'), 'S1');
  s.send('a');
  s.send('b€');
  assert.equal(s.bufferedAmount, 5);
  const post1 = f.xhrs[2];
  assert.equal(post1.method, 'POST');
  assert.equal(post1.body, '4a');
  assert.equal(post1.headers['content-type'], 'text/plain;charset=UTF-8');
  s.send('c'.repeat(10));
  s.send('d'.repeat(10));
  post1.respond(200, 'ok');
  assert.equal(s.bufferedAmount, 24);
  const post2 = f.xhrs[3];
  assert.equal(post2.body, '4b€\x1e4cccccccccc', 'at most maxPayload (20) bytes per POST');
  post2.respond(200, 'ok');
  assert.equal(f.xhrs[4].body, '4dddddddddd');
  f.xhrs[4].respond(200, 'ok');
  assert.equal(s.bufferedAmount, 0);
  // incoming: a payload of several packets, then the next GET
  get2.respond(200, '4x\x1e2\x1ebAQID');
  assert.equal(f.xhrs[5].body, '3');
  assert.equal(f.xhrs[6].method, 'GET');
});

test('listeners: add/remove, handleEvent objects, a throwing one does not stop the rest', () => {
  const { f, s, ws } = openWs();
  const seen = [];
  const a = () => seen.push('a');
  const b = { handleEvent: () => seen.push('b') };
  s.onmessage = () => { seen.push('on'); throw new Error('app bug'); };
  s.addEventListener('message', a);
  s.addEventListener('message', a);
  s.addEventListener('message', b);
  ws.serverSend('4x');
  s.removeEventListener('message', a);
  ws.serverSend('4y');
  assert.deepEqual(seen, ['on', 'a', 'b', 'on', 'b']);
  assert.throws(() => f.clock.tick(), /app bug/, 'the listener error is rethrown from its own task');
  assert.equal(s.readyState, 1);
});
