// The chat example as a person uses it, in headless Chromium: two pages,
// one forced to htmlfile and one on websocket, set nicknames, join the same
// room through the form, and see each other's messages and notices; the
// transport each page shows is the one it uses. Screenshots go to
// test-artifacts/ (not committed).
//
// The server is $POLYSOCK_CHAT_BIN or <repo>/target/debug/examples/chat
// (`cargo build --examples`), started on 127.0.0.1:0. No fixed ports, no
// sleeps: every wait is for a condition, with a timeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO, launchBrowser } from './support.mjs';

const CHAT_BIN = process.env.POLYSOCK_CHAT_BIN || path.join(REPO, 'target', 'debug', 'examples', 'chat');
const ARTIFACTS = path.join(REPO, 'test-artifacts');
const WAIT = 15000;

let srv, browser;

function startChat({ startupMs = 20000 } = {}) {
  if (!existsSync(CHAT_BIN)) {
    return Promise.reject(new Error(`no chat server at ${CHAT_BIN}: run \`cargo build --examples\` (or set POLYSOCK_CHAT_BIN)`));
  }
  const proc = spawn(CHAT_BIN, ['--listen', '127.0.0.1:0'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-65536); });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`chat server said nothing within ${startupMs} ms`)), startupMs);
    function fail(err) {
      clearTimeout(timer);
      proc.kill();
      reject(new Error(`${err.message}\nstderr:\n${stderr}`));
    }
    proc.once('exit', (code) => fail(new Error(`chat server exited (${code}) before listening`)));
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', function onData(d) {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      proc.stdout.off('data', onData);
      proc.stdout.resume();
      const m = /^listening on (http:\/\/\S+)/.exec(out.slice(0, nl));
      if (!m) return fail(new Error(`unexpected first line: ${out.slice(0, nl)}`));
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({
        url: m[1],
        stderr: () => stderr,
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  [srv, browser] = await Promise.all([startChat(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

// Opens the chat in a fresh context; `search` is the page's query string.
async function openChat(search) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(`${srv.url}/${search}`);
  page.closeAll = () => context.close();
  return page;
}

async function setNick(page, nick) {
  await page.fill('#nick', nick);
  await page.click('#nick-set');
  await page.waitForFunction((n) => document.getElementById('nick').value === n
    && /is now/.test(document.getElementById('logs').textContent), nick);
}

async function joinRoom(page, room) {
  await page.fill('#room-name', room);
  await page.click('#join');
  await page.waitForFunction((r) => document.getElementById('current-room').textContent === '#' + r, room);
}

async function say(page, text) {
  await page.waitForSelector('#text:not([disabled])');
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// The lines of a room's log, as the person reads them.
function lines(page, room) {
  return page.$$eval(`#log-${room} .line`, (nodes) => nodes.map((n) => ({
    kind: n.className,
    nick: (n.querySelector('.nick') || {}).textContent || null,
    text: (n.querySelector('.text') || {}).textContent || n.textContent,
  })));
}

function waitForMessage(page, room, nick, text) {
  return page.waitForFunction(([r, n, t]) => {
    const nodes = document.querySelectorAll(`#log-${r} .line.message`);
    for (const node of nodes) {
      if (node.querySelector('.nick').textContent === n && node.querySelector('.text').textContent === t) return true;
    }
    return false;
  }, [room, nick, text]);
}

test('two pages, htmlfile and websocket, chat in the same room', async () => {
  const legacy = await openChat('?transport=htmlfile');
  const modern = await openChat('?transport=websocket');
  try {
    for (const [page, transport] of [[legacy, 'htmlfile'], [modern, 'websocket']]) {
      await page.waitForFunction(() => document.getElementById('status').textContent === 'open');
      await page.waitForFunction((t) => document.getElementById('transport').textContent === t, transport);
      assert.equal(await page.textContent('#protocol'), 'chat', 'the chat subprotocol is negotiated');
      assert.equal(await page.inputValue('#force'), transport, 'the forced transport is selected');
      assert.equal(await page.evaluate(() => window.Polysock && typeof window.Polysock.version), 'string',
        'the page uses the bundled client');
    }
    // Both start in the lobby.
    await legacy.waitForFunction(() => document.getElementById('current-room').textContent === '#lobby');

    await setNick(legacy, 'ada');
    await setNick(modern, 'grace');
    await joinRoom(legacy, 'rust');
    await joinRoom(modern, 'rust');
    await legacy.waitForFunction(() => /grace joined/.test(document.getElementById('log-rust').textContent));
    await legacy.waitForFunction(() => document.getElementById('members').textContent === 'ada, grace');

    // Each sees the other's messages; text that looks like HTML stays text.
    await say(legacy, 'hello from htmlfile');
    await waitForMessage(modern, 'rust', 'ada', 'hello from htmlfile');
    const markup = '<b>bold?</b> & <img src=x onerror=alert(1)>';
    await say(modern, markup);
    await waitForMessage(legacy, 'rust', 'grace', markup);
    await waitForMessage(legacy, 'rust', 'ada', 'hello from htmlfile');
    assert.equal(await legacy.$$eval('#log-rust b, #log-rust img', (n) => n.length), 0, 'no markup from user text');

    // The lobby did not get the rust room's messages.
    assert.equal((await lines(modern, 'lobby')).filter((l) => l.kind.includes('message')).length, 0);

    // Still on the forced transports after talking.
    assert.equal(await legacy.textContent('#transport'), 'htmlfile');
    assert.equal(await modern.textContent('#transport'), 'websocket');
    assert.equal(await legacy.evaluate(() => document.getElementById('transport').getAttribute('data-transport')), 'htmlfile');

    await legacy.screenshot({ path: path.join(ARTIFACTS, 'chat-htmlfile.png'), fullPage: true });
    await modern.screenshot({ path: path.join(ARTIFACTS, 'chat-websocket.png'), fullPage: true });

    // One leaves: the other sees the notice and the member list shrink.
    await modern.click('#leave');
    await legacy.waitForFunction(() => /grace left/.test(document.getElementById('log-rust').textContent));
    await legacy.waitForFunction(() => document.getElementById('members').textContent === 'ada');
    await modern.waitForFunction(() => !document.getElementById('log-rust'));

    assert.deepEqual(legacy.errors, []);
    assert.deepEqual(modern.errors, []);
  } finally {
    await legacy.closeAll();
    await modern.closeAll();
  }
});

test('without a forced transport the page shows the one in use, and a page going away is noticed', async () => {
  const watcher = await openChat('?nick=lin&room=random');
  const visitor = await openChat('?nick=max&room=random');
  try {
    await watcher.waitForFunction(() => /max joined/.test((document.getElementById('log-random') || {}).textContent || ''));
    // Best available in Chromium: websocket, directly or by upgrade.
    await visitor.waitForFunction(() => document.getElementById('transport').textContent === 'websocket');
    await visitor.screenshot({ path: path.join(ARTIFACTS, 'chat-auto.png'), fullPage: true });
    await visitor.closeAll();
    await watcher.waitForFunction(() => /max left/.test(document.getElementById('log-random').textContent));
    assert.deepEqual(watcher.errors, []);
  } finally {
    await watcher.closeAll();
  }
});
