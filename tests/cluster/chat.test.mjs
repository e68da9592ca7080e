// Issue 15: the chat demo as three nodes on Redis (`chat --redis URL
// --node-id ID --cluster-secret S`) behind haproxy round-robin with
// docs/haproxy-roundrobin.cfg (no stickiness). Two headless Chromium pages,
// one forced to xhr-streaming and one to websocket, whose sessions are held by
// different nodes, set nicknames, join the same room through the form and
// each sees the other's lines and join notice.
//
// Which node holds a page's session is read from the session id the page's
// own traffic carries (`sid=` of its requests, the open packet of its
// WebSocket): node ids prefix session ids.
//
// Run: cargo build --example chat && node --test tests/cluster/chat.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { launchBrowser, REPO } from "../browser/support.mjs";
import { haproxyConfig, NODE_IDS, ownerOf, SECRET, startHaproxy, startRedis } from "./support.mjs";

const CHAT_BIN = process.env.POLYSOCK_CHAT_BIN || path.join(REPO, "target", "debug", "examples", "chat");
const WAIT = 20000;

/** One chat node on 127.0.0.1:0; resolves with `{ id, port, stop(), stderr() }` once it listens. */
function startChatNode(id, redisUrl, startupMs = 20000) {
  if (!existsSync(CHAT_BIN)) return Promise.reject(new Error(`no chat server at ${CHAT_BIN}: run \`cargo build --example chat\``));
  const args = ["--listen", "127.0.0.1:0", "--redis", redisUrl, "--node-id", id, "--cluster-secret", SECRET];
  const proc = spawn(CHAT_BIN, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (d) => (stderr = (stderr + d).slice(-65536)));
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`chat node ${id} said nothing within ${startupMs} ms`)), startupMs);
    function fail(err) {
      clearTimeout(timer);
      proc.kill();
      reject(new Error(`${err.message}\n${args.join(" ")}\nstderr:\n${stderr}`));
    }
    const early = (code) => fail(new Error(`chat node ${id} exited (${code}) before listening`));
    proc.once("exit", early);
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", function onData(d) {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      proc.stdout.off("data", onData);
      proc.stdout.resume();
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out.slice(0, nl));
      if (!m) return fail(new Error(`unexpected first line: ${out.slice(0, nl)}`));
      clearTimeout(timer);
      proc.off("exit", early);
      resolve({
        id,
        port: Number(m[1]),
        stderr: () => stderr,
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
          await exited;
        },
      });
    });
  });
}

describe("the chat demo as three nodes on Redis behind haproxy round-robin", () => {
  let redis;
  let nodes = [];
  let proxy;
  let browser;
  before(async () => {
    redis = await startRedis();
    nodes = await Promise.all(NODE_IDS.map((id) => startChatNode(id, redis.url)));
    proxy = await startHaproxy((port) => haproxyConfig("haproxy-roundrobin.cfg", port, nodes.map((n) => n.port)));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await Promise.all(nodes.map((n) => n.stop()));
    await redis?.stop();
  });

  function dump(why) {
    for (const n of nodes) process.stderr.write(`\n----- chat node ${n.id} (${why}) -----\n${n.stderr()}\n`);
    proxy?.dump(why);
  }

  /** The chat through the balancer, transport forced; resolves once open, with the node holding its session. */
  async function openChat(transport) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(String(e)));
    const sids = new Set();
    page.on("request", (r) => {
      const sid = new URL(r.url()).searchParams.get("sid");
      if (sid) sids.add(sid);
    });
    page.on("websocket", (ws) =>
      ws.on("framereceived", ({ payload }) => {
        const m = typeof payload === "string" && /^0(\{.*\})$/.exec(payload);
        if (m) sids.add(JSON.parse(m[1]).sid);
      }),
    );
    await page.goto(`${proxy.url}/?transport=${transport}`);
    await page.waitForFunction(() => document.getElementById("status").textContent === "open");
    await page.waitForFunction((t) => document.getElementById("transport").textContent === t, transport);
    // Its session id, from its traffic (a streaming page's next POST, at the latest: the nick below).
    const deadline = Date.now() + WAIT;
    while (sids.size === 0) {
      assert.ok(Date.now() < deadline, `the ${transport} page's session id seen in its traffic`);
      await page.waitForEvent("request", { timeout: Math.max(1, deadline - Date.now()) }).catch(() => {});
    }
    assert.equal(sids.size, 1, `one session per page: ${[...sids]}`);
    const sid = [...sids][0];
    return { page, sid, node: ownerOf(sid), close: () => context.close() };
  }

  async function setNick(page, nick) {
    await page.fill("#nick", nick);
    await page.click("#nick-set");
    await page.waitForFunction(
      (n) => document.getElementById("nick").value === n && /is now/.test(document.getElementById("logs").textContent),
      nick,
    );
  }

  async function joinRoom(page, room) {
    await page.fill("#room-name", room);
    await page.click("#join");
    await page.waitForFunction((r) => document.getElementById("current-room").textContent === "#" + r, room);
  }

  async function say(page, text) {
    await page.waitForSelector("#text:not([disabled])");
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }

  function waitForMessage(page, room, nick, text) {
    return page.waitForFunction(
      ([r, n, t]) => {
        for (const node of document.querySelectorAll(`#log-${r} .line.message`)) {
          if (node.querySelector(".nick").textContent === n && node.querySelector(".text").textContent === t) return true;
        }
        return false;
      },
      [room, nick, text],
    );
  }

  test("an xhr-streaming page and a websocket page on different nodes chat in one room", async (t) => {
    const opened = [];
    try {
      const streaming = await openChat("xhr-streaming");
      opened.push(streaming);
      // A websocket page on another node: round-robin moves on with every
      // request, so a few tries (each moving it on by one more) get there.
      let socket;
      for (let i = 0; i < 12 && !socket; i++) {
        const candidate = await openChat("websocket");
        opened.push(candidate);
        if (candidate.node !== streaming.node) socket = candidate;
        else await fetch(`${proxy.url}/engine.io/polysock.js`, { signal: AbortSignal.timeout(5000) }).then((r) => r.arrayBuffer());
      }
      assert.ok(socket, `a websocket page on a node other than ${streaming.node}`);
      assert.ok(NODE_IDS.includes(streaming.node) && NODE_IDS.includes(socket.node), `${streaming.sid}, ${socket.sid}`);
      t.diagnostic(`xhr-streaming page on node ${streaming.node} (${streaming.sid}), websocket page on node ${socket.node}`);

      await setNick(streaming.page, "ada");
      await setNick(socket.page, "grace");
      await joinRoom(streaming.page, "cluster");
      await joinRoom(socket.page, "cluster");
      // The join notice crosses nodes through Redis.
      await streaming.page.waitForFunction(() => /grace joined/.test(document.getElementById("log-cluster").textContent));

      await say(streaming.page, "hello from xhr-streaming");
      await waitForMessage(socket.page, "cluster", "ada", "hello from xhr-streaming");
      await say(socket.page, "hello from websocket");
      await waitForMessage(streaming.page, "cluster", "grace", "hello from websocket");
      // Each sees its own line too, once.
      await waitForMessage(streaming.page, "cluster", "ada", "hello from xhr-streaming");
      await waitForMessage(socket.page, "cluster", "grace", "hello from websocket");
      for (const p of [streaming, socket]) {
        const texts = await p.page.$$eval("#log-cluster .line.message .text", (n) => n.map((x) => x.textContent));
        assert.deepEqual(texts.sort(), ["hello from websocket", "hello from xhr-streaming"], `${p.sid}: each line once`);
      }
      assert.equal(await streaming.page.textContent("#transport"), "xhr-streaming");
      assert.equal(await socket.page.textContent("#transport"), "websocket");
      assert.deepEqual(streaming.page.errors, []);
      assert.deepEqual(socket.page.errors, []);
    } catch (err) {
      dump(err.message);
      throw err;
    } finally {
      for (const p of opened) await p.close();
    }
  });
});
