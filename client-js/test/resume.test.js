// Resume and reconnect (protocol-spec/11-resume.md, issue 14) on fake
// transports: the ack packet, numbering, retention and its bound, seq/ack on
// HTTP requests, suspension, the resume handshake and its refusals, the
// backoff schedule (injected clock and random), the page's triggers, and the
// reconnect option.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { Polysock, env, OPEN, record } = require('./fakes');

const URL_ = 'http://example.test/engine.io';
const RESUME = { resume: { window: 60000 }, upgrades: [] };

let M;
test.before(async () => { M = await import('../src/index.js'); });

// A fake page whose Math.random is fixed (0.5: every jitter factor is 1) and
// whose window/document events can be fired.
function page(opts) {
  const f = env(opts);
  const ls = {};
  f.env.Math = { random: () => (opts && opts.random !== undefined ? opts.random : 0.5) };
  f.env.addEventListener = (t, fn) => { (ls[t] = ls[t] || []).push(fn); };
  f.env.removeEventListener = (t, fn) => { ls[t] = (ls[t] || []).filter((g) => g !== fn); };
  f.fire = (t) => (ls[t] || []).slice().forEach((fn) => fn({ type: t }));
  f.listeners = (t) => (ls[t] || []).length;
  return f;
}

// A socket on the fake WebSocket, opened with `open` (default: a resume session).
function openWs(opts, open) {
  const f = page(opts);
  const s = new Polysock(URL_, [], Object.assign({ env: f.env, resume: true }, opts));
  const ev = record(s);
  f.clock.tick();
  const ws = f.wss[0];
  ws.serverOpen();
  ws.serverSend(open || OPEN(RESUME));
  return { f, s, ev, ws };
}

test('backoff: 0, then 500 ms doubling to 5 s, times 0.5..1.5; a hint h gives h..2h', () => {
  const at = (r) => [0, 1, 2, 3, 4, 5, 6, 40].map((k) => M.backoff(k, r));
  assert.deepEqual(at(0.5), [0, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  assert.deepEqual(at(0), [0, 250, 500, 1000, 2000, 2500, 2500, 2500]);
  assert.deepEqual(at(1), [0, 750, 1500, 3000, 6000, 7500, 7500, 7500]);
  assert.equal(M.backoff(3, 0, 7000), 7000);
  assert.equal(M.backoff(0, 1, 7000), 14000);
});

test('the ack packet 7<n> decodes only where asked (resume sessions); stock decoding refuses it', () => {
  assert.deepEqual(M.decodePacket('7123', false, true), { type: 7, data: '123' });
  assert.deepEqual(M.decodePacket('70', true, true), { type: 7, data: '0' });
  assert.throws(() => M.decodePacket('7123'));
  assert.throws(() => M.decodePacket('8', false, true));
  assert.equal(M.encodePacket({ type: 7, data: '42' }), '742');
  assert.throws(() => M.decodePayload('41\x1e712'), 'the payload decoder of a stock session');
});

test('handshake asks resume=1 by default, not with resume: false; the open packet makes a resume session', () => {
  const a = openWs();
  assert.equal(a.ws.query.get('resume'), '1');
  const b = openWs({ resume: false }, OPEN({ upgrades: [] }));
  assert.equal(b.ws.query.get('resume'), null);
  const c = openWs({ resume: undefined }, OPEN({ upgrades: [] }));
  assert.equal(c.ws.query.get('resume'), '1', 'asked by default');
  // resume: false is plain WebSocket semantics: a loss closes 1006.
  b.ws.serverClose(1006);
  assert.equal(b.s.readyState, 3);
  assert.deepEqual(b.ev.types(), ['open', 'error', 'close']);
});

test('a stock server (no resume in open): a loss closes 1006 as before, and 7 is a protocol error', () => {
  const a = openWs({}, OPEN({ upgrades: [] }));
  a.ws.serverClose(1006);
  assert.equal(a.s.readyState, 3);
  assert.deepEqual(a.ev.types(), ['open', 'error', 'close']);
  const b = openWs({}, OPEN({ upgrades: [] }));
  b.ws.serverSend('70');
  assert.equal(b.s.readyState, 3);
  assert.equal(b.ev[2].code, 1006);
});

test('acks: after 16 messages, within 100 ms of the first, right before a pong', () => {
  const { f, s, ws } = openWs();
  for (let i = 1; i <= 16; i++) ws.serverSend('4m' + i);
  assert.deepEqual(ws.sent, ['716'], 'at 16 unacknowledged messages');
  ws.serverSend('4m17');
  f.clock.advance(99);
  assert.deepEqual(ws.sent, ['716']);
  f.clock.advance(1);
  assert.deepEqual(ws.sent, ['716', '717'], '100 ms after the first unacknowledged one');
  ws.serverSend('4m18');
  ws.serverSend('2');
  assert.deepEqual(ws.sent, ['716', '717', '718', '3'], 'the ack goes right before the pong');
  ws.serverSend('2');
  assert.deepEqual(ws.sent.slice(4), ['3'], 'nothing new: no ack');
  f.clock.advance(200);
  assert.equal(ws.sent.length, 5);
  ws.serverSend('4' + 'x'.repeat(8191));
  assert.equal(ws.sent[5], '719', 'at 8 KiB of unacknowledged message data');
  assert.equal(s.readyState, 1);
});

test('acks from the server: in range frees retained messages; out of range is a protocol error', () => {
  const a = openWs();
  a.s.send('a');
  a.s.send('b');
  a.ws.serverSend('71');
  a.ws.serverSend('72');
  a.ws.serverSend('72');
  assert.equal(a.s.readyState, 1);
  a.ws.serverSend('71');
  assert.equal(a.s.readyState, 3, 'below an earlier ack');
  assert.equal(a.ev[a.ev.length - 1].code, 1006);
  const b = openWs();
  b.s.send('a');
  b.ws.serverSend('72');
  assert.equal(b.s.readyState, 3, 'above what was sent');
  for (const bad of ['7', '701', '7x', '7 1', '71e0']) {
    const c = openWs();
    c.s.send('a');
    c.ws.serverSend(bad);
    assert.equal(c.s.readyState, 3, bad);
  }
});

test('websocket lost: stays OPEN, queues, resumes at once with last=<received>; replays what the server lacks', () => {
  const { f, s, ev, ws } = openWs();
  s.send('one');
  s.send('two');
  s.send('three');
  ws.serverSend('4hello');
  ws.serverSend('71');
  f.clock.advance(10);
  ws.serverClose(1006);
  assert.equal(s.readyState, 1, 'still OPEN');
  assert.deepEqual(ev.types(), ['open', 'message']);
  s.send('four');
  assert.ok(s.bufferedAmount >= 4, 'bufferedAmount grows while suspended');
  f.clock.tick();
  const ws2 = f.wss[1];
  assert.ok(ws2, 'the first resume attempt at once, on the transport that worked');
  assert.equal(ws2.query.get('resume'), 'S1');
  assert.equal(ws2.query.get('last'), '1');
  assert.equal(ws2.query.get('sid'), null);
  ws2.serverOpen();
  // The server had received 2 of our messages: we send 3 and 4 again.
  ws2.serverSend(OPEN(Object.assign({ resumed: 2 }, RESUME)));
  ws2.serverSend('4again');
  assert.deepEqual(ws2.sent, ['4three', '4four']);
  assert.equal(s.readyState, 1);
  assert.deepEqual(ev.types(), ['open', 'message', 'message'], 'no second open, no close');
  assert.equal(ev[2].data, 'again');
  f.clock.advance(100);
  assert.deepEqual(ws2.sent.slice(2), ['72'], 'the replayed message counts on from 1');
  f.clock.advance(10);
  assert.equal(s.bufferedAmount, 0);
});

test('a resume answer without resumed, with another sid or an out-of-range count: close 1006', () => {
  for (const [open, why] of [[OPEN(RESUME), 'no resumed'], [OPEN(Object.assign({ sid: 'X', resumed: 0 }, RESUME)), 'sid'],
    [OPEN(Object.assign({ resumed: 5 }, RESUME)), 'above sent']]) {
    const { f, s, ev, ws } = openWs();
    s.send('a');
    ws.serverClose(1006);
    f.clock.tick();
    f.wss[1].serverOpen();
    f.wss[1].serverSend(open);
    assert.equal(s.readyState, 3, why);
    assert.deepEqual(ev.types(), ['open', 'error', 'close'], why);
    assert.equal(ev[2].code, 1006);
    assert.equal(ev[2].reason, 'resume failed');
  }
});

test('heartbeat lost: suspends (no close) and resumes', () => {
  const { f, s, ev } = openWs();
  f.clock.advance(45000);
  assert.equal(s.readyState, 1);
  assert.equal(f.wss.length, 2, 'a resume attempt');
  assert.equal(f.wss[0].closed, true);
  assert.deepEqual(ev.types(), ['open']);
});

test('polling: GETs carry ack=<received>, POSTs seq=<first message>; a refusal closes 1006 with its detail', () => {
  const f = page({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['polling'], resume: true });
  const ev = record(s);
  f.clock.tick();
  assert.equal(f.xhrs[0].query.get('resume'), '1');
  f.xhrs[0].respond(200, OPEN(RESUME));
  const get = f.xhrs[1];
  assert.equal(get.query.get('ack'), '0');
  s.send('a');
  const post = f.xhrs[2];
  assert.equal(post.query.get('seq'), '1');
  assert.equal(post.body, '4a');
  s.send('b');
  s.send('c');
  post.respond(200, 'ok');
  assert.equal(f.xhrs[3].query.get('seq'), '2');
  assert.equal(f.xhrs[3].body, '4b\x1e4c');
  f.xhrs[3].respond(200, 'ok');
  get.respond(200, '4x\x1e4y\x1e2');
  assert.equal(f.xhrs[4].body, '72\x1e3', 'ack, then pong; no seq without messages');
  assert.equal(f.xhrs[4].query.get('seq'), null);
  // The next GET does not wait for that POST: it may overtake it, and the
  // server takes the later, lower ack as stale. (Waiting deadlocked: the
  // POST's messages waited for an application waiting for room.)
  const get2 = f.xhrs[5];
  assert.equal(get2.method, 'GET');
  assert.equal(get2.query.get('ack'), '2');
  f.xhrs[4].respond(200, 'ok');
  // The poll is cut: suspended, then a resume handshake on polling, refused.
  get2.respond(0, '');
  assert.equal(s.readyState, 1);
  f.clock.tick();
  const hs = f.xhrs[6];
  assert.equal(hs.query.get('resume'), 'S1');
  assert.equal(hs.query.get('last'), '2');
  assert.equal(hs.query.get('sid'), null);
  hs.respond(400, '{"code":1,"message":"Session ID unknown","detail":"session unknown"}');
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.types(), ['open', 'message', 'message', 'error', 'close']);
  assert.equal(ev[4].code, 1006);
  assert.equal(ev[4].reason, 'session unknown');
  assert.equal(ev[4].wasClean, false);
});

test('polling: a GET with ack= acknowledges (no 7 after it); a queued 7 says the count when it leaves', () => {
  const f = page({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['polling'] });
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN(RESUME));
  s.send('a'); // a POST in flight
  f.xhrs[1].respond(200, '4x\x1e4y');
  const get2 = f.xhrs[3];
  assert.equal(get2.query.get('ack'), '2');
  f.clock.advance(500);
  assert.equal(f.xhrs.length, 4, 'the GET acknowledged them: no 7 packet');
  const msgs = [];
  for (let i = 0; i < 16; i++) msgs.push('4m' + i);
  get2.respond(200, msgs.join('\x1e'));
  // 16 unacknowledged: a 7 is queued behind the POST in flight; the next GET says 18 meanwhile.
  assert.equal(f.xhrs.length, 5);
  const get3 = f.xhrs[4];
  assert.equal(get3.query.get('ack'), '18');
  f.xhrs[2].respond(200, 'ok');
  assert.equal(f.xhrs[5].body, '718', 'the queued 7 leaves with the count of now, not 716 (below the GET\'s)');
  get3.respond(200, '4z');
  assert.equal(f.xhrs.length, 7, 'the next GET does not wait for that POST');
  assert.equal(f.xhrs[6].query.get('ack'), '19');
  f.xhrs[5].respond(200, 'ok');
  assert.equal(s.readyState, 1);
});

test('polling resume: the open packet, then GETs with ack replay; unacked POST bodies go again with their numbers', () => {
  const f = page({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['polling'] });
  const ev = record(s);
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN(RESUME));
  s.send('a');
  s.send('b');
  const post = f.xhrs[2];
  post.respond(0, ''); // the POST failed (the server may or may not have it)
  assert.equal(s.readyState, 1);
  f.clock.tick();
  const hs = f.xhrs.find((x) => x.query.get('resume') === 'S1');
  hs.respond(200, OPEN(Object.assign({ resumed: 1 }, RESUME)));
  const posts = f.xhrs.filter((x) => x.method === 'POST');
  const again = posts[posts.length - 1];
  assert.equal(again.body, '4b', 'the server had message 1');
  assert.equal(again.query.get('seq'), '2');
  const gets = f.xhrs.filter((x) => x.method === 'GET' && x.query.get('sid'));
  assert.equal(gets[gets.length - 1].query.get('ack'), '0');
  assert.deepEqual(ev.types(), ['open']);
  again.respond(200, 'ok');
  assert.equal(s.bufferedAmount, 0);
});

test('a resume handshake refused with code 0 (transport off) moves on to the next transport', () => {
  const { f, s, ws } = openWs({ transports: ['websocket', 'xhr-streaming', 'polling'] });
  ws.serverClose(1006);
  f.clock.tick();
  f.wss[1].serverClose(1006);
  const xs = f.xhrs[0];
  assert.equal(xs.query.get('transport'), 'xhr-streaming');
  xs.respond(400, '{"code":0,"message":"Transport unknown","detail":"unknown or disabled transport"}');
  assert.equal(s.readyState, 1);
  const poll = f.xhrs[1];
  assert.equal(poll.query.get('transport'), 'polling');
  assert.equal(poll.query.get('resume'), 'S1');
  poll.respond(400, '{"code":3,"message":"Bad request","detail":"acknowledgement out of range"}');
  assert.equal(s.readyState, 3);
});

test('resume rounds: backoff schedule over the transports, window over: close 1006 "resume window over"', () => {
  const { f, s, ev, ws } = openWs({ transports: ['websocket', 'polling'] }, OPEN({ resume: { window: 20000 }, upgrades: [] }));
  // From now on every attempt fails at once (from a zero timer), noting when it began.
  const starts = [];
  const WS = f.env.WebSocket;
  const XHR = f.env.XMLHttpRequest;
  f.env.WebSocket = class extends WS {
    constructor(u) { super(u); starts.push([f.clock.now, 'ws']); f.clock.setTimeout(() => this.serverClose(1006), 0); }
  };
  f.env.XMLHttpRequest = class extends XHR {
    send(b) { super.send(b); starts.push([f.clock.now, 'polling']); f.clock.setTimeout(() => this.respond(0, ''), 0); }
  };
  ws.serverClose(1006);
  f.clock.advance(19999);
  assert.equal(s.readyState, 1);
  assert.deepEqual(starts, [[0, 'ws'], [0, 'polling'], [500, 'ws'], [500, 'polling'], [1500, 'ws'], [1500, 'polling'],
    [3500, 'ws'], [3500, 'polling'], [7500, 'ws'], [7500, 'polling'], [12500, 'ws'], [12500, 'polling'],
    [17500, 'ws'], [17500, 'polling']], 'rounds 0, 0.5, 1, 2, 4, 5, 5 s apart; the transport that worked first');
  f.clock.advance(1);
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.types(), ['open', 'error', 'close']);
  assert.equal(ev[2].reason, 'resume window over');
  assert.equal(f.listeners('online'), 0, 'the page listeners go with it');
});

test('online / pageshow / visible: a round starts at once instead of waiting its backoff', () => {
  const doc = { hidden: false };
  const { f, s, ws } = openWs({ document: doc, transports: ['websocket'] });
  ws.serverClose(1006);
  f.clock.tick();
  f.wss[1].serverClose(1006); // round 1 failed; round 2 waits 500 ms
  assert.equal(f.wss.length, 2);
  f.fire('online');
  assert.equal(f.wss.length, 3, 'online: at once');
  f.fire('online');
  assert.equal(f.wss.length, 3, 'not while an attempt is in flight');
  f.wss[2].serverClose(1006);
  doc.hidden = true;
  f.fire('visibilitychange'); // on the window: it bubbles up from the document
  assert.equal(f.wss.length, 3, 'hidden: no');
  doc.hidden = false;
  f.fire('visibilitychange');
  assert.equal(f.wss.length, 4, 'visible again: at once');
  f.wss[3].serverClose(1006);
  f.fire('pageshow');
  assert.equal(f.wss.length, 5, 'pageshow: at once');
  f.wss[4].serverOpen();
  f.wss[4].serverSend(OPEN(Object.assign({ resumed: 0 }, RESUME)));
  assert.equal(s.readyState, 1);
  for (const t of ['online', 'pageshow', 'visibilitychange']) assert.equal(f.listeners(t), 0, 'resumed: listeners removed');
});

test('retention bound: past resumeBuffer bytes unacknowledged, close 1006 "send buffer overflowed"', () => {
  const { f, s, ev, ws } = openWs({ resumeBuffer: 10 });
  s.send('12345');
  s.send('12345');
  ws.serverSend('72');
  s.send('1234567890');
  assert.equal(s.readyState, 1, 'acknowledged bytes are free again');
  s.send('x');
  assert.equal(s.readyState, 2);
  f.clock.tick();
  assert.equal(s.readyState, 3);
  assert.deepEqual(ev.types(), ['open', 'error', 'close']);
  assert.equal(ev[2].reason, 'send buffer overflowed');
});

test('close() within 100 ms of a message: the ack goes before the close packet, none after', () => {
  const { f, s, ev, ws } = openWs();
  ws.serverSend('4x');
  s.close(4000, 'bye');
  f.clock.advance(200);
  assert.deepEqual(ws.sent, ['71', '1{"code":4000,"reason":"bye"}']);
  assert.equal(s.readyState, 3);
  assert.equal(ev[ev.length - 1].wasClean, true);
});

test('close() while suspended: no resume, close 1006', () => {
  const { f, s, ev, ws } = openWs();
  ws.serverClose(1006);
  s.close();
  assert.equal(s.readyState, 2);
  f.clock.advance(10000);
  assert.equal(s.readyState, 3);
  assert.equal(f.wss.length, 1, 'no resume attempt');
  assert.deepEqual(ev.types(), ['open', 'error', 'close']);
});

test('reconnect: a close not asked for opens a new session (CONNECTING, open again), bounded, backoff', () => {
  const { f, s, ev, ws } = openWs({ reconnect: 2, transports: ['websocket'] }, OPEN({ upgrades: [] }));
  ws.serverSend('1{"code":4000,"reason":"kicked"}');
  assert.deepEqual(ev.types(), ['open', 'close']);
  assert.equal(s.readyState, 0, 'CONNECTING again');
  assert.throws(() => s.send('x'), { name: 'InvalidStateError' });
  f.clock.advance(499);
  assert.equal(f.wss.length, 1);
  f.clock.advance(1);
  assert.equal(f.wss.length, 2, 'the first try after 500 ms');
  assert.equal(f.wss[1].query.get('sid'), null);
  assert.equal(f.wss[1].query.get('resume'), '1');
  f.wss[1].serverOpen();
  f.wss[1].serverSend(OPEN({ sid: 'S2', upgrades: [] }));
  assert.equal(s.readyState, 1);
  assert.deepEqual(ev.types(), ['open', 'close', 'open']);
  s.send('hi');
  assert.deepEqual(f.wss[1].sent, ['4hi']);
  // Lost twice more: tries 1 and 2 fail; the count restarted at the open.
  f.wss[1].serverClose(1006);
  f.clock.advance(500);
  f.wss[2].serverClose(1006);
  assert.equal(s.readyState, 0);
  f.clock.advance(999);
  assert.equal(f.wss.length, 3);
  f.clock.advance(1);
  assert.equal(f.wss.length, 4, 'the second try 1 s later');
  f.wss[3].serverClose(1006);
  f.clock.advance(60000);
  assert.equal(f.wss.length, 4, 'no third try');
  assert.equal(s.readyState, 3);
});

test('reconnect: close() stops it; 1012/1013 and a 503 Retry-After make it wait', () => {
  const a = openWs({ reconnect: true, transports: ['websocket'] }, OPEN({ upgrades: [] }));
  a.s.close();
  a.ws.serverSend('1');
  a.f.clock.advance(60000);
  assert.equal(a.f.wss.length, 1, 'asked for: no reconnect');
  assert.equal(a.s.readyState, 3);

  const b = openWs({ reconnect: true, transports: ['websocket'] }, OPEN({ upgrades: [] }));
  b.ws.serverSend('1{"code":1013,"reason":"try again later"}');
  b.f.clock.advance(7499);
  assert.equal(b.f.wss.length, 1, 'at least 5 s (x 1..2) after 1013');
  b.f.clock.advance(1);
  assert.equal(b.f.wss.length, 2);
  b.s.close();
  b.f.clock.advance(60000);
  assert.equal(b.s.readyState, 3);
  assert.equal(b.f.wss.length, 2, 'close() while reconnecting stops it');

  const f = page({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['xhr-streaming', 'polling'], reconnect: true });
  f.clock.tick();
  f.xhrs[0].respond(503, '', { 'retry-after': '20' });
  assert.equal(f.xhrs.length, 1, 'a 503: no other transport now');
  assert.equal(s.readyState, 0, 'closed, and CONNECTING again');
  f.clock.advance(29999);
  assert.equal(f.xhrs.length, 1, 'Retry-After 20 s (x 1..2)');
  f.clock.advance(1);
  assert.equal(f.xhrs.length, 2);
  assert.equal(s.readyState, 0);
});

test('xhr-streaming resume session: GETs carry ack=<messages received>; a resume answer streams the replay', () => {
  const { mp } = require('./fakes');
  const f = page({ ws: false });
  const s = new Polysock(URL_, [], { env: f.env, transports: ['xhr-streaming'] });
  const ev = record(s);
  f.clock.tick();
  const r1 = f.xhrs[0];
  r1.head(200, mp.headers);
  r1.chunk(mp.preamble + mp.part(OPEN(RESUME)) + mp.part('4a') + mp.part('2') + mp.end);
  r1.end();
  f.xhrs.find((x) => x.method === 'POST').respond(200, 'ok'); // the ack and the pong
  const r2 = f.xhrs.find((x) => x.method === 'GET' && x.query.get('sid'));
  assert.equal(r2.query.get('ack'), '1', 'messages, not packets (7.6 counting is off)');
  r2.head(200, mp.headers);
  r2.chunk(mp.preamble + mp.part('4b'));
  r2.respond(500, '');
  assert.equal(s.readyState, 1);
  f.clock.tick();
  const hs = f.xhrs.find((x) => x.query.get('resume') === 'S1');
  assert.equal(hs.query.get('last'), '2');
  hs.head(200, mp.headers);
  hs.chunk(mp.preamble + mp.part(OPEN(Object.assign({ resumed: 0 }, RESUME))) + mp.part('4c'));
  assert.deepEqual(ev.filter((e) => e.type === 'message').map((e) => e.data), ['a', 'b', 'c']);
  assert.deepEqual(ev.types().filter((t) => t !== 'message'), ['open']);
});

test('resumed on polling, then upgraded to websocket as usual; the retained messages stay numbered', () => {
  const f = page();
  const s = new Polysock(URL_, [], { env: f.env, transports: ['websocket', 'polling'] });
  f.clock.tick();
  f.wss[0].serverOpen();
  f.wss[0].serverSend(OPEN(Object.assign({}, RESUME, { upgrades: [] })));
  s.send('a');
  f.wss[0].serverClose(1006);
  // The WebSocket is gone for now: round 1 tries it first, then polling, which answers.
  f.clock.tick();
  f.wss[1].serverClose(1006);
  const hs = f.xhrs[0];
  assert.equal(hs.query.get('transport'), 'polling');
  assert.equal(hs.query.get('resume'), 'S1');
  hs.respond(200, OPEN(Object.assign({ resumed: 0 }, RESUME, { upgrades: ['websocket'] })));
  assert.equal(s.transport, 'polling');
  const post = f.xhrs.find((x) => x.method === 'POST');
  assert.equal(post.body, '4a');
  assert.equal(post.query.get('seq'), '1');
  post.respond(200, 'ok');
  // The upgrade probe (with sid, no resume) then the switch.
  const probe = f.wss[2];
  assert.equal(probe.query.get('sid'), 'S1');
  assert.equal(probe.query.get('resume'), null);
  probe.serverOpen();
  assert.deepEqual(probe.sent, ['2probe']);
  probe.serverSend('3probe');
  f.xhrs.filter((x) => x.method === 'GET' && x.readyState !== 4).forEach((x) => x.respond(200, '6'));
  assert.equal(s.transport, 'websocket');
  s.send('b');
  assert.deepEqual(probe.sent.slice(1), ['5', '4b']);
  probe.serverSend('72');
  assert.equal(s.readyState, 1);
});

// A fake DOM for the hidden-iframe htmlfile transport: the test plays the
// server by calling the iframe's callback (window._polysock_cb.c<N>).
function htmlfilePage() {
  const frames = [];
  const win = {};
  const document = {
    body: { appendChild(fr) { fr.parentNode = this; frames.push(fr); }, removeChild(fr) { fr.parentNode = null; } },
    createElement() { return { style: {}, parentNode: null }; }
  };
  const f = page({ ws: false, document, window: win });
  f.frames = frames;
  // The callback of iframe i, and its query.
  f.cb = (i) => win._polysock_cb['c' + new URL(frames[i].src).searchParams.get('c')];
  f.src = (i) => new URL(frames[i].src).searchParams;
  return f;
}

test('htmlfile: a stream reset that fires no event is found by the ack it owes (2.5 s, doubling in a row), then resumed', () => {
  const f = htmlfilePage();
  const s = new Polysock(URL_, [], { env: f.env, resume: true, transports: ['htmlfile'] });
  const ev = record(s);
  f.clock.tick();
  f.cb(0)(OPEN(RESUME));
  assert.equal(s.readyState, 1);
  const posts = () => f.xhrs.filter((x) => x.method === 'POST');
  s.send('a');
  posts()[0].respond(200, 'ok');
  // The ack comes in time: no loss, however long after.
  f.clock.advance(2000);
  f.cb(0)('71');
  f.clock.advance(10000);
  assert.equal(f.frames.length, 1, 'an acknowledged stream is not suspected');
  // Now the stream dies silently: b's POST is answered, its ack never comes.
  s.send('b');
  posts()[1].respond(200, 'ok');
  f.clock.advance(2499);
  assert.equal(f.frames.length, 1);
  f.clock.advance(1);
  assert.equal(f.frames.length, 2, 'no ack 2.5 s after the answer: a resume attempt');
  assert.equal(f.src(1).get('resume'), 'S1');
  assert.equal(s.readyState, 1);
  assert.deepEqual(ev.types(), ['open'], 'no event');
  // Resumed: b goes again; lost again the same way, found after 5 s this time.
  f.cb(1)(OPEN(Object.assign({ resumed: 1 }, RESUME)));
  assert.equal(posts()[2].body, '4b');
  posts()[2].respond(200, 'ok');
  f.clock.advance(4999);
  assert.equal(f.frames.length, 2, 'the wait doubled');
  f.clock.advance(1);
  assert.equal(f.frames.length, 3);
  f.cb(2)(OPEN(Object.assign({ resumed: 2 }, RESUME)));
  // An ack on the new stream: the wait is back to 2.5 s for the next loss.
  s.send('c');
  posts()[3].respond(200, 'ok');
  f.cb(2)('73');
  s.send('d');
  posts()[4].respond(200, 'ok');
  f.clock.advance(2499);
  assert.equal(f.frames.length, 3);
  f.clock.advance(1);
  assert.equal(f.frames.length, 4, 'an ack between two losses: 2.5 s again');
  assert.equal(s.readyState, 1);
  assert.deepEqual(ev.types(), ['open']);
});

test('htmlfile: a POST without messages (a pong) owes no ack; a stock session never watches', () => {
  for (const resume of [true, false]) {
    const f = htmlfilePage();
    const s = new Polysock(URL_, [], { env: f.env, resume, transports: ['htmlfile'] });
    f.clock.tick();
    f.cb(0)(OPEN(resume ? RESUME : {}));
    f.cb(0)('2');
    const pong = f.xhrs.find((x) => x.method === 'POST');
    assert.equal(pong.body, '3');
    pong.respond(200, 'ok');
    if (!resume) {
      s.send('a');
      f.xhrs.filter((x) => x.method === 'POST')[1].respond(200, 'ok');
    }
    f.clock.advance(20000);
    assert.equal(f.frames.length, 1, `resume ${resume}`);
    assert.equal(s.readyState, 1);
  }
});

test('resume rounds: the last candidate gets the short attempt timer (T) in the first three rounds, 4T after', () => {
  const { f, s, ws } = openWs({ transports: ['websocket'] });
  const starts = [];
  const WS = f.env.WebSocket;
  f.env.WebSocket = class extends WS {
    constructor(u) { super(u); starts.push(f.clock.now); } // never answers
  };
  ws.serverClose(1006);
  f.clock.advance(40000);
  // round 1 at 0 (2.5 s), round 2 500 ms after (2.5 s), round 3 1 s after
  // (2.5 s), round 4 2 s after: 10 s, round 5 4 s after.
  assert.deepEqual(starts.slice(0, 5), [0, 3000, 6500, 11000, 25000]);
  assert.equal(s.readyState, 1);
});
