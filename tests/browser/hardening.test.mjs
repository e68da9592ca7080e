// Issue 12, item 1 (htmlfile callback injection) and the echo example's
// half of item 8 (U+001E), in headless Chromium against the echo example.
//
// The attacker opens an htmlfile session from Node, reads its open packet
// and drops the stream, then POSTs a message the echo queues for the
// session: text that is JavaScript after the packet's type digit
// ("4;window.__pwned=1"). A victim's browser is then sent, top-level, to
// <mount>?EIO=4&transport=htmlfile&ext=1&sid=S&c=eval (or c=setTimeout).
// Before the fix the document bound `p = parent.eval` and every chunk
// p("4;...") ran the message as script. Now the response must be refused
// and nothing from the message may run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, launchBrowser } from './support.mjs';

const PAYLOAD = ';window.__pwned=1';
const WAIT_MS = 10000;

let srv;
let browser;
before(async () => {
  srv = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await srv?.stop();
});

// A GET whose body is read until `done(text)` holds; then the connection is
// dropped. Resolves { status, headers, text }.
function getUntil(url, done) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { req.destroy(); reject(new Error(`GET ${url}: no answer in time`)); }, WAIT_MS);
    const req = http.get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      const finish = () => { clearTimeout(timer); req.destroy(); resolve({ status: res.statusCode, headers: res.headers, text }); };
      res.on('data', (d) => { text += d; if (done(text)) finish(); });
      res.on('end', finish);
      res.on('error', () => finish());
    });
    req.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

async function post(url, body) {
  const res = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
  return { status: res.status, text: await res.text() };
}

// An htmlfile session with `message` echoed into its queue and no receiver
// attached: the sid.
async function sessionHolding(message) {
  const opened = await getUntil(`${srv.mount}/?EIO=4&transport=htmlfile&ext=1&c=1`, (t) => /[0-9a-f]{32}/.test(t.slice(1024)));
  assert.equal(opened.status, 200, opened.text);
  const sid = /[0-9a-f]{32}/.exec(opened.text.slice(1024))[0];
  const reply = await post(`${srv.mount}/?EIO=4&transport=htmlfile&ext=1&sid=${sid}`, '4' + message);
  assert.equal(reply.status, 200, reply.text);
  return sid;
}

// Navigates a fresh page top-level to the htmlfile URL for a session whose
// queue holds the payload; waits until the payload ran or the document is
// complete. Returns { status, pwned }.
async function navigateTopLevel(callback) {
  const sid = await sessionHolding(PAYLOAD);
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const url = `${srv.mount}/?EIO=4&transport=htmlfile&ext=1&sid=${sid}&c=${callback}`;
    const response = await page.goto(url, { waitUntil: 'commit', timeout: WAIT_MS });
    await page.waitForFunction(() => window.__pwned === 1 || document.readyState === 'complete', null, { timeout: WAIT_MS });
    // Timers queued by the document run before one queued after them.
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
    const pwned = await page.evaluate(() => window.__pwned);
    return { status: response.status(), pwned };
  } finally {
    await context.close();
  }
}

for (const callback of ['eval', 'setTimeout']) {
  test(`a top-level link to htmlfile with c=${callback} runs nothing from the message and is refused`, async () => {
    const { status, pwned } = await navigateTopLevel(callback);
    console.log(`item1: top-level c=${callback}: status ${status}, window.__pwned ${pwned}`);
    assert.equal(pwned, undefined, 'script from the queued message ran');
    assert.ok(status === 403 || status === 400, `refused, got ${status}`);
  });
}

test('a top-level link with a valid callback index is refused with 403 (Sec-Fetch-Dest: document)', async () => {
  const { status, pwned } = await navigateTopLevel('7');
  console.log(`item1: top-level c=7: status ${status}, window.__pwned ${pwned}`);
  assert.equal(pwned, undefined);
  assert.equal(status, 403);
});

test('an htmlfile response carries a CSP without unsafe-eval', async () => {
  const sid = await sessionHolding('hello');
  const res = await getUntil(`${srv.mount}/?EIO=4&transport=htmlfile&ext=1&sid=${sid}&c=1`, (t) => t.includes('4hello'));
  const csp = res.headers['content-security-policy'] || '';
  console.log(`item1: htmlfile CSP: ${csp}`);
  assert.equal(res.status, 200);
  assert.match(csp, /script-src/);
  assert.doesNotMatch(csp, /unsafe-eval/);
});

// A page of another origin (a second server on another port) frames the
// htmlfile document of a victim's session: the frame's GET is refused, and
// the message queued for the victim is still there for the victim's own
// (non-browser, no Sec-Fetch) request.
test('a page of another origin cannot attach to a session by framing its htmlfile document', async () => {
  const sid = await sessionHolding('secret for the victim');
  const target = `${srv.mount}/?EIO=4&transport=htmlfile&ext=1&sid=${sid}&c=0`;
  // The other origin's page registers the callbacks the document would call.
  const foreign = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html><script>
      window.__got = [];
      window._polysock_cb = { c0: function (t) { window.__got.push(t); } };
      window.got = function (t) { window.__got.push(t); };
      </script><iframe src="${target}"></iframe>`);
  });
  await new Promise((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  const foreignUrl = `http://localhost:${foreign.address().port}/`;
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const framed = page.waitForResponse((r) => r.url().includes('transport=htmlfile'), { timeout: WAIT_MS });
    await page.goto(foreignUrl, { waitUntil: 'commit', timeout: WAIT_MS });
    const status = (await framed).status();
    const got = await page.evaluate(() => window.__got);
    console.log(`item1: htmlfile framed by ${foreignUrl}: status ${status}, callbacks got ${JSON.stringify(got)}`);
    assert.equal(status, 403, 'the framed GET from another origin is refused');
    assert.deepEqual(got, []);
  } finally {
    await context.close();
    foreign.close();
  }
  const mine = await getUntil(`${srv.mount}/?EIO=4&transport=htmlfile&ext=1&sid=${sid}&c=0`, (t) => t.includes('secret'));
  assert.equal(mine.status, 200);
  assert.ok(mine.text.includes('4secret for the victim'), 'the message is still queued for the victim');
});

// Item 8: text holding U+001E cannot travel on polling, so the echo's
// `send` refuses it; the example must report it and keep echoing.
test('the echo example keeps echoing after a message holding U+001E', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${srv.url}/client.html`);
    const wsUrl = srv.mount.replace(/^http/, 'ws') + '/?EIO=4&transport=websocket';
    const got = await page.evaluate(({ url, waitMs }) => new Promise((resolve) => {
      const seen = [];
      const ws = new WebSocket(url);
      const timer = setTimeout(() => { ws.close(); resolve(seen); }, waitMs);
      ws.onmessage = (e) => {
        seen.push(e.data);
        if (e.data[0] === '0') {
          ws.send('4a\u001eb');
          ws.send('4after');
        } else if (e.data === '2') {
          ws.send('3');
        } else if (e.data === '4after') {
          clearTimeout(timer);
          ws.close();
          resolve(seen);
        }
      };
    }), { url: wsUrl, waitMs: 5000 });
    console.log(`item8: echo after U+001E: frames ${JSON.stringify(got.slice(1))}`);
    assert.ok(got.includes('4after'), `the echo answered the next message: ${JSON.stringify(got)}`);
    assert.ok(!got.some((m) => m.includes('\u001e')), 'U+001E was not sent');
  } finally {
    await context.close();
  }
});
