// Unit tests of the fault-injecting proxy (tests/support/faultproxy.mjs)
// against small Node servers: it forwards faithfully, and each kind of cut
// lands where it says (the client gets the bytes before the point, then a
// reset; the server sees its connection reset), chaos is reproducible from
// its seed, and refusing or blocking requests works.
//
// Run: node --test tests/support/faultproxy.test.mjs

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { makeRng, startFaultProxy } from "./faultproxy.mjs";
import { eventually, withTimeout } from "./wait.mjs";

const BOUNDARY = "Zx7Qm2Lp9Kt4Wv1Bn8Rc3Hs6Jd5Fg0Ya";
const part = (p) => `\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n${p}\r\n--${BOUNDARY}`;
const script = (p) => `<script>p("${p}");</script>\n`;

/** Listen on 127.0.0.1:0; resolves with the port. */
function listen(server) {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));
}

/**
 * A raw client: sends `request`, collects everything until the socket
 * ends or errors. Resolves `{ data: Buffer, error: code or null }`.
 */
function rawExchange(port, request, ms = 5000) {
  return withTimeout(
    new Promise((resolve) => {
      const chunks = [];
      const s = net.connect({ port, host: "127.0.0.1" }, () => s.write(request));
      s.on("data", (c) => chunks.push(c));
      s.on("error", (err) => resolve({ data: Buffer.concat(chunks), error: err.code }));
      s.on("end", () => resolve({ data: Buffer.concat(chunks), error: null }));
    }),
    ms,
    "raw exchange",
  );
}

describe("faultproxy: forwarding", () => {
  test("bytes both ways, unchanged, and half-close passes through", async () => {
    const echo = net.createServer({ allowHalfOpen: true }, (s) => {
      s.pipe(s);
    });
    const port = await listen(echo);
    const proxy = await startFaultProxy({ port, seed: 1 });
    try {
      const payload = randomBytes(3 * 1024 * 1024);
      const got = await withTimeout(
        new Promise((resolve, reject) => {
          const chunks = [];
          const s = net.connect({ port: proxy.port, host: "127.0.0.1" }, () => s.end(payload));
          s.on("data", (c) => chunks.push(c));
          s.on("end", () => resolve(Buffer.concat(chunks)));
          s.on("error", reject);
        }),
        10000,
        "echo through the proxy",
      );
      assert.equal(got.length, payload.length);
      assert.ok(got.equals(payload), "echoed bytes differ");
      assert.equal(proxy.cuts.length, 0);
      assert.equal(proxy.stats.bytesUp, payload.length);
      assert.equal(proxy.stats.bytesDown, payload.length);
    } finally {
      await proxy.close();
      echo.close();
    }
  });
});

describe("faultproxy: aimed HTTP cuts", () => {
  let server, port, proxy;
  const seen = []; // what the server got: { url, body, aborted }
  before(async () => {
    server = http.createServer((req, res) => {
      const entry = { url: req.url, body: 0, aborted: false };
      seen.push(entry);
      req.on("data", (c) => (entry.body += c.length));
      req.on("error", () => (entry.aborted = true));
      req.on("aborted", () => (entry.aborted = true));
      res.on("error", () => {});
      if (req.url === "/poll") {
        res.writeHead(200, { "Content-Type": "text/plain; charset=UTF-8", "Content-Length": 1000 });
        res.end("x".repeat(1000));
      } else if (req.url === "/multipart") {
        res.writeHead(200, { "Content-Type": `multipart/mixed; boundary="${BOUNDARY}"` });
        res.write(`--${BOUNDARY}`);
        let i = 0;
        const timer = setInterval(() => {
          if (res.destroyed || i > 200) return clearInterval(timer);
          res.write(part(`4message number ${i++} with some text`));
        }, 2);
      } else if (req.url === "/htmlfile") {
        res.writeHead(200, { "Content-Type": "text/html; charset=UTF-8" });
        res.write(`<!DOCTYPE html><html><head></head><body>${" ".repeat(100)}\n`);
        let i = 0;
        const timer = setInterval(() => {
          if (res.destroyed || i > 200) return clearInterval(timer);
          res.write(script(`4message number ${i++} with some text`));
        }, 2);
      } else {
        req.on("end", () => {
          res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": 2 });
          res.end("ok");
        });
      }
    });
    port = await listen(server);
    proxy = await startFaultProxy({ port, seed: 42 });
  });
  after(async () => {
    await proxy.close();
    server.closeAllConnections();
    server.close();
  });

  test("get-head-body: the client gets the whole head and no body, then a reset", async () => {
    const cut = proxy.arm("get-head-body");
    const r = await rawExchange(proxy.port, "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n");
    const rec = await cut;
    assert.equal(r.error, "ECONNRESET");
    const text = r.data.toString("latin1");
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.ok(text.endsWith("\r\n\r\n"), `expected the head alone, got ${JSON.stringify(text.slice(-40))}`);
    assert.equal(rec.kind, "get-head-body");
    assert.equal(rec.request, "GET /poll HTTP/1.1");
  });

  test("poll-body: part of a Content-Length body, never all of it", async () => {
    const cut = proxy.arm("poll-body");
    const r = await rawExchange(proxy.port, "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n");
    await cut;
    assert.equal(r.error, "ECONNRESET");
    const text = r.data.toString("latin1");
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    assert.ok(body.length >= 1 && body.length <= 999, `body of ${body.length} bytes`);
  });

  test("post-body: the server gets part of the body and a reset; the client a reset", async () => {
    const body = "b".repeat(20000);
    const cut = proxy.arm("post-body");
    const before = seen.length;
    const r = await rawExchange(proxy.port, `POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const rec = await cut;
    assert.equal(r.error, "ECONNRESET");
    assert.equal(r.data.length, 0);
    assert.equal(rec.dir, "up");
    const entry = await eventually(() => (seen.length > before && seen[before].aborted ? seen[before] : undefined), 5000, "server sees the abort");
    assert.ok(entry.body < body.length, `server got the whole body (${entry.body})`);
  });

  test("a POST after a cut one on a new connection goes through untouched", async () => {
    const r = await rawExchange(proxy.port, "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
    assert.equal(r.error, null);
    assert.match(r.data.toString(), /\r\n\r\nok$/);
  });

  test("multipart-part: the stream ends inside a part's packet", async () => {
    const cut = proxy.arm("multipart-part");
    const r = await rawExchange(proxy.port, "GET /multipart HTTP/1.1\r\nHost: x\r\n\r\n");
    await cut;
    assert.equal(r.error, "ECONNRESET");
    const body = dechunk(r.data);
    assert.ok(body.startsWith(`--${BOUNDARY}`), body.slice(0, 60));
    const tail = body.slice(body.lastIndexOf(`--${BOUNDARY}`) + BOUNDARY.length + 2);
    assert.ok(tail.length > 0, "cut exactly at a part boundary");
    assert.ok(tail.startsWith("\r\nContent-Type"), JSON.stringify(tail));
    assert.ok(!tail.endsWith("with some text"), `cut after the whole packet: ${JSON.stringify(tail)}`);
  });

  test("htmlfile-chunk: the document ends inside a <script> chunk", async () => {
    const cut = proxy.arm("htmlfile-chunk");
    const r = await rawExchange(proxy.port, "GET /htmlfile HTTP/1.1\r\nHost: x\r\n\r\n");
    await cut;
    assert.equal(r.error, "ECONNRESET");
    const body = dechunk(r.data);
    const tail = body.slice(body.lastIndexOf("\n") + 1);
    assert.ok(tail.startsWith('<script>p("'), JSON.stringify(tail));
    assert.ok(!tail.endsWith("</script>"), JSON.stringify(tail));
  });

  test("a filter narrows an armed cut; an unmatched arm times out and disarms", async () => {
    await assert.rejects(proxy.arm("post-body", { ms: 100 }), /no "post-body" to cut within 100 ms/);
    const cut = proxy.arm("get-head-body", { filter: (x) => x.request.includes("/htmlfile") });
    const ok = await rawExchange(proxy.port, "GET /poll HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.equal(ok.error, null, "the /poll GET was cut although the filter excludes it");
    const r = await rawExchange(proxy.port, "GET /htmlfile HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(r.error, "ECONNRESET");
    assert.equal((await cut).request, "GET /htmlfile HTTP/1.1");
  });

  test("refuse: new connections are reset; blockRequests: a matching request never reaches the server", async () => {
    proxy.refuse = true;
    const refused = await rawExchange(proxy.port, "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(refused.error, "ECONNRESET");
    proxy.refuse = false;
    proxy.blockRequests = (req) => req.target.startsWith("/poll");
    const before = seen.length;
    const blocked = await rawExchange(proxy.port, "GET /poll?x HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(blocked.error, "ECONNRESET");
    assert.equal(blocked.data.length, 0);
    proxy.blockRequests = null;
    const ok = await rawExchange(proxy.port, "GET /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    assert.equal(ok.error, null);
    assert.deepEqual(seen.slice(before).map((e) => e.url), ["/other"]);
  });
});

describe("faultproxy: WebSocket cuts", () => {
  let server, wss, port;
  before(async () => {
    server = http.createServer();
    wss = new WebSocketServer({ server });
    wss.on("connection", (ws) => {
      ws.on("error", () => {});
      ws.on("message", (data, binary) => {
        if (String(data) === "big") ws.send("y".repeat(200000));
        else ws.send(data, { binary });
      });
    });
    port = await listen(server);
  });
  after(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.close();
  });

  for (const kind of ["ws-frame-down", "ws-frame-up"]) {
    test(`${kind}: cut inside a frame; both ends see an abnormal close`, async () => {
      const proxy = await startFaultProxy({ port, seed: 7 });
      try {
        const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`);
        ws.on("error", () => {});
        await once(ws, "open");
        const serverSide = [...wss.clients].at(-1);
        const serverClosed = new Promise((r) => serverSide.once("close", (code) => r(code)));
        const got = [];
        ws.on("message", (d) => got.push(String(d)));
        // one exchange that passes, then the frame that is cut
        ws.send("hello");
        await eventually(() => (got.length === 1 ? true : undefined), 5000, "first echo");
        const cut = proxy.arm(kind);
        ws.send(kind === "ws-frame-down" ? "big" : "z".repeat(200000));
        const rec = await cut;
        const [code] = await withTimeout(once(ws, "close"), 5000, "client close");
        assert.equal(code, 1006);
        assert.equal(await withTimeout(serverClosed, 5000, "server close"), 1006);
        assert.deepEqual(got, ["hello"], "a cut frame was delivered whole");
        assert.equal(rec.kind, kind);
        assert.match(rec.request, /^GET \/ HTTP\/1\.1$/);
        assert.equal(proxy.stats.upgrades, 1);
      } finally {
        await proxy.close();
      }
    });
  }

  test("chaos: the same seed over the same traffic cuts at the same points", async () => {
    const run = async (seed) => {
      const proxy = await startFaultProxy({ port, seed });
      proxy.startChaos({ kinds: ["ws-frame-down", "ws-frame-up"], gap: [3, 9], max: 5 });
      try {
        while (proxy.cuts.length < 5) {
          const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/`);
          ws.on("error", () => {});
          await once(ws, "open");
          const closed = once(ws, "close");
          // one message at a time: each frame arrives as one buffer
          for (let i = 0; i < 40 && ws.readyState === WebSocket.OPEN; i++) {
            const echoed = Promise.race([once(ws, "message"), closed]);
            ws.send(`message ${i} ${"p".repeat(50)}`);
            await withTimeout(echoed, 5000, "echo");
          }
          ws.terminate();
        }
        return proxy.cuts.map((c) => [c.kind, c.offset]);
      } finally {
        await proxy.close();
      }
    };
    const a = await run(1234);
    const b = await run(1234);
    assert.equal(a.length, 5);
    assert.deepEqual(a, b);
    assert.ok(a.every(([, off]) => off > 0), JSON.stringify(a));
  });
});

test("makeRng: deterministic per seed, different across seeds, within [0, 1)", () => {
  const seq = (s) => Array.from({ length: 50 }, makeRng(s));
  assert.deepEqual(seq(99), seq(99));
  assert.notDeepEqual(seq(99), seq(100));
  assert.ok(seq(5).every((x) => x >= 0 && x < 1));
});

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

/** The body of a chunked response (possibly cut short), de-chunked, as latin1 text. */
function dechunk(raw) {
  const text = raw.toString("latin1");
  let pos = text.indexOf("\r\n\r\n") + 4;
  let out = "";
  while (pos < text.length) {
    const nl = text.indexOf("\r\n", pos);
    if (nl < 0) break;
    const size = parseInt(text.slice(pos, nl), 16);
    if (!size) break;
    out += text.slice(nl + 2, nl + 2 + size);
    pos = nl + 2 + size + 2;
  }
  return out;
}
