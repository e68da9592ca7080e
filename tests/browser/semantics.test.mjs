// WebSocket semantics in Chromium (issue 13): Polysock beside the browser's
// own WebSocket in the same page, compared case by case where both can run
// (attributes, exceptions, URL handling), and the behaviours the issue names
// checked against the echo server. The same rules on fakes, one test per
// deviation: client-js/test/semantics.test.js. Also: a page whose CSP
// forbids eval works on every transport, also without a native JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './support.mjs';

const TRANSPORTS = ['websocket', 'xhr-streaming', 'htmlfile', 'polling'];
let srv, browser;

before(async () => {
  [srv, browser] = await Promise.all([startServer(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function withPage(opts, body) {
  const page = await openPage(browser, srv, opts);
  try {
    await body(page);
  } finally {
    await page.close();
  }
}

// Runs `cases` (strings of code using `C`, the constructor, and `u`, the
// mount URL) against window[name]; each gives its value or the name of
// what it threw. Runs in the page.
function compare([cases, name]) {
  const C = window[name];
  {
    const u = location.origin + '/engine.io';
    const made = [];
    const out = cases.map((code) => {
      try {
        // eslint-disable-next-line no-new-func
        const v = new Function('C', 'u', 'made', code)(C, u, made);
        return typeof v === 'function' ? 'function' : v === undefined ? 'undefined' : JSON.stringify(v);
      } catch (e) {
        return 'threw ' + e.name;
      }
    });
    made.forEach((s) => { try { s.close(); } catch (e) { /* closing */ } });
    return out;
  }
}

const ATTRIBUTE_CASES = [
  'var s = new C(u); made.push(s); return s.url',
  'var s = new C(u + "/a b?q=c d"); made.push(s); return s.url',
  'var s = new C(u.replace("http", "HTTP")); made.push(s); return s.url',
  'var s = new C("/engine.io"); made.push(s); return s.url',
  'var s = new C("engine.io"); made.push(s); return s.url',
  'var s = new C("http:engine.io"); made.push(s); return s.url',
  'var s = new C("http:/engine.io"); made.push(s); return s.url',
  'var s = new C(location.origin); made.push(s); return s.url',
  'return new C(u + "#frag")',
  'return new C(u + "#")',
  'return new C("ftp://127.0.0.1/")',
  'return new C("http://[::1")',
  'return new C()',
  'return new C(u, ["a b"])',
  'return new C(u, ["chat", "chat"])',
  'var s = new C(u); made.push(s); s.onmessage = "x"; return s.onmessage',
  'var s = new C(u); made.push(s); s.onmessage = 5; return s.onmessage',
  'var s = new C(u); made.push(s); s.onmessage = function () {}; return s.onmessage',
  'var s = new C(u); made.push(s); s.onclose = {}; return s.onclose',
  'var s = new C(u); made.push(s); s.onerror = function () {}; s.onerror = undefined; return s.onerror',
  'var s = new C(u); made.push(s); s.binaryType = "bogus"; return s.binaryType',
  'var s = new C(u); made.push(s); s.binaryType = "arraybuffer"; s.binaryType = "bogus"; return s.binaryType',
  'var s = new C(u); made.push(s); s.readyState = 3; return s.readyState',
  'var s = new C(u); made.push(s); s.bufferedAmount = 7; return s.bufferedAmount',
  'var s = new C(u); made.push(s); return [s.protocol, s.extensions, s.bufferedAmount, s.readyState]',
  '"use strict"; var s = new C(u); made.push(s); s.readyState = 3',
  'var s = new C(u); made.push(s); return s.send()',
  'var s = new C(u); made.push(s); return s.send("x")',
  'var s = new C(u); made.push(s); return s.close(999)',
  'var s = new C(u); made.push(s); return s.close(1001)',
  'var s = new C(u); made.push(s); return s.close(NaN)',
  'var s = new C(u); made.push(s); return s.close(4000, "x".repeat(124))',
  'var s = new C(u); made.push(s); return s.close(4000, "\\udc00".repeat(42))',
  'var s = new C(u); made.push(s); s.close(4000, "\\udc00".repeat(41)); return s.readyState',
  'var s = new C(u); made.push(s); s.close(); return s.readyState',
  'var s = new C(u); made.push(s); return s.dispatchEvent(new Event("x"))',
  'var s = new C(u); made.push(s); s.addEventListener("x", function (e) { e.preventDefault(); }); ' +
    'return s.dispatchEvent(new Event("x", { cancelable: true }))',
  'var s = new C(u); made.push(s); var t = []; s.addEventListener("x", function (e) { t.push(e.target === s, e.currentTarget === s, e.isTrusted); }); ' +
    's.dispatchEvent(new Event("x")); return t',
  'var s = new C(u); made.push(s); var n = 0; s.addEventListener("x", function () { n++; }, { once: true }); ' +
    's.dispatchEvent(new Event("x")); s.dispatchEvent(new Event("x")); return n',
  'var s = new C(u); made.push(s); var t = []; s.addEventListener("x", function (e) { t.push(1); e.stopImmediatePropagation(); }); ' +
    's.addEventListener("x", function () { t.push(2); }); s.dispatchEvent(new Event("x")); return t',
  'var s = new C(u); made.push(s); return [s instanceof EventTarget, C.OPEN, s.CLOSED, "onopen" in s, "url" in s]',
  'class S extends C { hi() { return 1; } } var s = new S(u); made.push(s); return [s instanceof S, s instanceof C, s.hi(), s.readyState]',
];

test('Polysock answers as WebSocket does: URLs, attributes, handler attributes, exceptions, dispatchEvent', () =>
  withPage({}, async (page) => {
    const ws = await page.evaluate(compare, [ATTRIBUTE_CASES, 'WebSocket']);
    const ps = await page.evaluate(compare, [ATTRIBUTE_CASES, 'Polysock']);
    const diffs = ATTRIBUTE_CASES.map((c, i) => [c, ws[i], ps[i]]).filter(([, a, b]) => a !== b);
    assert.deepEqual(diffs, []);
    // And the cases say what they should (not merely the same).
    assert.equal(ps[0], JSON.stringify(srv.mount.replace('http', 'ws')));
    assert.equal(ps[8], 'threw SyntaxError');
    assert.equal(ps[12], 'threw TypeError');
    assert.equal(ps[15], 'null');
    assert.equal(ps[20], '"blob"');
  }));

test('onopen runs in its place among the listeners; a throwing listener is reported and the rest still run', () =>
  withPage({}, async (page) => {
    const order = await page.evaluate(() => new Promise((resolve) => {
      const s = new Polysock(location.origin + '/engine.io', [], { transports: ['websocket'] });
      const seen = [];
      s.addEventListener('open', () => seen.push('listener 1'));
      s.onopen = () => { seen.push('onopen'); throw new Error('app bug'); };
      s.addEventListener('open', () => { seen.push('listener 2'); resolve(seen); });
    }));
    assert.deepEqual(order, ['listener 1', 'onopen', 'listener 2']);
    await page.waitForFunction(() => true);
    assert.deepEqual(page.errors.map((e) => e.message), ['app bug']);
  }));

test('bufferedAmount on websocket: counted at send(), zero on a later task once sent', () =>
  withPage({}, async (page) => {
    const o = await page.evaluate(() => T.open({ transports: ['websocket'] }));
    const r = await page.evaluate((id) => {
      const s = T.get(id);
      s.send('12345');
      s.send(new Uint8Array(10));
      const now = s.bufferedAmount;
      return new Promise((resolve) => {
        const t0 = performance.now();
        (function poll() {
          if (s.bufferedAmount === 0 || performance.now() - t0 > 5000) resolve([now, s.bufferedAmount]);
          else setTimeout(poll, 1);
        }());
      });
    }, o.id);
    assert.deepEqual(r, [15, 0]);
    assert.deepEqual(page.errors.map(String), []);
  }));

test('a close reason with a lone surrogate reaches the server as U+FFFD', () =>
  withPage({}, async (page) => {
    const o = await page.evaluate(() => T.open({ transports: ['polling'] }));
    const sid = (await page.evaluate((id) => T.hook(id, '@id', '@id '), o.id)).slice(4);
    const ev = await page.evaluate((id) => { T.get(id).close(4000, 'a\ud800b'); return T.closed(id); }, o.id);
    assert.deepEqual(ev, { code: 4000, reason: 'a\ufffdb', wasClean: true });
    const other = await page.evaluate(() => T.open({ transports: ['websocket'] }));
    const why = await page.evaluate(async ([id, sid]) => {
      const deadline = performance.now() + 5000;
      let r;
      do r = await T.hook(id, '@whyclosed ' + sid, '@closed');
      while (r === '@closed null' && performance.now() < deadline);
      return r;
    }, [other.id, sid]);
    assert.deepEqual(JSON.parse(why.slice('@closed '.length)), { code: 4000, reason: 'a\ufffdb' });
  }));

for (const name of TRANSPORTS) {
  test(`a page with Content-Security-Policy: script-src 'self' and no JSON object works on ${name}`, () =>
    withPage({ page: 'csp.html', init: () => { window.cspViolations = []; document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push(e.violatedDirective)); } }, async (page) => {
      assert.deepEqual(await page.evaluate(() => window.cspBlocks), ['eval', 'Function'], 'the policy is in force');
      // The probe's own two attempts were refused; from here on, none may be.
      await page.evaluate(() => { window.cspViolations = []; delete window.JSON; });
      const o = await page.evaluate((t) => T.open({ transports: [t], protocols: [] }), name);
      assert.equal(o.transport, name);
      const got = await page.evaluate((id) => T.roundTrip(id, ['a', 'b "quoted"', '</script>']), o.id);
      assert.deepEqual(got, ['a', 'b "quoted"', '</script>']);
      const ev = await page.evaluate((id) => { T.get(id).send('@close 4002 why not'); return T.closed(id); }, o.id);
      assert.deepEqual(ev, { code: 4002, reason: 'why not', wasClean: true });
      assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
      assert.deepEqual(page.errors.map(String), []);
    }));
}
