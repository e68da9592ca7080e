// The served build is two files: dist/polysock.min.js (<mount>/polysock.js:
// the socket and websocket) and dist/polysock-http.min.js
// (<mount>/polysock-http.js: the HTTP transports), which the first socket
// that needs an HTTP transport loads with a <script> element from its own
// mount. Here both run as a page runs them (each in a fresh context, so that
// each test is a fresh page), with a fake document whose <script> elements
// the test loads, fails or leaves hanging.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { env, OPEN, record } = require('./fakes');

const DIST = path.join(__dirname, '..', 'dist');
const CORE = fs.readFileSync(path.join(DIST, 'polysock.min.js'), 'utf8');
const HTTP = fs.readFileSync(path.join(DIST, 'polysock-http.min.js'), 'utf8');

// An <a> element: what the client resolves URLs with where there is a document.
function anchor() {
  const el = {};
  Object.defineProperty(el, 'href', { set(v) { this.u = new URL(v, 'http://example.test/page.html'); }, get() { return this.u.href; } });
  Object.defineProperty(el, 'protocol', { get() { return this.u.protocol; } });
  return el;
}

// Runs polysock-http.js as a script of the page whose global is `win`.
function runHttp(win, src) {
  vm.runInNewContext(src || HTTP, { window: win });
}

// A page: the core loaded, a fake document; `scripts` are the <script>
// elements the client added, each with load() (the server answers with
// polysock-http.js, or `src` if given), fail() (an error) and
// ieLoaded(ran) (IE6-10: readyState "loaded", after running it if `ran`).
function page(opts) {
  const scripts = [];
  const head = { appendChild(el) { scripts.push(el); } };
  const document = {
    createElement(tag) {
      if (tag === 'a') return anchor();
      assert.equal(tag, 'script');
      const el = {
        tag,
        load(src) { runHttp(f.env, src); if (el.onload) el.onload(); },
        fail() { if (el.onerror) el.onerror(); },
        ieLoaded(ran) {
          if (ran) runHttp(f.env);
          el.readyState = 'loading';
          if (el.onreadystatechange) el.onreadystatechange();
          el.readyState = 'loaded';
          if (el.onreadystatechange) el.onreadystatechange();
        },
      };
      return el;
    },
    getElementsByTagName(tag) { return tag === 'head' ? [head] : []; },
  };
  const f = env(Object.assign({ ws: false, document }, opts));
  const ctx = { URL };
  ctx.window = ctx;
  vm.runInNewContext((opts && opts.noJSON ? 'this.JSON = undefined;' : '') + CORE, ctx);
  return { Polysock: ctx.Polysock, f, scripts };
}

test('a working WebSocket: polysock-http.js is never fetched', () => {
  const { Polysock, f, scripts } = page({ ws: true });
  const s = new Polysock('/engine.io', { env: f.env });
  f.clock.tick();
  f.wss[0].serverOpen();
  f.wss[0].serverSend(OPEN({ upgrades: [] }));
  assert.equal(s.readyState, 1);
  assert.equal(s.transport, 'websocket');
  assert.equal(scripts.length, 0);
  assert.deepEqual(Object.keys(Polysock.transports), ['websocket']);
});

test('no WebSocket: the first socket loads <mount>/polysock-http.js once, for every socket waiting, then falls back', () => {
  const { Polysock, f, scripts } = page();
  const a = new Polysock('/engine.io?x=1', { env: f.env, transports: ['websocket', 'polling'] });
  const b = new Polysock('/engine.io?x=1', { env: f.env, transports: ['polling'] });
  f.clock.tick();
  assert.equal(scripts.length, 1, 'one load for both');
  assert.equal(scripts[0].src, 'http://example.test/engine.io/polysock-http.js');
  assert.equal(f.xhrs.length, 0, 'nothing sent before it is loaded');
  scripts[0].load();
  assert.deepEqual(Object.keys(Polysock.transports).sort(), ['htmlfile', 'polling', 'websocket', 'xhr-streaming']);
  assert.equal(f.xhrs.length, 2);
  assert.equal(f.xhrs[0].query.get('transport'), 'polling');
  f.xhrs[0].respond(200, OPEN({ sid: 'A' }));
  f.xhrs[1].respond(200, OPEN({ sid: 'B' }));
  assert.equal(a.readyState, 1);
  assert.equal(b.readyState, 1);
  const got = [];
  a.onmessage = (e) => got.push(e.data);
  a.send('x');
  assert.equal(f.xhrs.find((x) => x.method === 'POST').body, '4x');
  f.xhrs.find((x) => x.method === 'GET' && x.query.get('sid') === 'A').respond(200, '4y');
  assert.deepEqual(got, ['y']);
  // Later sockets find it loaded.
  new Polysock('/engine.io', { env: f.env, transports: ['polling'] });
  f.clock.tick();
  assert.equal(scripts.length, 1);
});

test('after loading, the HTTP transports\' own checks apply: xhr-streaming without a streaming XHR is skipped', () => {
  const { Polysock, f, scripts } = page({ streaming: false });
  new Polysock('/engine.io', { env: f.env, transports: ['xhr-streaming', 'polling'] });
  f.clock.tick();
  scripts[0].load();
  assert.deepEqual(f.xhrs.map((x) => x.query.get('transport')), ['polling']);
});

test('a page that loaded polysock-http.js itself: nothing is fetched', () => {
  const { Polysock, f, scripts } = page();
  runHttp(f.env);
  const s = new Polysock('/engine.io', { env: f.env, transports: ['polling'] });
  f.clock.tick();
  assert.equal(scripts.length, 0);
  f.xhrs[0].respond(200, OPEN());
  assert.equal(s.readyState, 1);
});

test('IE6-10: readyState "loaded" after it ran is a load; without it, a failure', () => {
  const ok = page();
  const s = new ok.Polysock('/engine.io', { env: ok.f.env, transports: ['polling'] });
  ok.f.clock.tick();
  ok.scripts[0].ieLoaded(true);
  ok.f.xhrs[0].respond(200, OPEN());
  assert.equal(s.readyState, 1);

  const bad = page();
  const t = new bad.Polysock('/engine.io', { env: bad.f.env, transports: ['polling'] });
  const ev = record(t);
  bad.f.clock.tick();
  bad.scripts[0].ieLoaded(false);
  assert.deepEqual(ev.types(), ['error', 'close']);
});

for (const [how, fail] of [
  ['an error', (p) => p.scripts[0].fail()],
  ['no answer within 4 x timeout', (p, ev) => { p.f.clock.advance(3999); assert.deepEqual(ev.types(), []); p.f.clock.advance(1); }],
  ['a polysock-http.js of another build', (p) => p.scripts[0].load(HTTP.replace(/_polysock_http[0-9a-f]+/, '_polysock_http00000000'))],
]) {
  test(`polysock-http.js does not load (${how}): error, then close 1006 saying so; the next socket tries again`, () => {
    const p = page();
    const s = new p.Polysock('/engine.io', { env: p.f.env, transports: ['polling'], timeout: 1000 });
    const ev = record(s);
    p.f.clock.tick();
    fail(p, ev);
    assert.deepEqual(ev.types(), ['error', 'close']);
    assert.equal(ev[1].code, 1006);
    assert.equal(ev[1].reason, 'polysock-http.js did not load');
    assert.equal(ev[1].wasClean, false);
    assert.equal(s.readyState, 3);
    assert.equal(p.f.xhrs.length, 0);
    const again = new p.Polysock('/engine.io', { env: p.f.env, transports: ['polling'] });
    p.f.clock.tick();
    assert.equal(p.scripts.length, 2);
    // The first element's late events change nothing for the second load.
    p.scripts[0].fail();
    p.f.clock.advance(1000);
    assert.equal(again.readyState, 0);
    p.scripts[1].load();
    p.f.xhrs[0].respond(200, OPEN());
    assert.equal(again.readyState, 1);
  });
}

test('polysock-http.js does not load: websocket later in the list is still tried', () => {
  const p = page({ ws: true });
  p.f.env.localStorage.setItem('polysock:http://example.test/engine.io', 'polling');
  const s = new p.Polysock('/engine.io', { env: p.f.env });
  p.f.clock.tick();
  assert.equal(p.f.wss.length, 0, 'the remembered transport first');
  p.scripts[0].fail();
  assert.equal(p.f.wss.length, 1);
  p.f.wss[0].serverOpen();
  p.f.wss[0].serverSend(OPEN({ upgrades: [] }));
  assert.equal(s.readyState, 1);
  assert.equal(s.transport, 'websocket');
});

test('close() while polysock-http.js loads: closes as in CONNECTING, and the late load does nothing for it', () => {
  const p = page();
  const s = new p.Polysock('/engine.io', { env: p.f.env, transports: ['polling'] });
  const ev = record(s);
  p.f.clock.tick();
  s.close();
  p.f.clock.tick();
  assert.deepEqual(ev.types(), ['error', 'close']);
  p.scripts[0].load();
  assert.equal(p.f.xhrs.length, 0);
});

test('a worker (no document): importScripts(<mount>/polysock-http.js)', () => {
  const p = page({ document: undefined });
  const urls = [];
  p.f.env.importScripts = (u) => { urls.push(u); runHttp(p.f.env); };
  const s = new p.Polysock('http://example.test/engine.io', { env: p.f.env, transports: ['polling'] });
  p.f.clock.tick();
  assert.deepEqual(urls, ['http://example.test/engine.io/polysock-http.js']);
  p.f.xhrs[0].respond(200, OPEN());
  assert.equal(s.readyState, 1);
});

test('no JSON (IE6/7): the open packet, a close body and close()\'s body go through polysock-http.js\'s reader and writer', () => {
  const p = page({ noJSON: true });
  const s = new p.Polysock('/engine.io', ['chat'], { env: p.f.env, transports: ['polling'] });
  const ev = record(s);
  p.f.clock.tick();
  p.scripts[0].load();
  p.f.xhrs[0].respond(200, OPEN({ protocol: 'chat' }));
  assert.equal(s.readyState, 1);
  assert.equal(s.protocol, 'chat');
  s.close(4001, 'b\u00e9"');
  assert.equal(p.f.xhrs[2].body, '1{"code":4001,"reason":"b\\u00e9\\u0022"}');
  const t = new p.Polysock('/engine.io', { env: p.f.env, transports: ['polling'] });
  const tev = record(t);
  p.f.clock.tick();
  p.f.xhrs[3].respond(200, OPEN({ sid: 'S2' }));
  p.f.xhrs[4].respond(200, '1{"code":4002,"reason":"why"}');
  assert.deepEqual([tev[1].type, tev[1].code, tev[1].reason], ['close', 4002, 'why']);
  assert.deepEqual(ev.types(), ['open']);
});

test('no JSON: polysock-http.js comes first even for websocket (its reader reads the open packet); if it does not load, nothing is tried', () => {
  const p = page({ noJSON: true, ws: true });
  const s = new p.Polysock('/engine.io', { env: p.f.env, transports: ['websocket'] });
  p.f.clock.tick();
  assert.equal(p.f.wss.length, 0);
  p.scripts[0].load();
  assert.equal(p.f.wss.length, 1);
  p.f.wss[0].serverOpen();
  p.f.wss[0].serverSend(OPEN({ upgrades: [] }));
  assert.equal(s.readyState, 1);

  const q = page({ noJSON: true, ws: true });
  const t = new q.Polysock('/engine.io', { env: q.f.env });
  const ev = record(t);
  q.f.clock.tick();
  q.scripts[0].fail();
  assert.equal(q.f.wss.length, 0);
  assert.deepEqual(ev.types(), ['error', 'close']);
  assert.equal(ev[1].reason, 'polysock-http.js did not load');
});
