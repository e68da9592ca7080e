// Issue 5, item 4 (real proxies) and item 5 (graceful shutdown), seen by the
// real browser client: headless Chromium (tests/browser/support.mjs) loads
// the test page (tests/browser/fixtures, served by the echo example's
// --static) through Debian's nginx, so page, client script and mount share
// one origin, and opens `new Polysock(location.origin + "/engine.io")`.
//
//   (a) the recommended config (tests/proxy/nginx-recommended.conf): opens on
//       websocket and echoes; every transport forced alone works too;
//   (b) a plain nginx (no Upgrade forwarding, proxy_buffering on): opens on
//       what works through it (fallback.md: websocket refused, so
//       xhr-streaming) within its bound and echoes promptly; control: with
//       nginx ignoring X-Accel-Buffering the streams are held back and the
//       client falls through to polling;
//   (c) proxy_read_timeout 2 s, pings every 500 ms: idle sockets on every
//       transport stay open for 3x the timeout and echo afterwards; control:
//       with pings rarer than the timeout nginx does cut the websocket;
//   (d) SIGINT / SIGTERM to the echo server (direct, no nginx): onclose
//       reports 1001 on websocket and on polling.
//
// Run: cargo build --example echo && node --test tests/proxy/browser.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, openPage } from "../browser/support.mjs";
import { echoArgsWithPage, plainProxyWithPage, recommendedWithPage } from "../support/browser-proxy.mjs";
import { startEchoServer } from "../support/echo-server.mjs";
import { nginxVersion } from "../support/nginx.mjs";
import { sharedProxy } from "../support/proxy-fixture.mjs";
import { once } from "../support/wait.mjs";

const TRANSPORTS = ["websocket", "xhr-streaming", "htmlfile", "polling"];
const T_DEFAULT = 2500; // fallback.md F.1: the client's default per-transport timeout
const PROMPT_MS = 1000; // one small echo must take less than this (buffered: never, or ~25 s)

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** body(page) on a fresh page loaded from `origin`; fails on page errors. */
async function withPage(origin, body) {
  const page = await openPage(browser, { url: origin });
  try {
    await body(page);
    assert.deepEqual(page.errors.map(String), []);
  } finally {
    await page.close();
  }
}

const open = (page, o) => page.evaluate((o) => T.open(o), o);
const state = (page, id) => page.evaluate((id) => T.state(id), id);
const serverTransport = (page, id) => page.evaluate((id) => T.hook(id, "@transport", "@transport"), id);

/** Text, then binary, then a burst of 50: all echo back, in order. */
async function assertEchoes(page, id, label) {
  const texts = [`${label} ✓`, "", "</script><!--", "\u2028"];
  assert.deepEqual(await page.evaluate(([id, l]) => T.roundTrip(id, l, 10000), [id, texts]), texts);
  const bin = await page.evaluate(async (id) => {
    T.get(id).binaryType = "arraybuffer";
    const bytes = new Uint8Array(300).map((_, i) => i & 0xff);
    const [got] = await T.roundTrip(id, [bytes], 10000);
    return Array.from(new Uint8Array(got));
  }, id);
  assert.deepEqual(bin, Array.from({ length: 300 }, (_, i) => i & 0xff));
  const burst = Array.from({ length: 50 }, (_, i) => `burst ${i}`);
  assert.deepEqual(await page.evaluate(([id, l]) => T.roundTrip(id, l, 10000), [id, burst]), burst);
}

/** `n` sequential single-message round trips, timed on the page's clock (ms). */
function roundTripTimes(page, id, n = 10) {
  return page.evaluate(
    async ([id, n]) => {
      const times = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const [got] = await T.roundTrip(id, [`prompt ${i}`], 10000);
        if (got !== `prompt ${i}`) throw new Error(`echo ${i}: got ${JSON.stringify(got)}`);
        times.push(Math.round(performance.now() - t0));
      }
      return times;
    },
    [id, n],
  );
}

async function assertPrompt(t, page, id, label) {
  const times = await roundTripTimes(page, id);
  t.diagnostic(`${label}: round trips ${times.join(", ")} ms`);
  assert.ok(Math.max(...times) < PROMPT_MS, `${label}: a round trip took ${Math.max(...times)} ms (${times})`);
}

// ---------------------------------------------------------------------------
describe(`(a) browser client through ${nginxVersion()} with the recommended config`, () => {
  const { test } = sharedProxy(echoArgsWithPage(), recommendedWithPage());

  test("default options: opens on websocket and echoes", async (t, { nginx }) => {
    await withPage(nginx.url, async (page) => {
      const o = await open(page, {});
      t.diagnostic(`opened on ${o.transport} in ${Math.round(o.ms)} ms`);
      assert.equal(o.transport, "websocket");
      assert.equal(o.readyState, 1);
      assert.equal(await serverTransport(page, o.id), "@transport websocket");
      await assertEchoes(page, o.id, "through nginx");
      const st = await state(page, o.id);
      assert.equal(st.transport, "websocket");
      assert.equal(st.readyState, 1);
      assert.equal(st.closeEvent, null);
      assert.equal(st.errors, 0);
    });
  });

  test("polling first: upgrades to websocket through nginx", async (t, { nginx }) => {
    await withPage(nginx.url, async (page) => {
      const o = await open(page, { transports: ["polling", "websocket"] });
      assert.equal(o.transport, "polling");
      // The upgrade is asynchronous: wait (page side) until the server sees websocket.
      const seen = await page.evaluate(async (id) => {
        const deadline = performance.now() + 10000;
        let r;
        do r = await T.hook(id, "@transport", "@transport");
        while (r !== "@transport websocket" && performance.now() < deadline);
        return r;
      }, o.id);
      assert.equal(seen, "@transport websocket");
      assert.equal((await state(page, o.id)).transport, "websocket");
      await assertEchoes(page, o.id, "after upgrade");
    });
  });

  for (const name of TRANSPORTS) {
    test(`${name} forced alone: opens and echoes promptly`, async (t, { nginx }) => {
      await withPage(nginx.url, async (page) => {
        const o = await open(page, { transports: [name] });
        assert.equal(o.transport, name);
        assert.equal(await serverTransport(page, o.id), `@transport ${name}`);
        await assertEchoes(page, o.id, name);
        await assertPrompt(t, page, o.id, name);
      });
    });
  }
});

// ---------------------------------------------------------------------------
describe(`(b) browser client through ${nginxVersion()} without Upgrade forwarding, buffering on`, () => {
  const { test } = sharedProxy(echoArgsWithPage(), plainProxyWithPage());

  test("default options: opens on xhr-streaming within its bound, echoes both ways promptly", async (t, { nginx }) => {
    await withPage(nginx.url, async (page) => {
      const o = await open(page, {});
      t.diagnostic(`opened on ${o.transport} in ${Math.round(o.ms)} ms`);
      // fallback.md F.4: the websocket handshake is refused through this
      // proxy (one round trip), xhr-streaming gets through (the server marks
      // it X-Accel-Buffering: no). Bound: T + one round trip, with slack.
      assert.equal(o.transport, "xhr-streaming");
      assert.ok(o.ms < T_DEFAULT + 1500, `opened after ${Math.round(o.ms)} ms`);
      assert.equal(await serverTransport(page, o.id), "@transport xhr-streaming");
      await assertEchoes(page, o.id, "through a plain nginx");
      await assertPrompt(t, page, o.id, "xhr-streaming (default)");
      // F.5: websocket failed during connect, so there is no upgrade probe.
      const st = await state(page, o.id);
      assert.equal(st.transport, "xhr-streaming");
      assert.equal(st.readyState, 1);
      assert.equal(st.closeEvent, null);
    });
  });

  for (const name of ["xhr-streaming", "htmlfile", "polling"]) {
    test(`${name} forced alone: opens and echoes promptly (not held in nginx's buffer)`, async (t, { nginx }) => {
      await withPage(nginx.url, async (page) => {
        const o = await open(page, { transports: [name] });
        t.diagnostic(`opened in ${Math.round(o.ms)} ms`);
        assert.equal(o.transport, name);
        assert.ok(o.ms < T_DEFAULT, `opened after ${Math.round(o.ms)} ms`);
        assert.equal(await serverTransport(page, o.id), `@transport ${name}`);
        await assertEchoes(page, o.id, name);
        await assertPrompt(t, page, o.id, name);
      });
    });
  }

  test("websocket forced alone: fails cleanly (close 1006, not a hang)", async (t, { nginx }) => {
    await withPage(nginx.url, async (page) => {
      const r = await page.evaluate(() =>
        T.open({ transports: ["websocket"] }).then(
          (o) => ({ opened: o.transport }),
          () => ({ closeEvent: T.state(T.sockets.length - 1).closeEvent }),
        ),
      );
      assert.deepEqual(r, { closeEvent: { code: 1006, reason: "", wasClean: false } });
    });
  });
});

describe(`(b) control: ${nginxVersion()} told to ignore X-Accel-Buffering`, () => {
  const { test } = sharedProxy(echoArgsWithPage(), plainProxyWithPage("proxy_ignore_headers X-Accel-Buffering;"));

  test("the streams are held in the buffer: the client falls through to polling within its bound", async (t, { nginx }) => {
    await withPage(nginx.url, async (page) => {
      const T_SHORT = 1000;
      const o = await open(page, { timeout: T_SHORT });
      t.diagnostic(`opened on ${o.transport} in ${Math.round(o.ms)} ms`);
      // websocket refused (a round trip), xhr-streaming and htmlfile silent (T each).
      assert.equal(o.transport, "polling");
      assert.ok(o.ms >= T_SHORT, `opened after only ${Math.round(o.ms)} ms: was a stream not held back?`);
      assert.ok(o.ms < 2 * T_SHORT + 1500, `opened after ${Math.round(o.ms)} ms`);
      await assertEchoes(page, o.id, "polling behind a buffering nginx");
      await assertPrompt(t, page, o.id, "polling (control)");
    });
  });
});

// ---------------------------------------------------------------------------
const READ_TIMEOUT_MS = 2000;
const IDLE_MS = 3 * READ_TIMEOUT_MS;

describe(`(c) browser client through ${nginxVersion()}, proxy_read_timeout ${READ_TIMEOUT_MS} ms, pings every 500 ms`, () => {
  const { test } = sharedProxy(
    echoArgsWithPage(["--ping-interval", "500", "--ping-timeout", "1000"]),
    recommendedWithPage({ readTimeout: `${READ_TIMEOUT_MS / 1000}s` }),
  );

  test(`idle sockets on every transport stay open for ${IDLE_MS} ms, then echo`, async (t, { nginx }) => {
    await withPage(nginx.url, async (page) => {
      const opened = [];
      for (const name of [null, ...TRANSPORTS]) {
        const o = await open(page, name ? { transports: [name] } : {});
        assert.equal(o.transport, name || "websocket");
        opened.push([name || "default", o.id, o.transport]);
      }
      // Time passing is what is tested: idle 3x nginx's read timeout on the page's clock.
      await page.evaluate((ms) => T.idle(ms), IDLE_MS);
      for (const [label, id, transport] of opened) {
        const st = await state(page, id);
        assert.equal(st.closeEvent, null, `${label}: closed ${JSON.stringify(st.closeEvent)}`);
        assert.equal(st.readyState, 1, label);
        assert.equal(st.transport, transport, label);
        assert.equal(st.errors, 0, label);
      }
      for (const [label, id] of opened) {
        assert.deepEqual(await page.evaluate((id) => T.roundTrip(id, ["after the idle time"], 5000), id),
          ["after the idle time"], label);
      }
    });
  });
});

describe(`(c) control: pings rarer than ${nginxVersion()}'s proxy_read_timeout`, () => {
  const { test } = sharedProxy(
    echoArgsWithPage(["--ping-interval", "5000", "--ping-timeout", "5000"]),
    recommendedWithPage({ readTimeout: `${READ_TIMEOUT_MS / 1000}s` }),
  );

  test("nginx cuts an idle websocket after proxy_read_timeout: onclose 1006", async (t, { nginx }) => {
    await withPage(nginx.url, async (page) => {
      // One evaluate, so the time is measured on the page from the open event.
      const r = await page.evaluate(async (ms) => {
        // Resume off: the control shows nginx's cut as plain WebSocket sees it.
        const o = await T.open({ resume: false });
        const t0 = performance.now();
        const ev = await T.closed(o.id, ms);
        return { transport: o.transport, ev, after: Math.round(performance.now() - t0) };
      }, READ_TIMEOUT_MS + 3000);
      assert.equal(r.transport, "websocket");
      t.diagnostic(`closed after ${r.after} ms: ${JSON.stringify(r.ev)}`);
      assert.equal(r.ev.code, 1006);
      assert.equal(r.ev.wasClean, false);
      assert.ok(r.after >= READ_TIMEOUT_MS - 300, `closed already after ${r.after} ms`);
    });
  });
});

// ---------------------------------------------------------------------------
describe("(d) graceful shutdown seen by the browser client (direct, no nginx)", () => {
  for (const signal of ["SIGINT", "SIGTERM"]) {
    const name = `${signal}: onclose reports 1001 on websocket and on polling; the server exits`;
    test(name, async (t) => {
      const srv = await startEchoServer(echoArgsWithPage());
      try {
        await withPage(srv.url, async (page) => {
          const sockets = [];
          for (const name of ["websocket", "polling"]) {
            const o = await open(page, { transports: [name] });
            assert.equal(o.transport, name);
            assert.deepEqual(await page.evaluate((id) => T.roundTrip(id, ["ready?"], 5000), o.id), ["ready?"]);
            sockets.push([name, o.id]);
          }
          const exited = once(srv.proc, "exit", 10000);
          srv.proc.kill(signal);
          // Every socket's close event first, then the assertions, so that a
          // failure reports what each transport saw.
          const seen = {};
          for (const [name, id] of sockets) {
            seen[name] = await page.evaluate((id) => T.closed(id, 8000), id);
            t.diagnostic(`${name}: ${JSON.stringify(seen[name])}`);
          }
          const [code, sig] = await exited;
          t.diagnostic(`server exit: code ${code}, signal ${sig}`);
          for (const [name] of sockets) {
            assert.deepEqual(seen[name], { code: 1001, reason: "going away", wasClean: true }, name);
          }
          assert.equal(sig, null, `server killed by ${sig}`);
          assert.equal(code, 0, `server exit code ${code}`);
        });
      } catch (err) {
        srv.dumpStderr(`shutdown test failed: ${err.message}`);
        throw err;
      } finally {
        await srv.stop();
      }
    });
  }
});
