// Issue 15, "kill a node": three echo nodes on Redis behind haproxy
// round-robin (docs/haproxy-roundrobin.cfg, no stickiness), the browser
// client in headless Chromium on each of its four transports with
// `reconnect: true`, pages spread so that every node holds some.
//
// Node b is killed with SIGKILL. Then, each within its deadline:
// - every page whose session was on b is open again on a or c (a page of a
//   survivor may be cut too, when its request was passing through b; it
//   comes back the same way);
// - the registries of the survivors forget b, and @count counts exactly the
//   pages (b's sessions are no longer counted anywhere);
// - a broadcast sent after that reaches every page exactly once.
//
// Run: cargo build --example echo && node --test tests/cluster/failover.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage } from "../browser/support.mjs";
import { ownerOf, startCluster, startRedis } from "./support.mjs";

const TRANSPORTS = ["websocket", "xhr-streaming", "htmlfile", "polling"];
// How long b's pages may take to be back: detecting the loss (at once for a
// cut connection, a ping timeout at worst), the client's reconnect backoff
// (0, then 0.5 s doubling) and haproxy taking b out (2 failed checks, 1 s
// apart). Far above what it takes (a few seconds), for slow machines.
const BACK_WITHIN_MS = 45000;

/** In the page: a reconnecting client (resume on, the default) whose
 *  messages, opens and closes are counted. A killed node's sessions cannot
 *  resume anywhere: the survivors refuse the resume ("session unknown"; on a
 *  WebSocket in-band, protocol-spec 11.7), the socket closes with that
 *  reason and the reconnect option opens a new session. */
function openReconnecting(transport) {
  return new Promise((resolve, reject) => {
    const s = new Polysock(`${location.origin}/engine.io`, [], { transports: [transport], reconnect: true, timeout: 10000 });
    window.F = { s, inbox: [], opens: 0, closes: [] };
    s.onmessage = (e) => F.inbox.push(e.data);
    s.addEventListener("open", () => {
      F.opens++;
      resolve();
    });
    s.addEventListener("close", (e) => {
      F.closes.push({ code: e.code, reason: e.reason });
      if (!F.opens) reject(new Error(`closed before open: ${e.code} ${e.reason}`));
    });
  });
}

/** In the page: sends `cmd` and resolves with the first later reply starting with `prefix`, or null after `ms`. */
function ask([cmd, prefix, ms]) {
  const from = F.inbox.length;
  if (F.s.readyState !== 1) return Promise.resolve(null);
  F.s.send(cmd);
  const deadline = Date.now() + ms;
  return new Promise((resolve) => {
    (function check() {
      const hit = F.inbox.slice(from).find((m) => typeof m === "string" && m.startsWith(prefix));
      if (hit !== undefined) return resolve(hit);
      if (Date.now() > deadline || F.s.readyState !== 1) return resolve(null);
      setTimeout(check, 20);
    })();
  });
}

/** The session id the page's socket has now (asked of the server), or null. */
async function sidOf(page, ms = 5000) {
  const reply = await page.evaluate(ask, ["@id", "@id ", ms]);
  return reply ? reply.slice("@id ".length) : null;
}

describe("a node killed with SIGKILL behind haproxy round-robin, browser clients with reconnect", () => {
  let redis;
  let cluster;
  let browser;
  const pages = [];
  before(async () => {
    redis = await startRedis();
    cluster = await startCluster(
      { kind: "haproxy", config: "haproxy-roundrobin.cfg" },
      { peers: false, extraArgs: ["--redis", redis.url, "--ping-interval", "2000", "--ping-timeout", "2000"] },
    );
    await cluster.registryKnows(3);
    browser = await launchBrowser();
    // Pages on every transport until each node holds at least one, and b
    // (the node to be killed) pages of two transports at least.
    const enough = () =>
      pages.length >= TRANSPORTS.length &&
      new Set(pages.map((p) => p.owner)).size === 3 &&
      new Set(pages.filter((p) => p.owner === "b").map((p) => p.transport)).size >= 2;
    for (let i = 0; i < 16 && !enough(); i++) {
      const transport = TRANSPORTS[i % TRANSPORTS.length];
      const page = await openPage(browser, { url: cluster.url });
      await page.evaluate(openReconnecting, transport);
      const sid = await sidOf(page, 10000);
      assert.ok(sid, `page ${i} (${transport}) knows its session`);
      pages.push({ page, transport, sid, owner: ownerOf(sid) });
      // Move round-robin on by one, so the pages' handshakes cannot keep
      // landing on the same node whatever a page's request count.
      await fetch(`${cluster.url}/engine.io/polysock.js`, { signal: AbortSignal.timeout(5000) }).then((r) => r.arrayBuffer());
    }
    assert.equal(new Set(pages.map((p) => p.owner)).size, 3, `pages on every node: ${pages.map((p) => p.sid)}`);
  });
  after(async () => {
    for (const p of pages) await p.page.close().catch(() => {});
    await browser?.close();
    await cluster?.stop();
    await redis?.stop();
  });

  test("b's pages come back on a and c, @count forgets b's sessions, a broadcast reaches every page once", async (t) => {
    try {
      const count = await pages[0].page.evaluate(ask, ["@count", "@count ", 10000]);
      assert.equal(count, `@count ${pages.length}`, "the cluster counts every page before the kill");
      const victims = pages.filter((p) => p.owner === "b");
      t.diagnostic(`${pages.length} pages: ${pages.map((p) => `${p.transport}@${p.owner}`).join(", ")}`);

      await cluster.kill("b");
      const killed = Date.now();

      // Every page open again, on a session of a or c.
      const deadline = killed + BACK_WITHIN_MS;
      for (const p of pages) {
        for (;;) {
          const sid = await sidOf(p.page);
          if (sid && ownerOf(sid) !== "b") {
            p.sid = sid;
            p.owner = ownerOf(sid);
            break;
          }
          assert.ok(Date.now() < deadline, `the ${p.transport} page (was ${p.sid}) is open on a survivor within ${BACK_WITHIN_MS} ms`);
          await p.page.waitForFunction(() => F.s.readyState === 1, null, { timeout: Math.max(1, deadline - Date.now()) }).catch(() => {});
        }
      }
      const backMs = Date.now() - killed;
      const reconnected = await Promise.all(pages.map((p) => p.page.evaluate(() => F.opens - 1)));
      for (const [i, p] of pages.entries()) {
        if (!victims.includes(p)) continue;
        assert.ok(reconnected[i] >= 1, `the ${p.transport} page of b reconnected`);
        const closes = await p.page.evaluate(() => F.closes);
        assert.deepEqual(closes[0], { code: 1006, reason: "session unknown" }, `the ${p.transport} page of b read the refusal of its resume`);
      }
      t.diagnostic(
        `all ${pages.length} pages open on a survivor ${backMs} ms after the kill; reconnects: ` +
          pages.map((p, i) => `${p.transport} ${reconnected[i]}`).join(", "),
      );

      // The survivors' registries drop b (its entry expires: TTL 3 s).
      await cluster.registryKnows(2);
      // @count: exactly the pages. A session a page left behind on a
      // survivor (it reconnected after a cut) ends at its ping timeout (4 s).
      const countDeadline = Date.now() + 20000;
      let counted;
      while ((counted = await pages[0].page.evaluate(ask, ["@count", "@count ", 10000])) !== `@count ${pages.length}`) {
        assert.ok(Date.now() < countDeadline, `@count is the ${pages.length} pages within 20 s (${counted})`);
        await new Promise((r) => setTimeout(r, 200));
      }

      // One broadcast, then a marker from the same page: Redis keeps one
      // publisher's order, so a page that has the marker has had every copy
      // of the broadcast it will ever get.
      const from = await Promise.all(pages.map((p) => p.page.evaluate(() => F.inbox.length)));
      await pages[0].page.evaluate(() => {
        F.s.send("@broadcast after the kill");
        F.s.send("@broadcast end of the kill test");
      });
      for (const [i, p] of pages.entries()) {
        await p.page.waitForFunction((from) => F.inbox.slice(from).includes("end of the kill test"), from[i], { timeout: 10000 });
        const got = await p.page.evaluate((from) => F.inbox.slice(from), from[i]);
        assert.equal(got.filter((m) => m === "after the kill").length, 1, `the ${p.transport} page on ${p.owner} got the broadcast once`);
        assert.deepEqual(p.page.errors.map(String), []);
      }
    } catch (err) {
      cluster.dump(err.message);
      throw err;
    }
  });
});
