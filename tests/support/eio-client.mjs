// The stock engine.io-client 6.x (from node_modules) wrapped for tests:
// a socket whose received messages queue up in order, whose events are
// logged, and whose every wait has a deadline.

import { Socket } from "engine.io-client";
import { once, withTimeout } from "./wait.mjs";

export const DEFAULT_MS = 5000;

/**
 * Open a stock engine.io-client Socket on `url` (e.g. "http://127.0.0.1:PORT")
 * with `opts` (path defaults to "/engine.io"). Resolves with a `Client` once
 * the socket emitted "open"; rejects if it closes or errors first, or after `ms`.
 */
export async function openClient(url, opts = {}, ms = DEFAULT_MS) {
  const socket = new Socket(url, { path: "/engine.io", ...opts });
  const client = new Client(socket);
  try {
    await once(socket, "open", ms, { failOn: ["close", "error"] });
  } catch (err) {
    socket.close();
    throw new Error(`engine.io-client did not open (${JSON.stringify(opts)}): ${err.message}${transportErrorDetail(client.error)}`);
  }
  return client;
}

/** The HTTP status / WS failure hidden in a stock TransportError, for messages. */
export function transportErrorDetail(err) {
  if (!err) return "";
  const parts = [];
  if (err.description !== undefined) {
    const d = err.description;
    parts.push(`description: ${typeof d === "number" ? `HTTP ${d}` : d && d.message ? d.message : String(d)}`);
  }
  if (err.context && typeof err.context === "object") {
    const c = err.context;
    if (c.status !== undefined) parts.push(`status ${c.status}`);
    if (typeof c.responseText === "string" && c.responseText) parts.push(`body ${JSON.stringify(c.responseText.slice(0, 200))}`);
  }
  return parts.length ? ` [${parts.join("; ")}]` : "";
}

/** A stock Socket plus an ordered inbox and an event log. */
export class Client {
  constructor(socket) {
    this.socket = socket;
    /** The handshake object from the open packet. */
    this.handshake = null;
    /** Received messages not yet taken: `{ data, transport }`. */
    this.inbox = [];
    /** Every message ever received, in order: `{ data, transport }`. */
    this.received = [];
    this.waiters = [];
    /** Named events in order, e.g. ["open", "ping", "upgrading", "upgrade", "close"]. */
    this.events = [];
    this.pings = 0;
    this.closeInfo = null; // { reason, description }
    this.closed = new Promise((resolve) => {
      socket.on("close", (reason, description) => {
        this.closeInfo = { reason, description };
        resolve(this.closeInfo);
      });
    });
    socket.on("handshake", (h) => (this.handshake = h));
    socket.on("ping", () => this.pings++);
    for (const ev of ["open", "ping", "upgrading", "upgrade", "upgradeError", "error", "close"]) {
      socket.on(ev, (arg) => {
        this.events.push(ev);
        if (ev === "upgradeError") this.upgradeError = arg;
        if (ev === "error") this.error = arg;
      });
    }
    socket.on("message", (data) => {
      const entry = { data, transport: socket.transport ? socket.transport.name : null };
      this.received.push(entry);
      const w = this.waiters.shift();
      if (w) w(entry);
      else this.inbox.push(entry);
    });
  }

  get id() {
    return this.socket.id;
  }

  get transport() {
    return this.socket.transport ? this.socket.transport.name : null;
  }

  get readyState() {
    return this.socket.readyState;
  }

  send(data) {
    this.socket.send(data);
  }

  /** The next received message `{ data, transport }`, in order. */
  nextEntry(ms = DEFAULT_MS) {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift());
    let waiter;
    const p = new Promise((resolve) => {
      waiter = resolve;
      this.waiters.push(resolve);
    });
    const failOnClose = this.closed.then((info) => {
      throw new Error(`socket closed (${info.reason}) while waiting for a message`);
    });
    return withTimeout(Promise.race([p, failOnClose]), ms, "waiting for a message").catch((err) => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      throw err;
    });
  }

  /** The next received message's data. */
  async next(ms = DEFAULT_MS) {
    return (await this.nextEntry(ms)).data;
  }

  /** The next `n` messages' data, in order, within `ms` in total. */
  async take(n, ms = DEFAULT_MS) {
    const end = Date.now() + ms;
    const out = [];
    while (out.length < n) {
      try {
        out.push(await this.next(Math.max(1, end - Date.now())));
      } catch (err) {
        err.message += ` (got ${out.length} of ${n} messages)`;
        throw err;
      }
    }
    return out;
  }

  /** Send a test-hook command (`@id`, `@transport`, ...) and return the reply text. */
  async ask(command, ms = DEFAULT_MS) {
    this.send(command);
    const reply = await this.next(ms);
    if (typeof reply !== "string") throw new Error(`reply to ${command} is not text: ${String(reply)}`);
    return reply;
  }

  /** Wait for the socket's "close" event; resolves with `{ reason, description }`. */
  waitClosed(ms = DEFAULT_MS) {
    return withTimeout(this.closed, ms, "waiting for the client's close event");
  }

  /** Close from the client side (stock `socket.close()`); no-op if already closed. */
  close() {
    if (this.socket.readyState !== "closed") this.socket.close();
  }
}

/** Bytes 0..255 then a few more, as a Buffer; a good binary test vector. */
export function allBytes(extra = 0) {
  const b = Buffer.alloc(256 + extra);
  for (let i = 0; i < b.length; i++) b[i] = i & 0xff;
  return b;
}

/**
 * Close every client in `clients` (ignoring errors) — for `finally` blocks,
 * so a failing test does not leave sockets keeping the process alive.
 */
export function closeAll(...clients) {
  for (const c of clients.flat()) {
    try {
      if (c) c.close();
    } catch {
      /* already gone */
    }
  }
}

/**
 * The three ways a stock client runs against the server:
 * - polling: long-polling only, no upgrade
 * - websocket: websocket only, from the first request
 * - upgrade: opens on polling and upgrades to websocket
 */
export const MODES = {
  polling: { opts: { transports: ["polling"], upgrade: false }, final: "polling", upgrades: ["websocket"] },
  websocket: { opts: { transports: ["websocket"] }, final: "websocket", upgrades: [] },
  upgrade: { opts: { transports: ["polling", "websocket"] }, final: "websocket", upgrades: ["websocket"] },
};

/**
 * Open a stock client in `mode` (a key of MODES); in "upgrade" mode resolve
 * only once the "upgrade" event fired (rejecting on "upgradeError").
 */
export async function openMode(url, mode, ms = DEFAULT_MS, extraOpts = {}) {
  const spec = MODES[mode];
  if (!spec) throw new Error(`unknown mode ${mode}`);
  const client = await openClient(url, { ...spec.opts, ...extraOpts }, ms);
  if (mode === "upgrade" && !client.events.includes("upgrade")) {
    try {
      await once(client.socket, "upgrade", ms, { failOn: ["upgradeError", "close"] });
    } catch (err) {
      client.close();
      throw new Error(`no upgrade to websocket: ${err.message}`);
    }
  }
  return client;
}
