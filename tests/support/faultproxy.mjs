// A fault-injecting TCP proxy for the resume tests (issue 14): it sits
// between a client (Chromium, a Node client) and the server, forwards bytes
// both ways, and cuts connections with a TCP reset (socket.resetAndDestroy(),
// both sides) at chosen or random points:
//
//   const proxy = await startFaultProxy({ port: server.port });   // seed from $POLYSOCK_FAULT_SEED or random
//   ... the client talks to proxy.url ...
//   await proxy.arm("ws-frame-down");                             // the next such point is cut; resolves with the cut
//   proxy.startChaos({ kinds: ["ws-frame-down", "ws-frame-up"], gap: [100, 400] });
//   ... proxy.cuts: what was cut where; proxy.seed: print it to reproduce ...
//   await proxy.close();
//
// To aim, the proxy reads just enough of each connection: HTTP/1.1 request
// and response heads, bodies by Content-Length, chunked or until EOF, the
// switch to WebSocket on a 101, WebSocket frame headers, and inside
// streaming bodies the multipart parts (xhr-streaming) and `<script>`
// chunks (htmlfile). Each piece of traffic is an "opportunity" of one kind:
//
//   ws-frame-down    inside a server-to-client WebSocket frame
//   ws-frame-up      inside a client-to-server (masked) WebSocket frame
//   multipart-part   inside a part of a multipart/* response (aimed at the packet)
//   htmlfile-chunk   inside a <script> chunk of a streaming text/html response
//   post-body        inside the body of a POST (at least 1 byte sent, 1 kept back)
//   get-head-body    after a GET response's head, before any of its body
//   poll-body        inside a (Content-Length) response body to a GET
//
// A cut forwards the bytes before the chosen offset, then (after `settleMs`,
// default 25 ms, for the peer to read them: a reset discards unread data)
// resets both sockets; meanwhile nothing more passes either way. Random choices (offsets, chaos gaps and kinds) come from one
// seeded generator, so a failing run can be replayed with the seed it
// printed (TCP segmentation still varies a little from run to run).
//
// Not a general HTTP proxy: one connection upstream per connection accepted,
// no pipelining assumed beyond requests answered in order.

import { EventEmitter } from "node:events";
import net from "node:net";

export const KINDS = [
  "ws-frame-down",
  "ws-frame-up",
  "multipart-part",
  "htmlfile-chunk",
  "post-body",
  "get-head-body",
  "poll-body",
];

/** The opportunity kinds each transport produces, for chaos over one transport. */
export const TRANSPORT_KINDS = {
  websocket: ["ws-frame-down", "ws-frame-up"],
  "xhr-streaming": ["multipart-part", "post-body", "get-head-body"],
  htmlfile: ["htmlfile-chunk", "post-body", "get-head-body"],
  polling: ["poll-body", "post-body", "get-head-body"],
};

/** mulberry32: a small seeded generator, floats in [0, 1). */
export function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed to use: $POLYSOCK_FAULT_SEED when set, else a fresh random one. */
export function pickSeed() {
  const env = process.env.POLYSOCK_FAULT_SEED;
  if (env !== undefined && env !== "") {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`POLYSOCK_FAULT_SEED=${env}: not an integer`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 4294967296) >>> 0;
}

const CRLF2 = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");
const HEAD_LIMIT = 64 * 1024;

/**
 * Reads one direction of a connection and reports, for each buffer, the
 * cut opportunities in it: `{ kind, lo, hi, aim }` where lo..hi (inclusive)
 * are the numbers of bytes of this buffer that may be forwarded before the
 * reset, and aim (optional, within lo..hi) the preferred sub-range.
 */
class DirectionParser {
  constructor(conn, dir) {
    this.conn = conn;
    this.dir = dir; // "up": client to server; "down": server to client
    this.off = 0; // stream offset of the next buffer's first byte
    this.state = "head";
    this.head = [];
    this.headLen = 0;
    this.msg = null; // the message whose body is being read
    this.remaining = 0;
    this.line = "";
    this.ws = null; // WebSocket frame being read
  }

  feed(buf) {
    const regions = [];
    const base = this.off;
    let pos = 0;
    while (pos < buf.length) {
      pos = this.step(buf, pos, base, regions);
    }
    this.off += buf.length;
    return regions;
  }

  // One state's worth of work from `pos`; returns the new position.
  step(buf, pos, base, regions) {
    switch (this.state) {
      case "head":
        return this.readHead(buf, pos, regions);
      case "body-cl":
      case "chunk-data":
      case "body-eof": {
        const n = this.state === "body-eof" ? buf.length - pos : Math.min(this.remaining, buf.length - pos);
        this.bodyRegion(buf, pos, n, regions);
        this.msg.bodySeen += n;
        if (this.state !== "body-eof") {
          this.remaining -= n;
          if (this.remaining === 0) this.state = this.state === "body-cl" ? "head" : "chunk-crlf";
        }
        return pos + n;
      }
      case "chunk-crlf": {
        // the CRLF after a chunk's data; tolerate it split over buffers
        this.line += buf.toString("latin1", pos, pos + 1);
        if (this.line.length === 2) {
          this.line = "";
          this.state = "chunk-size";
        }
        return pos + 1;
      }
      case "chunk-size":
      case "trailer": {
        const nl = buf.indexOf(CRLF[1], pos); // LF
        const end = nl < 0 ? buf.length : nl + 1;
        this.line += buf.toString("latin1", pos, end);
        if (nl < 0) return end;
        const line = this.line.trim();
        this.line = "";
        if (this.state === "chunk-size") {
          const size = parseInt(line.split(";")[0], 16);
          if (!Number.isFinite(size) || size < 0) {
            this.state = "opaque";
          } else if (size === 0) {
            this.state = "trailer";
          } else {
            this.remaining = size;
            this.chunkStart = this.msg.bodySeen;
            this.chunkLen = size;
            this.state = "chunk-data";
          }
        } else if (line === "") {
          this.state = "head";
        }
        return end;
      }
      case "ws-wait":
      case "ws":
        return this.readWs(buf, pos, base, regions);
      default: // "opaque": something we do not follow; pass it on untouched
        return buf.length;
    }
  }

  readHead(buf, pos, regions) {
    // a head split over buffers: look for the terminator across the join too
    if (this.headLen > 0) {
      const joined = Buffer.concat([...this.head, buf.subarray(pos)]);
      const j = joined.indexOf(CRLF2);
      if (j >= 0) return this.finishHead(joined.subarray(0, j + 4), pos + (j + 4 - this.headLen), buf, regions);
    }
    const idx = this.headLen > 0 ? -1 : buf.indexOf(CRLF2, pos);
    if (idx < 0) {
      this.head.push(Buffer.from(buf.subarray(pos)));
      this.headLen += buf.length - pos;
      if (this.headLen > HEAD_LIMIT) this.state = "opaque";
      return buf.length;
    }
    return this.finishHead(buf.subarray(pos, idx + 4), idx + 4, buf, regions);
  }

  finishHead(headBuf, end, buf, regions) {
    this.head = [];
    this.headLen = 0;
    const text = headBuf.toString("latin1");
    const lines = text.split("\r\n");
    const headers = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(":");
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    const chunked = /chunked/i.test(headers["transfer-encoding"] || "");
    const cl = headers["content-length"] !== undefined ? Number(headers["content-length"]) : null;
    const conn = this.conn;
    if (this.dir === "up") {
      const [method, target] = lines[0].split(" ");
      const msg = { method, target, line: lines[0], headers, bodySeen: 0, bodyLen: cl, type: "request" };
      conn.requests.push(msg);
      conn.lastRequest = lines[0];
      conn.proxy.stats.requests++;
      if (conn.proxy.blockRequests && conn.proxy.blockRequests(msg)) {
        conn.blocked(msg);
        return buf.length;
      }
      this.msg = msg;
      if (/websocket/i.test(headers.upgrade || "")) {
        this.state = "ws-wait";
      } else if (chunked) {
        this.state = "chunk-size";
      } else if (cl > 0) {
        this.remaining = cl;
        this.state = "body-cl";
      }
      return end;
    }
    const status = Number(lines[0].split(" ")[1]);
    if (status >= 100 && status < 200 && status !== 101) return end; // interim response
    const req = conn.requests.shift() || { method: "GET", line: "?" };
    const msg = { req, status, headers, bodySeen: 0, bodyLen: cl, type: "response", ctype: headers["content-type"] || "" };
    this.msg = msg;
    if (status === 101) {
      conn.proxy.stats.upgrades++;
      this.state = "ws";
      conn.up.state = "ws";
      return end;
    }
    if (conn.up.state === "ws-wait") conn.up.state = "head"; // upgrade refused
    const bodyless = req.method === "HEAD" || status === 204 || status === 304;
    let hasBody = false;
    if (bodyless) {
      this.state = "head";
    } else if (chunked) {
      this.state = "chunk-size";
      hasBody = true;
    } else if (cl !== null) {
      this.remaining = cl;
      this.state = cl > 0 ? "body-cl" : "head";
      hasBody = cl > 0;
    } else {
      this.state = "body-eof";
      hasBody = true;
    }
    if (hasBody && req.method === "GET") regions.push({ kind: "get-head-body", lo: end, hi: end, msg });
    return end;
  }

  // Opportunities inside `n` body bytes at buf[pos..].
  bodyRegion(buf, pos, n, regions) {
    const msg = this.msg;
    let kind;
    let start = 0; // body offset the interior is counted from
    let len = Infinity;
    if (msg.type === "request") {
      if (msg.method !== "POST") return;
      kind = "post-body";
      len = msg.bodyLen ?? Infinity;
    } else if (/^multipart\//i.test(msg.ctype)) {
      kind = "multipart-part";
    } else if (/^text\/html/i.test(msg.ctype) && this.state !== "body-cl") {
      kind = "htmlfile-chunk";
    } else if (msg.req.method === "GET" && this.state === "body-cl") {
      kind = "poll-body";
      len = msg.bodyLen;
    } else {
      return;
    }
    if (this.state === "chunk-data") {
      start = this.chunkStart;
      len = this.chunkLen;
    }
    // body offsets b with start < b < start + len may be cut at
    const seen = msg.bodySeen;
    const lo = Math.max(start + 1, seen) - seen;
    const hi = Math.min(start + len - 1, seen + n) - seen;
    if (lo > hi) return;
    const r = { kind, lo: pos + lo, hi: pos + hi, msg };
    if (kind === "multipart-part") r.aim = aimBetween(buf, pos + lo, pos + hi, CRLF2, 4, Buffer.from("\r\n--"));
    if (kind === "htmlfile-chunk") r.aim = aimBetween(buf, pos + lo, pos + hi, Buffer.from('<script>p("'), 11, Buffer.from('");</script>'));
    // the body's first chunk without a packet in it is the preamble, not a part
    if ((kind === "multipart-part" || kind === "htmlfile-chunk") && !r.aim && start === 0) return;
    regions.push(r);
  }

  readWs(buf, pos, base, regions) {
    if (this.state === "ws-wait") this.state = "ws"; // frames before the 101: follow them anyway
    let f = this.ws;
    if (!f) {
      f = this.ws = { start: base + pos, header: [], hlen: 2, len: null };
    }
    // header bytes
    while (f.len === null && pos < buf.length) {
      f.header.push(buf[pos++]);
      const h = f.header;
      if (h.length === 2) {
        const l7 = h[1] & 0x7f;
        f.hlen = 2 + (l7 === 126 ? 2 : l7 === 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
      }
      if (h.length >= 2 && h.length === f.hlen) {
        const l7 = h[1] & 0x7f;
        let plen = l7;
        if (l7 === 126) plen = (h[2] << 8) | h[3];
        if (l7 === 127) plen = h.slice(2, 10).reduce((a, b) => a * 256 + b, 0);
        f.plen = plen;
        f.len = f.hlen + plen;
      }
    }
    if (f.len === null) return pos; // header continues in the next buffer
    const bufStart = base;
    const bufEnd = base + buf.length;
    const frameEnd = f.start + f.len;
    const lo = Math.max(f.start + 1, bufStart) - bufStart;
    const hi = Math.min(frameEnd - 1, bufEnd) - bufStart;
    if (lo <= hi) {
      // a frame longer than this buffer is an opportunity again in the next one
      const r = { kind: this.dir === "down" ? "ws-frame-down" : "ws-frame-up", lo, hi, msg: this.msg, opcode: f.header[0] & 0x0f };
      const alo = Math.max(f.start + f.hlen + 1, bufStart) - bufStart;
      if (alo <= hi) r.aim = [alo, hi];
      regions.push(r);
    }
    const end = Math.min(frameEnd, bufEnd) - bufStart;
    if (frameEnd <= bufEnd) this.ws = null;
    return end;
  }
}

// Aim inside the text after `open` (skip `skip` bytes) and before `close`, within lo..hi.
function aimBetween(buf, lo, hi, open, skip, close) {
  const a = buf.indexOf(open, Math.max(0, lo - skip));
  if (a < 0) return undefined;
  const from = a + skip;
  let to = buf.indexOf(close, from);
  if (to < 0) to = hi;
  const alo = Math.max(lo, from);
  const ahi = Math.min(hi, Math.max(from, to - 1));
  return alo <= ahi ? [alo, ahi] : undefined;
}

class Connection {
  constructor(proxy, client, id) {
    this.proxy = proxy;
    this.id = id;
    this.client = client;
    this.requests = [];
    this.lastRequest = null;
    this.dead = false;
    this.up = new DirectionParser(this, "up");
    this.down = new DirectionParser(this, "down");
    this.upstream = net.connect({ host: proxy.target.host, port: proxy.target.port, allowHalfOpen: true });
    this.upstream.setNoDelay(true);
    client.setNoDelay(true);
    this.pipe(client, this.upstream, this.up);
    this.pipe(this.upstream, client, this.down);
    const gone = () => {
      if (this.client.destroyed && this.upstream.destroyed) proxy.conns.delete(this);
    };
    client.on("close", gone);
    this.upstream.on("close", gone);
  }

  pipe(from, to, parser) {
    from.on("data", (buf) => {
      if (this.dead) return;
      const dir = parser.dir;
      this.proxy.stats[dir === "up" ? "bytesUp" : "bytesDown"] += buf.length;
      let regions;
      try {
        regions = parser.feed(buf);
      } catch (err) {
        parser.state = "opaque"; // never let our own parsing break the traffic
        regions = [];
        this.proxy.emit("parse-error", err);
      }
      if (this.dead) return; // blocked by a request filter
      for (const r of regions) {
        const offset = this.proxy.consider(this, dir, r);
        if (offset !== null) {
          this.cut(r, dir, offset, to, buf);
          return;
        }
      }
      if (!to.write(buf)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
    from.on("end", () => {
      if (!this.dead) to.end();
    });
    from.on("error", () => {
      if (!this.dead) {
        this.dead = true;
        to.resetAndDestroy();
      }
    });
  }

  /** Forward buf[0..offset) to `to`, then reset both sockets. */
  cut(region, dir, offset, to, buf) {
    this.dead = true;
    const rec = {
      n: this.proxy.cuts.length + 1,
      kind: region.kind,
      dir,
      conn: this.id,
      offset: region.lo === undefined ? null : offset,
      forwarded: offset,
      request: region.msg ? (region.msg.type === "response" ? region.msg.req.line : region.msg.line) : this.lastRequest,
      at: Date.now(),
      atHr: null, // performance.timeOrigin + performance.now() when the reset went out
    };
    this.proxy.cuts.push(rec);
    const reset = () => {
      rec.atHr = performance.timeOrigin + performance.now();
      this.client.resetAndDestroy();
      this.upstream.resetAndDestroy();
      this.proxy.emit("cut", rec);
      if (region.onCut) region.onCut(rec);
    };
    // A reset discards what the peer's kernel holds unread, so the bytes
    // before the cut get a moment to be read first (the cut itself is what
    // is tested; nothing waits on this delay).
    if (buf && offset > 0) to.write(buf.subarray(0, offset), () => setTimeout(reset, this.proxy.settleMs));
    else reset();
  }

  blocked(msg) {
    this.dead = true;
    this.proxy.stats.blocked++;
    this.proxy.emit("blocked", msg.line);
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
  }
}

export class FaultProxy extends EventEmitter {
  constructor({ host = "127.0.0.1", port, seed = pickSeed(), settleMs = 25 }) {
    super();
    this.settleMs = settleMs;
    if (!port) throw new Error("startFaultProxy: the target port is required");
    this.target = { host, port };
    this.seed = seed >>> 0;
    this.rng = makeRng(this.seed);
    this.cuts = [];
    this.conns = new Set();
    this.armed = [];
    this.chaos = null;
    /** When true, new connections are reset at once (the network is down). */
    this.refuse = false;
    /** `(request) => boolean`: a request whose head matches is reset before it is forwarded. */
    this.blockRequests = null;
    this.stats = { accepted: 0, refused: 0, requests: 0, upgrades: 0, blocked: 0, bytesUp: 0, bytesDown: 0 };
    this.nextId = 1;
    this.server = net.createServer({ allowHalfOpen: true }, (client) => {
      client.on("error", () => {});
      if (this.refuse) {
        this.stats.refused++;
        client.resetAndDestroy();
        return;
      }
      this.stats.accepted++;
      const conn = new Connection(this, client, this.nextId++);
      conn.upstream.on("error", () => {});
      this.conns.add(conn);
    });
  }

  listen() {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => {
        this.port = this.server.address().port;
        this.url = `http://127.0.0.1:${this.port}`;
        resolve(this);
      });
    });
  }

  /** An integer in [lo, hi] from the seeded generator. */
  int(lo, hi) {
    return lo + Math.floor(this.rng() * (hi - lo + 1));
  }

  pick(list) {
    return list[Math.floor(this.rng() * list.length)];
  }

  /**
   * Cut the next opportunity of `kind` (one of KINDS, or "any"); `filter(rec)`
   * may narrow it (rec: `{ kind, dir, request }`). Resolves with the cut's
   * record; rejects after `ms` when no such opportunity came (and disarms).
   */
  arm(kind, { filter, ms = 20000 } = {}) {
    if (kind !== "any" && !KINDS.includes(kind)) throw new Error(`unknown cut kind ${kind}`);
    return new Promise((resolve, reject) => {
      const entry = { kind, filter, resolve };
      entry.timer = setTimeout(() => {
        this.armed = this.armed.filter((a) => a !== entry);
        reject(new Error(`faultproxy (seed ${this.seed}): no "${kind}" to cut within ${ms} ms`));
      }, ms);
      this.armed.push(entry);
    });
  }

  /** Drop every armed cut that has not fired. */
  disarm() {
    for (const a of this.armed) clearTimeout(a.timer);
    this.armed = [];
  }

  /**
   * Random cuts: after a gap of `gap[0]..gap[1]` opportunities (of `kinds`),
   * draw one of `kinds` and cut its next opportunity; stops after `max` cuts.
   * A drawn kind that does not come within gap[1] opportunities is redrawn.
   */
  startChaos({ kinds, gap = [50, 200], max = Infinity }) {
    for (const k of kinds) if (!KINDS.includes(k)) throw new Error(`unknown cut kind ${k}`);
    this.chaos = { kinds, gap, max, done: 0, countdown: this.int(gap[0], gap[1]), target: null, patience: 0 };
  }

  stopChaos() {
    const done = this.chaos ? this.chaos.done : 0;
    this.chaos = null;
    return done;
  }

  // Whether to cut at this opportunity: the number of bytes to forward first, or null.
  consider(conn, dir, r) {
    const request = r.msg ? (r.msg.type === "response" ? r.msg.req.line : r.msg.line) : conn.lastRequest;
    const i = this.armed.findIndex((a) => (a.kind === "any" || a.kind === r.kind) && (!a.filter || a.filter({ kind: r.kind, dir, request })));
    if (i >= 0) {
      const [a] = this.armed.splice(i, 1);
      clearTimeout(a.timer);
      r.onCut = a.resolve;
      return this.offsetIn(r);
    }
    const c = this.chaos;
    if (!c || !c.kinds.includes(r.kind)) return null;
    if (c.target === null) {
      if (--c.countdown > 0) return null;
      c.target = this.pick(c.kinds);
      c.patience = c.gap[1];
    }
    if (r.kind !== c.target) {
      if (--c.patience <= 0) {
        c.target = this.pick(c.kinds);
        c.patience = c.gap[1];
      }
      if (r.kind !== c.target) return null;
    }
    c.target = null;
    c.countdown = this.int(c.gap[0], c.gap[1]);
    if (++c.done >= c.max) this.chaos = null;
    return this.offsetIn(r);
  }

  offsetIn(r) {
    const [lo, hi] = r.aim || [r.lo, r.hi];
    return this.int(lo, hi);
  }

  /** Reset every open connection now (a cut at no particular point). */
  cutAll() {
    const n = this.conns.size;
    for (const conn of this.conns) {
      if (conn.dead) continue;
      conn.cut({ kind: "now", msg: null }, null, 0, null, null);
    }
    return n;
  }

  /** Open connections (accepted and not yet closed on both sides). */
  get open() {
    return this.conns.size;
  }

  /** One line for logs: the seed and what was cut. */
  describe() {
    const byKind = {};
    for (const c of this.cuts) byKind[c.kind] = (byKind[c.kind] || 0) + 1;
    return `faultproxy seed=${this.seed} (POLYSOCK_FAULT_SEED=${this.seed} to replay) cuts=${this.cuts.length} ${JSON.stringify(byKind)}`;
  }

  async close() {
    this.disarm();
    this.chaos = null;
    for (const conn of this.conns) {
      conn.dead = true;
      conn.client.destroy();
      conn.upstream.destroy();
    }
    await new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Start a fault proxy in front of `host:port`; resolves once it listens on 127.0.0.1:0. */
export function startFaultProxy(opts) {
  return new FaultProxy(opts).listen();
}
