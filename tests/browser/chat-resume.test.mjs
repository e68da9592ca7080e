// The chat example survives the network going away (issue 14): two
// Chromium pages chat in one room; one page's context goes offline for
// 10 s, longer than the ping timeout, so both the server and that page
// notice the loss; both keep saying lines meanwhile; back online, every line
// of both arrives on both pages exactly once and in its sender's order, and
// nothing closed (no "closed" status on either page, no left/joined notice).
//
// The server is $POLYSOCK_CHAT_BIN or <repo>/target/debug/examples/chat
// (`cargo build --examples`), on 127.0.0.1:0, with a 1 s ping interval and
// timeout. The offline time is the scenario, not a synchronisation: every
// wait for a result is for a condition, with a timeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO, launchBrowser } from './support.mjs';
import { idle } from '../support/wait.mjs';

const CHAT_BIN = process.env.POLYSOCK_CHAT_BIN || path.join(REPO, 'target', 'debug', 'examples', 'chat');
const WAIT = 30000;
const OFFLINE_MS = 10000;
const PING = ['--ping-interval', '1000', '--ping-timeout', '1000'];

let srv, browser;

function startChat(args, { startupMs = 20000 } = {}) {
  if (!existsSync(CHAT_BIN)) {
    return Promise.reject(new Error(`no chat server at ${CHAT_BIN}: run \`cargo build --examples\``));
  }
  const proc = spawn(CHAT_BIN, ['--listen', '127.0.0.1:0', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
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
  [srv, browser] = await Promise.all([startChat(PING), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

// A chat page in its own context; every #status text it shows is recorded.
async function openChat(search) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(`${srv.url}/${search}`);
  await page.evaluate(() => {
    const status = document.getElementById('status');
    window.statuses = [status.textContent];
    new MutationObserver(() => window.statuses.push(status.textContent))
      .observe(status, { childList: true, characterData: true, subtree: true });
  });
  await page.waitForFunction(() => document.getElementById('status').textContent === 'open');
  return page;
}

// Says a line through the page's form (the person's way).
async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// The room's message lines as [nick, text], and its notices.
function log(page, room) {
  return page.evaluate((r) => {
    const out = { messages: [], notices: [] };
    for (const node of document.querySelectorAll(`#log-${r} .line`)) {
      if (node.classList.contains('message')) {
        out.messages.push([node.querySelector('.nick').textContent, node.querySelector('.text').textContent]);
      } else {
        out.notices.push(node.textContent);
      }
    }
    return out;
  }, room);
}

async function waitForLines(page, room, count) {
  await page.waitForFunction(
    ([r, n]) => document.querySelectorAll(`#log-${r} .line.message`).length >= n,
    [room, count],
  );
}

for (const transport of ['websocket', 'htmlfile']) {
  test(`chat: a page on ${transport} offline for ${OFFLINE_MS / 1000} s loses no line, either way, and nothing closes`, async () => {
    const away = await openChat(`?nick=ada&room=rust&transport=${transport}`);
    const stays = await openChat('?nick=grace&room=rust');
    try {
      await away.waitForFunction(() => /grace joined/.test((document.getElementById('log-rust') || {}).textContent || ''));
      await away.waitForFunction((t) => document.getElementById('transport').textContent === t, transport);
      const sent = { ada: [], grace: [] };
      const line = async (page, nick, text) => {
        sent[nick].push(text);
        await say(page, text);
      };
      await line(away, 'ada', 'before, from ada');
      await line(stays, 'grace', 'before, from grace');
      await waitForLines(away, 'rust', 2);
      await waitForLines(stays, 'rust', 2);
      const noticesBefore = [(await log(away, 'rust')).notices, (await log(stays, 'rust')).notices];

      await away.context().setOffline(true);
      const start = Date.now();
      for (let i = 1; Date.now() - start < OFFLINE_MS; i++) {
        await line(away, 'ada', `offline ${i}, from ada`);
        await line(stays, 'grace', `offline ${i}, from grace`);
        await idle(1000);
      }
      // Both sides saw the loss: the away page is still "open" (resuming),
      // and what it said is not through yet.
      assert.equal(await away.textContent('#status'), 'open');
      assert.ok((await log(stays, 'rust')).messages.length < sent.ada.length + sent.grace.length,
        'the offline page\'s lines got through while offline: nothing was tested');
      await away.context().setOffline(false);
      await line(away, 'ada', 'after, from ada');
      await line(stays, 'grace', 'after, from grace');

      const total = sent.ada.length + sent.grace.length;
      for (const [i, page] of [away, stays].entries()) {
        await waitForLines(page, 'rust', total);
        const { messages, notices } = await log(page, 'rust');
        for (const nick of ['ada', 'grace']) {
          assert.deepEqual(messages.filter(([n]) => n === nick).map(([, t]) => t), sent[nick],
            `${nick}'s lines, each once and in order`);
        }
        assert.equal(messages.length, total, JSON.stringify(messages));
        assert.deepEqual(notices, noticesBefore[i], 'no notice since: no one left or joined again');
        const statuses = await page.evaluate(() => window.statuses);
        assert.ok(!statuses.some((s) => /closed/.test(s)), `the socket never closed: ${JSON.stringify(statuses)}`);
        assert.deepEqual(page.errors, []);
      }
    } catch (err) {
      process.stderr.write(`chat server stderr:\n${srv.stderr()}\n`);
      throw err;
    } finally {
      await away.context().close();
      await stays.context().close();
    }
  });
}
