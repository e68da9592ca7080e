// Framing: packets, polling payloads, the xhr-streaming multipart cutter and
// the htmlfile callback, against the shared vectors in protocol-spec/vectors.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { Polysock, env, OPEN, record } = require('./fakes');

// The pure helpers, from the ES module sources (the served bundle carries
// Polysock only).
let F;
test.before(async () => { F = await import('../src/index.js'); });
const VEC = path.join(__dirname, '..', '..', 'protocol-spec', 'vectors');
const load = (f) => JSON.parse(fs.readFileSync(path.join(VEC, f), 'utf8'));
const TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];

// Vector packet -> client packet
function pkt(v) {
  if (v.binary_base64 !== undefined) return { type: 4, data: new Uint8Array(Buffer.from(v.binary_base64, 'base64')).buffer };
  return { type: TYPES.indexOf(v.type), data: v.text === undefined ? '' : v.text };
}
function same(actual, v) {
  const want = pkt(v);
  assert.equal(actual.type, want.type);
  if (typeof want.data === 'string') assert.equal(actual.data, want.data);
  else assert.deepEqual(Buffer.from(actual.data), Buffer.from(want.data));
}

test('packets: encode and decode every vector (polling text and websocket frames)', () => {
  const vectors = load('packets.json');
  assert.ok(vectors.length > 20);
  for (const v of vectors) {
    assert.equal(F.encodePacket(pkt(v.packet)), v.polling, v.name);
    same(F.decodePacket(v.polling), v.packet);
    if (v.ws.text !== undefined) same(F.decodePacket(v.ws.text, true), v.packet);
  }
});

test('payloads: valid vectors decode, and encode back to the same bytes', () => {
  const { valid } = load('payloads.json');
  for (const v of valid) {
    const got = F.decodePayload(v.payload);
    assert.equal(got.length, v.packets.length, v.name);
    got.forEach((p, i) => same(p, v.packets[i]));
    assert.equal(F.encodePayload(v.packets.map(pkt)), v.payload, v.name);
  }
});

test('payloads: invalid vectors are refused (those a browser can see)', () => {
  const { invalid } = load('payloads.json');
  let n = 0;
  for (const v of invalid) {
    // invalid_utf8 never reaches script (the browser decodes), too_large is the server's rule.
    if (v.error === 'invalid_utf8' || v.error === 'too_large') continue;
    const text = Buffer.from(v.payload_base64, 'base64').toString('utf8');
    assert.throws(() => { if (!text) throw new Error('empty'); F.decodePayload(text); }, undefined, v.name);
    n++;
  }
  assert.ok(n >= 19);
});

test('a "b" text frame on websocket is not binary', () => {
  assert.throws(() => F.decodePacket('bAQID', true));
  assert.deepEqual(Buffer.from(F.decodePacket('bAQID').data), Buffer.from([1, 2, 3]));
});

test('base64 round trip over every length 0..300 and all byte values', () => {
  for (let n = 0; n <= 300; n++) {
    const bytes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) bytes[i] = (i * 97 + n) & 255;
    const enc = F.b64encode(new Uint8Array(bytes));
    assert.equal(enc, bytes.toString('base64'));
    assert.deepEqual(Buffer.from(F.b64decode(enc)), bytes);
  }
});

test('utf8Length and quote', () => {
  for (const s of ['', 'a', 'é', '€', '😀', '\ud800', 'a😀b\u2028', 'x'.repeat(123)]) {
    assert.equal(F.utf8Length(F.usv(s)), Buffer.byteLength(s), JSON.stringify(s));
  }
  for (const s of ['', 'bye', 'q"uo\\te', '\n\t\u0000\u001f', '\u2028\u2029', '😀</script>']) {
    assert.equal(JSON.parse(F.quote(s)), s);
  }
});

test('without a native JSON the open and close packets still parse (no eval)', () => {
  assert.deepEqual(F.flatParse('{"sid":"a","upgrades":["websocket"],"n":-1.5e3,"ok":true,"no":false,"x":null,"e":[]}'),
    { sid: 'a', upgrades: ['websocket'], n: -1500, ok: true, no: false, x: null, e: [] });
  const open = { sid: 'SGrc1yDWaOKCKZd2eB5zhw', upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000,
    maxPayload: 1000000, ext: 1, protocol: 'chat' };
  assert.deepEqual(F.flatParse(JSON.stringify(open)), open);
  for (const reason of ['', 'bye', 'a,b}c"d', '\u2028\n\t', 'caf\u00e9 \ud83d\ude00']) {
    const body = JSON.stringify({ code: 4002, reason });
    assert.deepEqual(F.flatParse(body), { code: 4002, reason }, body);
  }
  assert.equal(F.flatParse('{"r":"\u2028\\u0041"}').r, '\u2028A');
  // Nothing is evaluated: a non-JSON value reads as NaN, code as no members.
  assert.ok(Number.isNaN(F.flatParse('{"a":alert(1)}').a));
  assert.deepEqual(F.flatParse('(function(){ throw 1; })()'), {});
  // The bundle loaded where the global has no JSON uses it, and neither
  // eval nor the Function constructor appears anywhere in it.
  const src = fs.readFileSync(path.join(__dirname, '..', 'dist', 'polysock.js'), 'utf8');
  for (const f of ['polysock.min.js', 'polysock-http.min.js']) {
    assert.doesNotMatch(fs.readFileSync(path.join(__dirname, '..', 'dist', f), 'utf8'), /\beval\b|Function\(/, f);
  }
  const ctx = { window: undefined, URL };
  ctx.window = ctx;
  vm.createContext(ctx);
  vm.runInContext('delete this.JSON; this.eval = this.Function = function () { throw new Error("CSP"); };' + src, ctx);
  const f = env({ ws: false });
  const s = new ctx.Polysock('http://example.test/engine.io', ['chat'], { env: f.env, transports: ['polling'] });
  f.clock.tick();
  f.xhrs[0].respond(200, OPEN({ protocol: 'chat' }));
  assert.equal(s.readyState, 1);
  assert.equal(s.protocol, 'chat');
  f.xhrs[1].respond(200, '1{"code":4003,"reason":"x\\"y"}');
  assert.equal(s.readyState, 3);
});

// ---- xhr-streaming --------------------------------------------------------

function cutAll(mpBody, boundary, step) {
  const m = new F.Multipart(boundary);
  const out = [];
  for (let i = step; i < mpBody.length + step; i += step) out.push(...m.feed(mpBody.slice(0, i)));
  return { out, done: m.done };
}

test('multipart: the example body cuts into its packets at every split point', () => {
  const x = load('xhr-streaming.json');
  const body = x.example_body.bytes;
  const want = x.example_body.packets.map((p) => F.encodePacket(pkt(p)));
  for (let step = 1; step < 80; step += 7) {
    const r = cutAll(body, x.example_body.boundary, step);
    assert.deepEqual(r.out, want, 'step ' + step);
    assert.equal(r.done, body.endsWith(x.end));
  }
  // every prefix length, one feed each
  for (let i = 0; i <= body.length; i++) {
    const m = new F.Multipart(x.example_body.boundary);
    const first = m.feed(body.slice(0, i));
    const rest = m.feed(body);
    assert.deepEqual(first.concat(rest), want, 'split at ' + i);
  }
});

test('multipart: every vector case and the harmless look-alikes come out whole', () => {
  const x = load('xhr-streaming.json');
  for (const c of x.cases.concat(x.harmless)) {
    const body = x.preamble_example.bytes.replace(x.preamble_example.boundary, c.boundary) + c.chunk + x.end;
    const r = cutAll(body, c.boundary, 5);
    assert.equal(r.out.length, 1, c.name);
    same(F.decodePacket(r.out[0]), c.packet);
    assert.ok(r.done);
  }
});

test('multipart: the boundary comes from Content-Type, quoted or not', () => {
  assert.equal(F.boundaryOf('multipart/mixed; boundary="abc123"'), 'abc123');
  assert.equal(F.boundaryOf('multipart/mixed; boundary=abc123'), 'abc123');
  assert.equal(F.boundaryOf('text/html'), null);
  assert.equal(F.boundaryOf(null), null);
});

// ---- htmlfile -------------------------------------------------------------

// A fake DOM just big enough for the hidden-iframe path. Setting an iframe's
// src and appending it "loads" it: the test decides what the response does.
function fakeDom() {
  const frames = [];
  const document = {
    body: { appendChild(f) { f.parentNode = this; frames.push(f); }, removeChild(f) { f.parentNode = null; f.removed = true; } },
    createElement() { return { style: {}, parentNode: null }; }
  };
  return { document, frames };
}

// Runs an htmlfile response body the way a browser would: each <script> in
// turn, with `parent` the page window.
function runHtmlfile(body, win) {
  const ctx = vm.createContext({ parent: win });
  const re = /<script>([\s\S]*?)<\/script>/g;
  let m;
  while ((m = re.exec(body))) vm.runInContext(m[1], ctx);
}

test('htmlfile: the callback is c=<digits>, bound by the server to _polysock_cb.c<N>; the body reaches the socket', () => {
  const h = load('htmlfile.json');
  const dom = fakeDom();
  const win = {};
  const f = env({ ws: false, document: dom.document, window: win });
  const s = new Polysock('http://example.test/engine.io', [], { transports: ['htmlfile'], env: f.env });
  const ev = record(s);
  f.clock.tick();
  assert.equal(dom.frames.length, 1);
  const src = new URL(dom.frames[0].src);
  assert.equal(src.searchParams.get('transport'), 'htmlfile');
  assert.equal(src.searchParams.get('ext'), '1');
  const cb = src.searchParams.get('c');
  assert.match(cb, /^[0-9]{1,9}$/, 'only an index: the server fixes the callback');
  assert.ok(!h.callbacks.invalid.includes(cb));
  assert.equal(typeof win._polysock_cb['c' + cb], 'function');
  // The server's body, with our callback: the example packets plus hostile texts.
  const hostile = h.hostile.map((x) => x.chunk).join('');
  const body = h.example_body.bytes.replace('parent._polysock_cb.c' + h.example_body.callback, 'parent._polysock_cb.c' + cb)
    .replace(h.end, hostile + h.end);
  runHtmlfile(body, win);
  assert.equal(s.readyState, 1);
  assert.equal(s.protocol, 'chat');
  const msgs = ev.filter((e) => e.type === 'message').map((e) => e.data);
  assert.equal(msgs[0], 'hello');
  assert.deepEqual(Buffer.from(msgs[1]), Buffer.from([1, 2, 3]));
  assert.deepEqual(msgs.slice(2), h.hostile.map((x) => x.text));
  // pong for the ping, by POST
  const post = f.xhrs.find((x) => x.method === 'POST');
  assert.equal(post.body, '3');
  assert.equal(post.query.get('ack'), null, 'ack=N belongs to receiving GETs only');
  assert.equal(post.query.get('transport'), 'htmlfile');
  // p(null) ended the response: the iframe goes, the next one asks with ack=N
  f.clock.tick();
  assert.equal(dom.frames.length, 2);
  assert.ok(dom.frames[0].removed);
  const next = new URL(dom.frames[1].src).searchParams;
  assert.equal(next.get('sid'), 'SGrc1yDWaOKCKZd2eB5zhw');
  assert.equal(next.get('ack'), String(4 + h.hostile.length));
  assert.notEqual(next.get('c'), cb);
});

test('htmlfile: an iframe that loads without calling back is a failed transport', () => {
  const dom = fakeDom();
  const f = env({ ws: false, document: dom.document, window: {} });
  const s = new Polysock('http://example.test/engine.io', [], { transports: ['htmlfile', 'polling'], env: f.env });
  f.clock.tick();
  dom.frames[0].onload();
  assert.equal(f.xhrs.length, 1);
  assert.equal(f.xhrs[0].query.get('transport'), 'polling');
  f.xhrs[0].respond(200, OPEN());
  assert.equal(s.transport, 'polling');
});

test('htmlfile is not used cross-origin (the iframe could not call its parent)', () => {
  const dom = fakeDom();
  const f = env({ ws: false, document: dom.document, window: {} });
  const s = new Polysock('http://other.test/engine.io', [], { transports: ['htmlfile', 'polling'], env: f.env });
  f.clock.tick();
  assert.equal(dom.frames.length, 0);
  assert.equal(f.xhrs[0].query.get('transport'), 'polling');
  s.close();
  assert.deepEqual(F.resolve('http://A.test:80/x'), ['ws://a.test/x', 'http://a.test/x', 'ws://a.test']);
});
