// Transport selection, fallback, remembering, streaming resume and the
// upgrade to websocket (protocol-spec/fallback.md), on fake transports.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Polysock, Storage, env, OPEN, record, mp } = require('./fakes');

const URL_ = 'http://example.test/engine.io';
const ALL = ['websocket', 'xhr-streaming', 'htmlfile', 'polling'];
let order;
test.before(async () => { order = (await import('../src/index.js')).transportOrder; });
const tname = (r) => r.query.get('transport');

test('order: preference order minus unusable transports, remembered one first', () => {
  const yes = () => true;
  assert.deepEqual(order(ALL, yes, null), ALL);
  assert.deepEqual(order(ALL, (n) => n !== 'websocket', null), ['xhr-streaming', 'htmlfile', 'polling']);
  assert.deepEqual(order(ALL, yes, 'polling'), ['polling', 'websocket', 'xhr-streaming', 'htmlfile']);
  assert.deepEqual(order(['polling', 'websocket'], yes, 'htmlfile'), ['polling', 'websocket'], 'remembered but not allowed');
  assert.deepEqual(order(['polling', 'polling'], yes, null), ['polling']);
  assert.throws(() => order(['nope'], yes, null), TypeError);
});

test('without window.WebSocket the first attempt is xhr-streaming', () => {
  const f = env({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env });
  f.clock.tick();
  assert.equal(f.xhrs.length, 1);
  assert.equal(tname(f.xhrs[0]), 'xhr-streaming');
  assert.equal(f.xhrs[0].query.get('ext'), '1');
  assert.equal(f.xhrs[0].query.get('protocols'), '');
  s.close();
});

test('an XHR that cannot stream (IE<10) skips xhr-streaming', () => {
  const f = env({ ws: false, streaming: false });
  const s = new Polysock(URL_, [], { env: f.env });
  f.clock.tick();
  assert.equal(tname(f.xhrs[0]), 'polling', 'no document here, so no htmlfile either');
  s.close();
});

test('a refused websocket falls back at once; xhr-streaming opens; no probe after', () => {
  const f = env();
  const s = new Polysock(URL_, ['chat'], { env: f.env });
  const ev = record(s);
  f.clock.tick();
  f.wss[0].serverClose(1006); // e.g. the handshake answered 400
  assert.equal(f.xhrs.length, 1);
  const get = f.xhrs[0];
  assert.equal(tname(get), 'xhr-streaming');
  assert.equal(get.query.get('protocols'), 'chat');
  get.head(200, mp.headers);
  get.chunk(mp.preamble);
  get.chunk(mp.part(OPEN({ protocol: 'chat' })).slice(0, 30));
  assert.equal(s.readyState, 0);
  get.chunk(mp.part(OPEN({ protocol: 'chat' })).slice(30) + mp.part('4hello'));
  assert.equal(s.readyState, 1);
  assert.equal(s.transport, 'xhr-streaming');
  assert.equal(s.protocol, 'chat');
  assert.deepEqual(ev.map((e) => e.data || e.type), ['open', 'hello']);
  assert.equal(f.wss.length, 1, 'websocket failed during connect: no upgrade probe');
  assert.equal(f.env.localStorage.getItem('polysock:' + URL_), 'xhr-streaming');
});

test('a websocket that opens but stays silent is left after `timeout` ms', () => {
  const f = env({ ws: false });
  f.env.WebSocket = env().env.WebSocket; // a fresh fake, tracked below
  const wss = [];
  f.env.WebSocket = class extends f.env.WebSocket { constructor(u) { super(u); wss.push(this); } };
  const s = new Polysock(URL_, [], { env: f.env, timeout: 1000 });
  f.clock.tick();
  wss[0].serverOpen();
  f.clock.advance(999);
  assert.equal(f.xhrs.length, 0);
  f.clock.advance(1);
  assert.ok(wss[0].closed);
  assert.equal(tname(f.xhrs[0]), 'xhr-streaming');
  s.close();
});

test('every transport failing: error, then close 1006', () => {
  const f = env();
  const s = new Polysock(URL_, [], { env: f.env, transports: ['websocket', 'polling'] });
  const ev = record(s);
  f.clock.tick();
  f.wss[0].serverClose();
  f.xhrs[0].respond(400, '{"code":0,"message":"Transport unknown"}');
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.types(), ['error', 'close']);
  assert.equal(ev[1].code, 1006);
});

test('the last candidate gets a longer wait (4 x timeout)', () => {
  const f = env({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['polling'], timeout: 100 });
  const ev = record(s);
  f.clock.tick();
  f.clock.advance(399);
  assert.equal(s.readyState, 0);
  f.clock.advance(1);
  assert.equal(s.readyState, 3);
  assert.ok(f.xhrs[0].aborted);
  assert.deepEqual(ev.types(), ['error', 'close']);
});

test('remembered transport is tried first on the next page load', () => {
  const storage = new Storage();
  storage.setItem('polysock:' + URL_, 'polling');
  const f = env({ storage });
  const s = new Polysock(URL_, [], { env: f.env });
  f.clock.tick();
  assert.equal(f.wss.length, 0);
  assert.equal(tname(f.xhrs[0]), 'polling');
  s.close();
  const g = env({ storage });
  const t = new Polysock(URL_, [], { env: g.env, remember: false });
  g.clock.tick();
  assert.equal(g.wss.length, 1, 'remember: false ignores it');
  t.close();
});

test('storage that throws is ignored', () => {
  const bad = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); } };
  const f = env({ storage: bad });
  const s = new Polysock(URL_, [], { env: f.env });
  f.clock.tick();
  f.wss[0].serverOpen();
  f.wss[0].serverSend(OPEN({ upgrades: [] }));
  assert.equal(s.readyState, 1);
});

// Upstream messages as the server sees them, from POST bodies and WS frames.
function upstream(f) {
  const out = [];
  for (const x of f.xhrs) if (x.method === 'POST') out.push(...x.body.split('\x1e'));
  for (const w of f.wss) out.push(...w.sent);
  return out.filter((p) => p.charAt(0) === '4').map((p) => p.slice(1));
}

test('upgrade from polling: probe, hold, pause, "5", then the buffer; nothing lost or reordered', () => {
  const f = env();
  const s = new Polysock(URL_, [], { env: f.env, transports: ['polling', 'websocket'] });
  const ev = record(s);
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN());
  assert.equal(s.transport, 'polling');
  const get = f.xhrs[1];
  const ws = f.wss[0];
  assert.equal(ws.query.get('sid'), 'S1');
  assert.equal(ws.query.get('transport'), 'websocket');
  s.send('m1'); // POST in flight
  const post = f.xhrs[2];
  ws.serverOpen();
  assert.deepEqual(ws.sent, ['2probe']);
  s.send('m2'); // waits for the POST
  ws.serverSend('3probe');
  s.send('m3');
  assert.deepEqual(ws.sent, ['2probe'], 'no "5" while a GET and a POST are in flight');
  get.respond(200, '4in1\x1e6'); // the server answers the pending GET
  assert.equal(f.xhrs.length, 3, 'held: no new GET, paused: no new POST');
  post.respond(200, 'ok');
  assert.deepEqual(ws.sent, ['2probe', '5', '4m2', '4m3']);
  assert.equal(s.transport, 'websocket');
  s.send('m4');
  ws.serverSend('4in2');
  assert.deepEqual(upstream(f), ['m1', 'm2', 'm3', 'm4']);
  assert.deepEqual(ev.filter((e) => e.type === 'message').map((e) => e.data), ['in1', 'in2']);
  assert.equal(f.env.localStorage.getItem('polysock:' + URL_), 'websocket');
  assert.ok(get.aborted === false);
});

test('upgrade from xhr-streaming: the stream ends with a noop after the probe', () => {
  const f = env();
  f.env.localStorage.setItem('polysock:' + URL_, 'xhr-streaming');
  const s = new Polysock(URL_, [], { env: f.env });
  f.clock.tick();
  const get = f.xhrs[0];
  get.chunk(mp.preamble);
  get.head(200, mp.headers);
  get.chunk(mp.part(OPEN()));
  assert.equal(s.transport, 'xhr-streaming');
  const ws = f.wss[0];
  ws.serverOpen();
  get.chunk(mp.part('6') + mp.end);
  get.end();
  assert.equal(f.xhrs.length, 1, 'held during the probe: no new stream');
  ws.serverSend('3probe');
  assert.deepEqual(ws.sent, ['2probe', '5']);
  assert.equal(s.transport, 'websocket');
});

test('a probe that gets no answer gives up: the held transport resumes, websocket is not probed for an hour', () => {
  const f = env();
  const s = new Polysock(URL_, [], { env: f.env, transports: ['polling', 'websocket'], timeout: 500 });
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN());
  const ws = f.wss[0];
  ws.serverOpen();
  f.xhrs[1].respond(200, '6'); // server ended the GET on "2probe"
  assert.equal(f.xhrs.length, 2);
  s.send('during');
  f.clock.advance(500);
  assert.ok(ws.closed);
  assert.equal(s.transport, 'polling');
  const next = f.xhrs.filter((x) => x.method === 'GET');
  assert.equal(next.length, 3, 'receiving again');
  assert.deepEqual(upstream(f), ['during']);
  assert.match(f.env.localStorage.getItem('polysock:' + URL_), /^polling \d+$/);
  // next page load: starts on polling, does not probe
  const g = env({ storage: f.env.localStorage });
  const t = new Polysock(URL_, [], { env: g.env });
  g.clock.tick();
  g.xhrs[0].respond(200, OPEN());
  assert.equal(t.transport, 'polling');
  assert.equal(g.wss.length, 0);
});

test('xhr-streaming: a response cut mid-packet resumes with ack=N; a limit-ended one reopens', () => {
  const f = env({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env });
  const ev = record(s);
  f.clock.tick();
  const r1 = f.xhrs[0];
  r1.head(200, mp.headers);
  r1.chunk(mp.preamble + mp.part(OPEN()) + mp.part('4a') + mp.part('4b') + mp.end);
  r1.end();
  const r2 = f.xhrs[1];
  assert.equal(r2.query.get('sid'), 'S1');
  assert.equal(r2.query.get('ack'), '3');
  assert.equal(r2.query.get('ext'), null);
  r2.head(200, mp.headers);
  r2.chunk(mp.preamble + mp.part('4c') + mp.part('4d').slice(0, 20));
  r2.end(); // connection dropped mid-packet
  const r3 = f.xhrs[2];
  assert.equal(r3.query.get('ack'), '4');
  r3.head(200, mp.headers);
  r3.chunk(mp.preamble + mp.part('4d'));
  assert.deepEqual(ev.filter((e) => e.type === 'message').map((e) => e.data), ['a', 'b', 'c', 'd']);
  // a response that ends having carried nothing, without its end marker, is an error
  r3.end();
  const r4 = f.xhrs[3];
  r4.respond(200, '');
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.slice(-2).map((e) => e.type), ['error', 'close']);
});

test('xhr-streaming: a refused stream (400) is an error', () => {
  const f = env({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['xhr-streaming', 'polling'] });
  f.clock.tick();
  f.xhrs[0].respond(400, '{"code":0,"message":"Transport unknown"}', { 'content-type': 'application/json' });
  assert.equal(tname(f.xhrs[1]), 'polling');
  s.close();
});
