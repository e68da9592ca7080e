// Issue 15 items 3 and 4: three echo nodes behind Debian's haproxy, in the two
// configurations published under docs/ (round-robin with no stickiness, and a
// sticky cookie), used verbatim but for the addresses.
//
// In both: the stock engine.io-client in each mode (polling, websocket,
// upgrade) and the browser client (headless Chromium) on each of its four
// transports connect and echo 1,000 messages in order. Round-robin: requests
// do land on other nodes and are forwarded; sticky: nothing is forwarded.
// Then a node is killed with SIGKILL: the survivors answer its sessions
// "Session ID unknown" at once, its clients see their session end, and new
// sessions (the client reconnecting) open on the survivors and echo.
//
// Run: cargo build --example echo && node --test tests/cluster/haproxy.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage } from "../browser/support.mjs";
import { MODES, closeAll, openMode } from "../support/eio-client.mjs";
import { haproxyVersion, ownerOf, startCluster } from "./support.mjs";

const COUNT = 1000;
const BROWSER_TRANSPORTS = ["websocket", "xhr-streaming", "htmlfile", "polling"];
const messages = (label) => Array.from({ length: COUNT }, (_, i) => `${label} ${i}`);

/** A cluster shared by a describe block; dumps every log on a failed test. */
function sharedCluster(balancer) {
  const fx = { cluster: null };
  before(async () => {
    fx.cluster = await startCluster(balancer);
  });
  after(async () => {
    await fx.cluster?.stop();
  });
  fx.test = (name, fn) =>
    test(name, async (t) => {
      if (!fx.cluster) throw new Error("the cluster did not start");
      try {
        await fn(t, fx.cluster);
      } catch (err) {
        fx.cluster.dump(`test "${name}" failed: ${err && err.message}`);
        throw err;
      }
    });
  return fx;
}

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** The browser client on `transport` through the balancer: 1,000 echoes in order; its sid. */
async function browserEchoes(cluster, transport) {
  const page = await openPage(browser, { url: cluster.url });
  try {
    const o = await page.evaluate((o) => T.open(o), { transports: [transport], timeout: 10000 });
    assert.equal(o.transport, transport);
    const id = await page.evaluate((id) => T.hook(id, "@id", "@id"), o.id);
    const list = messages(`browser ${transport}`);
    const got = await page.evaluate(([id, list]) => T.roundTrip(id, list, 60000), [o.id, list]);
    assert.deepEqual(got, list);
    assert.equal(await page.evaluate((id) => T.hook(id, "@transport", "@transport"), o.id), `@transport ${transport}`);
    assert.deepEqual(page.errors.map(String), []);
    return id.slice("@id ".length);
  } finally {
    await page.close();
  }
}

/** A stock client in `mode` through the balancer: 1,000 echoes in order; its sid. */
async function stockEchoes(cluster, mode, opts = {}) {
  const c = await openMode(cluster.url, mode, 10000, opts);
  try {
    assert.equal(c.transport, MODES[mode].final);
    const list = messages(`stock ${mode}`);
    for (const m of list) c.send(m);
    assert.deepEqual(await c.take(COUNT, 30000), list);
    assert.ok(ownerOf(c.id), `the sid names its node: ${c.id}`);
    return c.id;
  } finally {
    closeAll(c);
  }
}

for (const [config, sticky] of [
  ["haproxy-roundrobin.cfg", false],
  ["haproxy-sticky.cfg", true],
]) {
  describe(`three nodes behind ${haproxyVersion()} with docs/${config}`, () => {
    const fx = sharedCluster({ kind: "haproxy", config });
    // The stock client keeps cookies only when asked (Node has no cookie jar of its own).
    const opts = sticky ? { withCredentials: true } : {};

    for (const mode of Object.keys(MODES)) {
      fx.test(`stock engine.io-client, ${mode}: echoes ${COUNT} messages in order`, async (t, cluster) => {
        const before = await cluster.forwarded();
        const sid = await stockEchoes(cluster, mode, opts);
        const after = await cluster.forwarded();
        const forwarded = Object.keys(after).reduce((sum, id) => sum + after[id] - before[id], 0);
        t.diagnostic(`session ${sid}: ${forwarded} requests forwarded between nodes`);
        if (sticky) assert.equal(forwarded, 0, "with the sticky cookie nothing is forwarded");
        else if (mode !== "websocket") assert.ok(forwarded > 0, "round-robin spreads a session's requests over the nodes");
      });
    }

    for (const transport of BROWSER_TRANSPORTS) {
      fx.test(`browser client, ${transport}: echoes ${COUNT} messages in order`, async (t, cluster) => {
        const before = await cluster.forwarded();
        const sid = await browserEchoes(cluster, transport);
        const after = await cluster.forwarded();
        const forwarded = Object.keys(after).reduce((sum, id) => sum + after[id] - before[id], 0);
        t.diagnostic(`session ${sid}: ${forwarded} requests forwarded between nodes`);
        if (sticky) assert.equal(forwarded, 0, "with the sticky cookie nothing is forwarded");
        else if (transport !== "websocket") assert.ok(forwarded > 0, "round-robin spreads a session's requests over the nodes");
      });
    }
  });

  describe(`docs/${config}: a node killed with SIGKILL`, () => {
    const fx = sharedCluster({ kind: "haproxy", config });
    const opts = sticky ? { withCredentials: true } : {};

    fx.test("survivors answer its sessions 'Session ID unknown' at once; its clients come back on the others", async (t, cluster) => {
      // Polling clients until every node holds at least one.
      const clients = [];
      try {
        for (let i = 0; i < 30 && new Set(clients.map((c) => ownerOf(c.id))).size < 3; i++) {
          clients.push(await openMode(cluster.url, "polling", 10000, opts));
        }
        assert.equal(new Set(clients.map((c) => ownerOf(c.id))).size, 3, "sessions on all three nodes");
        const victims = clients.filter((c) => ownerOf(c.id) === "b");
        const victimIds = victims.map((c) => c.id);
        await cluster.kill("b");

        // Any survivor, asked directly about one of b's sessions.
        for (const survivor of [cluster.node("a"), cluster.node("c")]) {
          for (const method of ["GET", "POST"]) {
            const t0 = Date.now();
            const r = await fetch(`${survivor.url}/engine.io/?EIO=4&transport=polling&sid=${victimIds[0]}`, {
              method,
              body: method === "POST" ? "4x" : undefined,
              signal: AbortSignal.timeout(5000),
            });
            const ms = Date.now() - t0;
            assert.equal(r.status, 400);
            assert.equal((await r.json()).code, 1);
            assert.ok(ms < 1000, `answered in ${ms} ms`);
          }
        }

        // b's clients see their session end; a reconnect opens on a survivor.
        const reconnect = async (c) => {
          const again = await openMode(cluster.url, "polling", 10000, opts);
          clients.push(again);
          assert.notEqual(ownerOf(again.id), "b", "a new session never lands on the dead node");
          again.send("back");
          assert.equal(await again.next(10000), "back");
        };
        for (const [i, c] of victims.entries()) {
          const { reason } = await c.waitClosed(20000);
          t.diagnostic(`${victimIds[i]}: closed (${reason})`);
          await reconnect(c);
        }
        // The survivors' own clients go on, except one whose request was
        // passing through b at that moment: it lost that request, as behind
        // any balancer that loses a backend; it reconnects like b's.
        let kept = 0;
        for (const c of clients.filter((c) => c.id && ownerOf(c.id) !== "b" && !c.closeInfo)) {
          const id = c.id;
          c.send(`still ${id}`);
          try {
            assert.equal(await c.next(10000), `still ${id}`);
            kept++;
          } catch (err) {
            if (!c.closeInfo) throw err;
            t.diagnostic(`${id}: cut (${c.closeInfo.reason}); reconnecting`);
            await reconnect(c);
          }
        }
        t.diagnostic(`${victims.length} sessions of b ended; ${kept} sessions of a and c went on`);
        assert.ok(kept > 0, "sessions of the survivors go on");
      } finally {
        closeAll(clients);
      }
    });
  });
}
