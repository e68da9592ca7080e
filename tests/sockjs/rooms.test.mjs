// One room, three client libraries: the chat example with a sockjs-client
// page (`/?client=sockjs`, headless Chromium), a Polysock client page
// (Chromium) and the stock engine.io-client (Node) in the room "lobby".
// One message said in the room is one broadcast: each of the three gets it
// exactly once. The chat server is <repo>/target/debug/examples/chat
// (`cargo build --examples`) on 127.0.0.1:0; every wait is for a
// condition, with a timeout.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Socket } from 'engine.io-client';
import { REPO, launchBrowser } from '../browser/support.mjs';

const CHAT_BIN = process.env.POLYSOCK_CHAT_BIN || path.join(REPO, 'target', 'debug', 'examples', 'chat');
const SOCKJS_JS = path.join(REPO, 'node_modules', 'sockjs-client', 'dist', 'sockjs.min.js');
const WAIT = 15000;

let srv;
let browser;

function startChat() {
  if (!existsSync(CHAT_BIN)) {
    return Promise.reject(new Error(`no chat server at ${CHAT_BIN}: run \`cargo build --examples\``));
  }
  const proc = spawn(CHAT_BIN, ['--listen', '127.0.0.1:0', '--sockjs-client', SOCKJS_JS],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-65536); });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill(); reject(new Error(`chat silent; stderr:\n${stderr}`)); }, 20000);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chat exited (${code}); stderr:\n${stderr}`)); });
    let out = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', function onData(d) {
      out += d;
      const m = /^listening on (http:\/\/\S+)\n/.exec(out);
      if (!m) return;
      proc.stdout.off('data', onData);
      proc.stdout.resume();
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({
        url: m[1],
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

before(async () => {
  [srv, browser] = await Promise.all([startChat(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
});

async function openChat(search) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(`${srv.url}/${search}`);
  page.closeAll = () => context.close();
  await page.waitForFunction(() => document.getElementById('status').textContent === 'open');
  return page;
}

// How many message lines of `room` in the page say `text`.
function countInPage(page, room, text) {
  return page.$$eval(`#log-${room} .line.message .text`,
    (nodes, t) => nodes.filter((n) => n.textContent === t).length, text);
}

// The engine.io-client side: every chat event it got, and a wait for one.
function openEngineIo() {
  const socket = new Socket(srv.url, { path: '/engine.io' });
  const events = [];
  const waiters = [];
  socket.on('message', (data) => {
    const event = JSON.parse(data);
    events.push(event);
    for (const w of waiters.slice()) if (w.match(event)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(event); }
  });
  return {
    socket,
    events,
    send(object) { socket.send(JSON.stringify(object)); },
    waitFor(match, what) {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`engine.io-client never got ${what}`)), WAIT);
        waiters.push({ match, resolve: (e) => { clearTimeout(timer); resolve(e); } });
      });
    },
  };
}

test('a sockjs-client, a Polysock client and an engine.io-client in one room: one broadcast reaches each once', async () => {
  const sockjsPage = await openChat('?client=sockjs&nick=sj&room=lobby');
  const polysockPage = await openChat('?nick=ps&room=lobby');
  const eio = openEngineIo();
  try {
    // The sockjs page really is on sockjs-client (its transport names).
    const sockjsTransport = await sockjsPage.evaluate(() => typeof SockJS === 'function'
      && document.getElementById('transport').textContent);
    assert.ok(['websocket', 'xhr-streaming', 'eventsource', 'xhr-polling'].includes(sockjsTransport), sockjsTransport);
    await eio.waitFor((e) => e.type === 'welcome', 'welcome');
    eio.send({ type: 'nick', nick: 'eio' });
    eio.send({ type: 'join', room: 'lobby' });
    // Everyone is in: each member list names the three.
    await eio.waitFor((e) => e.type === 'joined' && e.room === 'lobby'
      && ['eio', 'ps', 'sj'].every((n) => (e.members || []).includes(n)), 'the three in lobby');
    for (const page of [sockjsPage, polysockPage]) {
      await page.waitForFunction(() => document.getElementById('members').textContent === 'eio, ps, sj');
    }

    eio.send({ type: 'say', room: 'lobby', text: 'one broadcast' });
    // Then a second message: a duplicate of the first would come before it.
    eio.send({ type: 'say', room: 'lobby', text: 'the end' });
    await eio.waitFor((e) => e.type === 'message' && e.text === 'the end', 'the end');
    for (const page of [sockjsPage, polysockPage]) {
      await page.waitForFunction(() => Array.from(document.querySelectorAll('#log-lobby .line.message .text'))
        .some((n) => n.textContent === 'the end'));
    }
    const inEio = eio.events.filter((e) => e.type === 'message' && e.text === 'one broadcast').length;
    assert.equal(inEio, 1, 'engine.io-client');
    assert.equal(await countInPage(sockjsPage, 'lobby', 'one broadcast'), 1, 'sockjs-client');
    assert.equal(await countInPage(polysockPage, 'lobby', 'one broadcast'), 1, 'Polysock client');

    // And the other way: what the sockjs page says reaches the others once.
    await sockjsPage.waitForSelector('#text:not([disabled])');
    await sockjsPage.fill('#text', 'from sockjs </script>');
    await sockjsPage.press('#text', 'Enter');
    await eio.waitFor((e) => e.type === 'message' && e.text === 'from sockjs </script>' && e.nick === 'sj', 'sockjs message');
    await polysockPage.waitForFunction(() => Array.from(document.querySelectorAll('#log-lobby .line.message .text'))
      .some((n) => n.textContent === 'from sockjs </script>'));
    assert.deepEqual(sockjsPage.errors, []);
    assert.deepEqual(polysockPage.errors, []);
  } finally {
    eio.socket.close();
    await sockjsPage.closeAll();
    await polysockPage.closeAll();
  }
});
