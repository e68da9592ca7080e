// The stock sockjs-client (npm, 1.6.x) in headless Chromium against the
// SockJS endpoint of the echo example (`--sockjs`), the page and the client
// script served by that server. Each transport is forced in turn; each run
// opens, echoes 1,000 messages in order (with `</script>`, U+2028 and lone
// surrogates in them), then has the server close with a code and a reason
// full of the same hostile text, which the close event must show intact.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, startServer, launchBrowser } from '../browser/support.mjs';

const SOCKJS_JS = path.join(REPO, 'node_modules', 'sockjs-client', 'dist', 'sockjs.min.js');
const TRANSPORTS = ['websocket', 'xhr-streaming', 'eventsource', 'iframe-htmlfile', 'xhr-polling', 'jsonp-polling'];
const COUNT = 1000;
const CLOSE_REASON = 'bye </script><!-- \u2028 "\\';

// Message i: its number, then one kind of hostile text.
function message(i) {
  const hostile = ['</script><script>x()</script>', '\u2028\u2029', 'lone \ud800 high', 'lone \udc00 low',
    'pair \ud83d\ude00', '"\\\'\u0000\u001e\u00ad\ufeff\uffff'];
  return `${i} ${hostile[i % hostile.length]}`;
}

let srv;
let browser;
let root;

before(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'polysock-sockjs-'));
  copyFileSync(SOCKJS_JS, path.join(root, 'sockjs.min.js'));
  writeFileSync(path.join(root, 'sockjs.html'),
    '<!doctype html><meta charset="utf-8"><title>sockjs</title><script src="/sockjs.min.js"></script>\n');
  srv = await startServer(['--static', root, '--sockjs', '--sockjs-url', '/sockjs.min.js']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

// Runs in the page: open on `transport`, send every message, wait for every
// echo, ask the server to close, report what happened.
function echoRun({ base, transport, messages, reason }) {
  return new Promise((resolve) => {
    const result = { opened: false, transport: null, got: [], code: null, reason: null, errors: [] };
    const sock = new SockJS(base + '/echo', null, { transports: [transport] });
    const timer = setTimeout(() => { result.errors.push('timed out'); resolve(result); }, 60000);
    sock.onopen = () => {
      result.opened = true;
      result.transport = sock.transport;
      for (const m of messages) sock.send(m);
    };
    sock.onmessage = (e) => {
      result.got.push(e.data);
      if (result.got.length === messages.length) sock.send('@close 4000 ' + reason);
    };
    sock.onclose = (e) => {
      clearTimeout(timer);
      result.code = e.code;
      result.reason = e.reason;
      resolve(result);
    };
  });
}

for (const transport of TRANSPORTS) {
  test(`sockjs-client on ${transport}: open, ${COUNT} echoes in order, the server's close`, async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const pageErrors = [];
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      await page.goto(`${srv.url}/sockjs.html`);
      const messages = Array.from({ length: COUNT }, (_, i) => message(i));
      const result = await page.evaluate(echoRun, { base: srv.url, transport, messages, reason: CLOSE_REASON });
      assert.deepEqual(result.errors, []);
      assert.ok(result.opened, 'opened');
      assert.equal(result.transport, transport);
      assert.equal(result.got.length, COUNT);
      // What arrives is what was sent, lone surrogates made U+FFFD (as a
      // browser's own UTF-8 encoding would make them).
      assert.deepEqual(result.got, messages.map((m) => m.toWellFormed()));
      assert.equal(result.code, 4000);
      assert.equal(result.reason, CLOSE_REASON);
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  });
}
