// Issue 14, tests on real parts: the browser client (headless Chromium)
// keeps its session through connections that die under it.
//
//   (a) each transport forced alone, and websocket resuming onto polling:
//       10,000 numbered messages each way (the echo server sends each back)
//       through the fault proxy (tests/support/faultproxy.mjs), with at least
//       20 cuts at random points of that transport's traffic; 0 lost, 0
//       duplicated, 0 reordered, one on_connect (`@connects`), no close,
//       readyState OPEN throughout;
//   (b) Chromium offline (context.setOffline) for longer than ping interval
//       + timeout, then back: nothing lost, no close;
//   (c) a real nginx (the recommended config) restarted in the middle:
//       nothing lost, no close;
//   (d) a short --resume-window with the network gone: the client closes
//       1006 "resume window over", the server's socket ends with the same
//       reason (`@whyclosed`), and a late resume is refused as expired.
//
// Until the server and the client both speak resume (the open packet has
// "resume", the served client asks for it), (a) runs against today's
// behaviour (cuts happen; a cut websocket closes the socket) and (b)-(d)
// are skipped when POLYSOCK_REQUIRE_RESUME=0; otherwise a missing resume
// fails the suite.
// Every run prints the fault proxy's seed; POLYSOCK_FAULT_SEED=<seed>
// replays its random choices. POLYSOCK_RESUME_MESSAGES overrides 10,000.
//
// Run: cargo build --example echo && node --test tests/browser/resume.test.mjs

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { echoArgsWithPage, recommendedWithPage } from "../support/browser-proxy.mjs";
import { ECHO_BIN, startEchoServer } from "../support/echo-server.mjs";
import { TRANSPORT_KINDS, startFaultProxy } from "../support/faultproxy.mjs";
import { request } from "../support/http.mjs";
import { NGINX_BIN, startNginx } from "../support/nginx.mjs";
import { eventually, idle, withTimeout } from "../support/wait.mjs";
import { launchBrowser, openPage } from "./support.mjs";

const TRANSPORTS = ["websocket", "xhr-streaming", "htmlfile", "polling"];
const N = Number(process.env.POLYSOCK_RESUME_MESSAGES || 10000);
const MIN_CUTS = 20;
const CUTS = 40; // cut points drawn per run; at least MIN_CUTS must land (a fast run outruns some)
const WINDOW = 100; // messages in flight (sent, not yet echoed)
const SIZE = 24; // characters per message
const STALL_MS = 20000; // a run that makes no progress for this long has failed
const MAX_IN_ROW = 3; // cuts in a row without progress between them (runWithCuts)
// Heartbeats for the cut runs: a loss the client cannot see (a stream cut
// after its head, say) is still found within interval + timeout = 2 s, well
// inside STALL_MS, instead of the default 45 s.
const CUT_PING = ["--ping-interval", "1000", "--ping-timeout", "1000"];

let browser;
let caps; // { server, client, windowFlag }
before(async () => {
  browser = await launchBrowser();
  caps = await capabilities();
  if (process.env.POLYSOCK_REQUIRE_RESUME !== "0" && !(caps.server && caps.client)) {
    throw new Error(`resume is missing (POLYSOCK_REQUIRE_RESUME=0 runs today's behaviour instead): ${JSON.stringify(caps)}`);
  }
});
after(async () => {
  await browser?.close();
});

const full = () => caps.server && caps.client;

/** Does the server answer resume=1 with "resume" in its open packet, does the served client ask for it? */
async function capabilities() {
  const help = spawnSync(ECHO_BIN, ["--help"], { encoding: "utf8" }).stdout || "";
  const srv = await startEchoServer(["--path", "/engine.io"]);
  try {
    const open = await request(`${srv.url}/engine.io/?EIO=4&transport=polling&ext=1&resume=1`);
    const packet = JSON.parse(open.text.slice(open.text.indexOf("{")));
    const script = await request(`${srv.url}/engine.io/polysock.js`);
    return {
      server: Boolean(packet.resume),
      client: /resume=/.test(script.text),
      windowFlag: help.includes("--resume-window"),
    };
  } finally {
    await srv.stop();
  }
}

/**
 * An echo server serving the test page, the fault proxy in front of it, and
 * a page loaded through the proxy. body({ echo, proxy, page }). On failure
 * the server's stderr, the proxy's seed and its cuts are written out.
 */
async function withRig(t, { echoArgs = [], direct = false }, body) {
  const echo = await startEchoServer(echoArgsWithPage(echoArgs));
  let proxy, page;
  try {
    proxy = await startFaultProxy({ port: echo.port });
    t.diagnostic(`faultproxy seed ${proxy.seed} (POLYSOCK_FAULT_SEED=${proxy.seed} replays it)`);
    page = await openPage(browser, { url: direct ? echo.url : proxy.url }, { page: "resume.html" });
    await body({ echo, proxy, page });
    assert.deepEqual(page.errors.map(String), []);
    t.diagnostic(proxy.describe());
  } catch (err) {
    echo.dumpStderr(`test failed: ${err && err.message}`);
    if (proxy) process.stderr.write(`${proxy.describe()}\ncuts: ${JSON.stringify(proxy.cuts, null, 1)}\n`);
    throw err;
  } finally {
    await page?.close();
    await proxy?.close();
    await echo.stop();
  }
}

const openSocket = (page, options) => page.evaluate((o) => R.open(o), { remember: false, ...options });
const progress = (page, id) => page.evaluate((id) => R.progress(id), id);
const hook = (page, id, cmd, prefix) => page.evaluate(([id, c, p]) => R.hook(id, c, p, 10000), [id, cmd, prefix]);

/**
 * Numbered messages through `proxy` while cutting: `cuts` points drawn at
 * random message counts; at each, one opportunity of a kind drawn from the
 * current transport's (a kind that does not come within 0.5 s is redrawn
 * from the others: while it waits the run goes on uncut, and a GET head on a
 * stream that is flowing may not come for long).
 * At most MAX_IN_ROW cuts come without echoes between them (10: more than
 * a progress read can lag behind the page): points that fell behind
 * (redraws, a resume under way) would otherwise cut every resume attempt in
 * a row, and the client's backoff (0.5, 1, 2, 4, 5 s ...) is then what the
 * run measures, not whether anything is lost.
 * `onCut(rec, index)` runs after each cut. Ends when all n are back, on a
 * close, or after STALL_MS without progress. Resolves with the last progress.
 * A run that gets ahead of MIN_CUTS cuts spread over 85% of n is slowed to
 * a few messages in flight until the next cut lands (traffic goes on, so
 * every kind of cut still comes): how many cuts land does not depend on
 * how fast the machine carries the messages.
 */
async function runWithCuts(page, proxy, id, { n = N, cuts = CUTS, onCut = () => {}, stopOnClose = true, stallMs = STALL_MS }) {
  const points = Array.from({ length: cuts }, () => proxy.int(Math.floor(n * 0.02), Math.floor(n * 0.85))).sort((a, b) => a - b);
  await page.evaluate(([id, n, w, s]) => R.start(id, n, w, s), [id, n, WINDOW, SIZE]);
  let next = 0;
  let armed = null;
  let last = null;
  let cutAt = -1; // the count when the last cut happened
  let inRow = 0; // cuts since the count last moved
  let missed = null; // the kind that did not come last time: not drawn again at once
  let lastChange = Date.now();
  let slowed = false;
  for (;;) {
    const p = await progress(page, id);
    if (!last || p.count !== last.count) lastChange = Date.now();
    last = p;
    if (p.count >= n || (p.closeEvent && stopOnClose)) break;
    if (Date.now() - lastChange > stallMs) break;
    const ahead = next < MIN_CUTS && next < points.length && p.count > (n * 0.85 * (next + 1)) / MIN_CUTS;
    if (ahead !== slowed) {
      slowed = ahead;
      await page.evaluate(([id, w]) => R.throttle(id, w), [id, ahead ? 4 : WINDOW]);
    }
    if (!armed && next < points.length && p.count >= points[next] && (inRow < MAX_IN_ROW || p.count > cutAt + 10)) {
      const kinds = (TRANSPORT_KINDS[p.transport] || TRANSPORT_KINDS.websocket).filter((k) => k !== missed);
      const kind = proxy.pick(kinds);
      armed = proxy.arm(kind, { ms: 500 }).then(
        (rec) => {
          missed = null;
          inRow = last.count > cutAt + 10 ? 1 : inRow + 1;
          cutAt = last.count;
          onCut(rec, next);
          next++;
          armed = null;
        },
        () => {
          missed = kind;
          armed = null; // redraw
        },
      );
    }
    // progress is read, not waited for: the page runs on its own
    await idle(20);
  }
  proxy.disarm();
  return last;
}

function assertClean(p, n, label) {
  const detail = `${label}: ${JSON.stringify(p)}`;
  assert.equal(p.dup, 0, `duplicated; ${detail}`);
  assert.equal(p.reordered, 0, `reordered; ${detail}`);
  assert.equal(p.count, n, `lost; ${detail}`);
  assert.deepEqual(p.missing, [], detail);
  assert.equal(p.sample, null, `an echo differs from what was sent; ${detail}`);
  assert.equal(p.closeEvent, null, `closed; ${detail}`);
  assert.equal(p.readyState, 1, detail);
  assert.equal(p.notOpenSamples, 0, `readyState left OPEN; ${detail}`);
  assert.equal(p.opens, 1, `open fired again; ${detail}`);
}

describe("resume through random cuts (fault proxy)", () => {
  for (const name of TRANSPORTS) {
    // htmlfile: Chromium fires neither load nor error on an iframe whose
    // stream is reset, so the client finds such a stream by the ack it owes
    // after a POST, and a resume attempt cut after its head by the short
    // attempt timer of the first rounds (socket.js, fallback.md F.8).
    test(`${name} alone: ${N} messages each way, >= ${MIN_CUTS} cuts, nothing lost, duplicated or reordered`, (t) =>
      withRig(t, { echoArgs: CUT_PING }, async ({ proxy, page }) => {
        const o = await openSocket(page, { transports: [name] });
        assert.equal(o.transport, name);
        if (!full()) {
          // today's behaviour: cuts happen; a cut websocket closes the socket
          const p = await runWithCuts(page, proxy, o.id, { cuts: 3, stallMs: 3000 });
          t.diagnostic(`without resume (${JSON.stringify(caps)}): ${JSON.stringify(p)}`);
          assert.ok(proxy.cuts.length >= 1, "no cut happened");
          if (name === "websocket") assert.equal(p.closeEvent?.code, 1006, JSON.stringify(p));
          return;
        }
        const p = await runWithCuts(page, proxy, o.id, {});
        t.diagnostic(`cuts ${proxy.cuts.length}, max bufferedAmount ${p.maxBuffered}, ${p.doneMs} ms`);
        assertClean(p, N, name);
        assert.ok(proxy.cuts.length >= MIN_CUTS, `only ${proxy.cuts.length} cuts: ${proxy.describe()}`);
        assert.deepEqual([...new Set(p.transports)], [name]);
        assert.equal(await hook(page, o.id, "@connects", "@connects"), "@connects 1");
        assert.equal(await hook(page, o.id, "@transport", "@transport"), `@transport ${name}`);
      }));
  }

  test(`websocket resumed onto polling: ${N} messages each way, >= ${MIN_CUTS} cuts, nothing lost`, (t) =>
    withRig(t, { echoArgs: CUT_PING }, async ({ proxy, page }) => {
      const o = await openSocket(page, { transports: ["websocket", "polling"] });
      assert.equal(o.transport, "websocket");
      // after the first cut the websocket is refused: the client must resume on polling
      const onCut = () => {
        proxy.blockRequests = (req) => /[?&]transport=websocket/.test(req.target);
      };
      if (!full()) {
        const p = await runWithCuts(page, proxy, o.id, { cuts: 3, onCut, stallMs: 3000 });
        t.diagnostic(`without resume (${JSON.stringify(caps)}): ${JSON.stringify(p)}`);
        assert.equal(p.closeEvent?.code, 1006, JSON.stringify(p));
        return;
      }
      const p = await runWithCuts(page, proxy, o.id, { onCut });
      t.diagnostic(`cuts ${proxy.cuts.length}, transports ${p.transports}, ${p.doneMs} ms`);
      assertClean(p, N, "websocket then polling");
      assert.ok(proxy.cuts.length >= MIN_CUTS, `only ${proxy.cuts.length} cuts: ${proxy.describe()}`);
      assert.ok(proxy.stats.blocked >= 1, "no websocket attempt was refused after the first cut");
      assert.equal(p.transport, "polling");
      assert.equal(await hook(page, o.id, "@transport", "@transport"), "@transport polling");
      assert.equal(await hook(page, o.id, "@connects", "@connects"), "@connects 1");
    }));
});

describe("resume in Chromium (offline, nginx restart, window expiry)", () => {
  const PING = ["--ping-interval", "300", "--ping-timeout", "200"];

  for (const name of ["websocket", "polling"]) {
    test(`${name}: offline for longer than the ping timeout, then back: nothing lost, no close`, async (t) => {
      if (!full()) return t.skip(`resume not available yet: ${JSON.stringify(caps)}`);
      await withRig(t, { echoArgs: PING, direct: true }, async ({ page }) => {
        const o = await openSocket(page, { transports: [name] });
        const n = 3000;
        await page.evaluate(([id, n, w, s]) => R.start(id, n, w, s), [o.id, n, WINDOW, SIZE]);
        await eventually(async () => ((await progress(page, o.id)).count >= 1000 ? true : undefined), 20000, "first 1000 echoes");
        await page.context().setOffline(true);
        // the loss is what is tested: stay offline past interval + timeout (500 ms) on both sides
        await idle(1500);
        const during = await progress(page, o.id);
        assert.equal(during.readyState, 1, JSON.stringify(during));
        await page.context().setOffline(false);
        const p = await eventually(
          async () => {
            const q = await progress(page, o.id);
            return q.count >= n || q.closeEvent ? q : undefined;
          },
          30000,
          "all echoes after going back online",
        );
        assertClean(p, n, `${name} offline`);
        assert.ok(during.count < n, "the run finished before going offline; nothing was tested");
        assert.equal(await hook(page, o.id, "@connects", "@connects"), "@connects 1");
      });
    });
  }

  for (const name of ["websocket", "polling"]) {
    // nginx's fast shutdown ends each upstream WebSocket with a bare EOF,
    // no close frame: a lost transport, so the session is suspended
    // (tests/resume_ws_eof.rs), not closed.
    test(`${name} through a real nginx restarted in the middle: nothing lost, no close`, async (t) => {
      if (!full()) return t.skip(`resume not available yet: ${JSON.stringify(caps)}`);
      if (!NGINX_BIN) throw new Error("nginx not installed (scripts/test.sh installs it)");
      const echo = await startEchoServer(echoArgsWithPage());
      let nginx = await startNginx((port) => recommendedWithPage()(port, echo.port));
      let restarted = null;
      const page = await openPage(browser, { url: nginx.url }, { page: "resume.html" });
      try {
        const o = await openSocket(page, { transports: [name] });
        const n = 4000;
        await page.evaluate(([id, n, w, s]) => R.start(id, n, w, s), [o.id, n, WINDOW, SIZE]);
        await eventually(async () => ((await progress(page, o.id)).count >= 1500 ? true : undefined), 20000, "first 1500 echoes");
        restarted = await restartNginx(nginx);
        const p = await eventually(
          async () => {
            const q = await progress(page, o.id);
            return q.count >= n || q.closeEvent ? q : undefined;
          },
          30000,
          "all echoes after the nginx restart",
        );
        assertClean(p, n, `${name} nginx restart`);
        assert.equal(await hook(page, o.id, "@connects", "@connects"), "@connects 1");
        assert.deepEqual(page.errors.map(String), []);
      } catch (err) {
        echo.dumpStderr(`test failed: ${err && err.message}`);
        nginx.dump("test failed");
        throw err;
      } finally {
        await page.close();
        if (restarted) await restarted.stop();
        await nginx.stop();
        await echo.stop();
      }
    });
  }

  test("window over: the client closes 1006 'resume window over', the server's socket too, a late resume is refused", async (t) => {
    if (!full()) return t.skip(`resume not available yet: ${JSON.stringify(caps)}`);
    if (!caps.windowFlag) return t.skip("the echo example has no --resume-window flag yet");
    await withRig(t, { echoArgs: ["--resume-window", "1500"] }, async ({ echo, proxy, page }) => {
      const o = await openSocket(page, { transports: ["websocket"] });
      const sid = (await hook(page, o.id, "@id", "@id ")).slice(4);
      // the network goes away for good: cut everything, refuse every new connection
      proxy.refuse = true;
      proxy.cutAll();
      const ev = await page.evaluate((id) => R.closed(id, 15000), o.id);
      assert.deepEqual({ code: ev?.code, reason: ev?.reason }, { code: 1006, reason: "resume window over" });
      // the server side, asked from a second page that reaches the server directly
      const other = await openPage(browser, { url: echo.url }, { page: "resume.html" });
      try {
        const o2 = await openSocket(other, { transports: ["websocket"] });
        const why = await eventually(
          async () => {
            const r = await hook(other, o2.id, `@whyclosed ${sid}`, "@closed");
            return r === "@closed null" ? undefined : JSON.parse(r.slice("@closed ".length));
          },
          10000,
          "the server's close reason",
        );
        assert.equal(why.reason, "resume window over", JSON.stringify(why));
      } finally {
        await other.close();
      }
      // and a resume handshake for it now gets the distinct refusal
      const late = await request(`${echo.url}/engine.io/?EIO=4&transport=polling&ext=1&resume=${encodeURIComponent(sid)}&last=0`);
      assert.equal(late.status, 400, late.text);
      assert.equal(JSON.parse(late.text).detail, "resume window over", late.text);
    });
  });
});

/**
 * Restart nginx the hard way: SIGTERM (fast shutdown: every connection
 * dropped), then a new master with the same config on the same port.
 * Resolves with `{ stop() }` for the new one once it accepts connections.
 */
async function restartNginx(nginx) {
  const exited = new Promise((resolve) => {
    if (!nginx.alive()) resolve();
    else nginx.proc.once("exit", resolve);
  });
  nginx.proc.kill("SIGTERM");
  await withTimeout(exited, 10000, "nginx shutdown");
  const conf = path.join(nginx.dir, "nginx.conf");
  const args = ["-e", "stderr", "-p", nginx.dir, "-c", conf, "-g", `daemon off; pid ${path.join(nginx.dir, "nginx2.pid")}; error_log stderr;`];
  const proc = spawn(NGINX_BIN, args, { stdio: ["ignore", "ignore", "inherit"] });
  const gone = new Promise((resolve) => proc.once("exit", resolve));
  await eventually(() => canConnect(nginx.port), 10000, "restarted nginx accepting");
  return {
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await withTimeout(gone, 10000, "restarted nginx shutdown");
    },
  };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(undefined));
  });
}
