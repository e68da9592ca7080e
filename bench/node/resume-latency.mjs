// Resume latency (issue 14), for polybench's `resume-*` workloads: the time
// from a cut to the first message the browser gets after it.
//
//   node bench/node/resume-latency.mjs --url http://127.0.0.1:PORT --transport websocket --cuts 30
//
// The server is polysock's echo example serving tests/browser/fixtures
// (--static). Headless Chromium loads tests/browser/fixtures/resume.html
// through the fault proxy (tests/support/faultproxy.mjs) and keeps 20
// numbered messages in flight, echoed back. Each round cuts the
// connection inside a server-to-client message (so the server holds a
// message the client never got: it is replayed on resume), then takes the
// time from the reset to the first echo the page receives, both read from
// the wall clock at sub-millisecond resolution (performance.timeOrigin +
// performance.now() in Node and in the page). Between rounds 50 more echoes
// must arrive. Prints one JSON line:
//   {"transport":..,"samples_ms":[..],"dup":0,"reordered":0,"seed":..}
// or {"error":"..."} (e.g. a server without resume closes the socket).

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { startFaultProxy } from "../../tests/support/faultproxy.mjs";

const DOWN_KIND = {
  websocket: "ws-frame-down",
  "xhr-streaming": "multipart-part",
  htmlfile: "htmlfile-chunk",
  polling: "poll-body",
};

function args(argv) {
  const a = { url: null, transport: "websocket", cuts: 30 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === "--url") a.url = v;
    else if (argv[i] === "--transport") a.transport = v;
    else if (argv[i] === "--cuts") a.cuts = Number(v);
    else continue;
    i++;
  }
  if (!a.url || !DOWN_KIND[a.transport] || !(a.cuts > 0)) {
    throw new Error("usage: resume-latency.mjs --url URL --transport websocket|xhr-streaming|htmlfile|polling --cuts N");
  }
  return a;
}

async function main() {
  const a = args(process.argv.slice(2));
  const port = Number(new URL(a.url).port);
  const proxy = await startFaultProxy({ port });
  const browser = await chromium.launch({
    executablePath: execFileSync("which", ["chromium"], { encoding: "utf8" }).trim(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${proxy.url}/resume.html`);
    const o = await page.evaluate((t) => R.open({ transports: [t], remember: false }), a.transport);
    if (o.transport !== a.transport) throw new Error(`opened on ${o.transport}`);
    await page.evaluate((id) => R.start(id, 100000000, 20, 24), o.id);
    const progress = () => page.evaluate((id) => R.progress(id), o.id);
    const samples = [];
    let p = await progress();
    for (let i = 0; i < a.cuts; i++) {
      const before = p.count;
      // 50 echoes between cuts: the resumed session is carrying traffic again
      p = await until(progress, (q) => q.count >= before + 50 || q.closeEvent, 20000, "50 echoes");
      const rec = await proxy.arm(DOWN_KIND[a.transport], { ms: 10000 });
      const at = await page.evaluate(([id, t]) => R.firstAfter(id, t, 20000), [o.id, rec.atHr]);
      p = await progress();
      if (p.closeEvent) throw new Error(`closed after cut ${i + 1}: ${JSON.stringify(p.closeEvent)}`);
      if (at === null) throw new Error(`no message within 20 s of cut ${i + 1}`);
      samples.push(at - rec.atHr);
    }
    p = await progress();
    const out = { transport: a.transport, samples_ms: samples, dup: p.dup, reordered: p.reordered, seed: proxy.seed };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await browser.close();
    await proxy.close();
  }
}

/** Poll `get()` until `ok(value)`; rejects after ms. */
async function until(get, ok, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: String(err && err.message ? err.message : err) })}\n`);
  process.exit(1);
});
