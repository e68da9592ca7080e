// Test doubles for the client's environment: a manual clock, a scripted
// XMLHttpRequest, a scripted WebSocket and a storage. Injected through
// `new Polysock(url, protocols, { env: ... })`; nothing global is touched.
'use strict';
const path = require('node:path');

// POLYSOCK_DIST: run the tests against another build (e.g. an older client).
const Polysock = require(process.env.POLYSOCK_DIST || path.join(__dirname, '..', 'dist', 'polysock.js'));

class Clock {
  constructor() {
    this.now = 0;
    this.seq = 0;
    this.timers = new Map();
    this.setTimeout = (fn, ms) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.now + (ms || 0), fn, id });
      return id;
    };
    this.clearTimeout = (id) => { this.timers.delete(id); };
  }
  // Runs every timer due within `ms`, in time order, advancing `now`.
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let next = null;
      for (const t of this.timers.values()) {
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      }
      if (!next) break;
      this.timers.delete(next.id);
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }
  tick() { this.advance(0); }
}

function makeXhr(log) {
  return class FakeXHR {
    constructor() {
      this.readyState = 0;
      this.status = 0;
      this.responseText = '';
      this.headers = {};
      this.withCredentials = false;
      this.onreadystatechange = null;
      this.onprogress = null;
      this.aborted = false;
    }
    open(method, url) { this.method = method; this.url = url; this.readyState = 1; }
    setRequestHeader(k, v) { this.headers[k.toLowerCase()] = v; }
    send(body) { this.body = body; log.push(this); }
    abort() { this.aborted = true; }
    getResponseHeader(k) { return (this.resHeaders || {})[k.toLowerCase()] || null; }
    get query() { return new URL(this.url).searchParams; }
    // test side
    head(status, headers) {
      this.status = status;
      this.resHeaders = headers || {};
      this.readyState = 2;
      if (this.onreadystatechange) this.onreadystatechange();
    }
    chunk(text) {
      if (this.readyState < 2) this.head(200, {});
      this.responseText += text;
      this.readyState = 3;
      if (this.onreadystatechange) this.onreadystatechange();
      if (this.onprogress) this.onprogress();
    }
    end() {
      this.readyState = 4;
      if (this.onreadystatechange) this.onreadystatechange();
    }
    respond(status, text, headers) {
      this.head(status, headers);
      this.responseText = text || '';
      this.end();
    }
  };
}

function makeWs(log) {
  return class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.sent = [];
      this.readyState = 0;
      this.closed = false;
      log.push(this);
    }
    send(d) { this.sent.push(d); }
    close() { this.closed = true; this.readyState = 3; }
    get query() { return new URL(this.url.replace(/^ws/, 'http')).searchParams; }
    // test side
    serverOpen() { this.readyState = 1; if (this.onopen) this.onopen({}); }
    serverSend(data) { if (this.onmessage) this.onmessage({ data }); }
    serverClose(code) { this.readyState = 3; if (this.onclose) this.onclose({ code: code || 1006 }); }
  };
}

class Storage {
  constructor() { this.map = {}; }
  getItem(k) { return Object.prototype.hasOwnProperty.call(this.map, k) ? this.map[k] : null; }
  setItem(k, v) { this.map[k] = String(v); }
}

// A whole fake browser environment. Options: ws (false: no WebSocket),
// streaming (false: XHR without withCredentials), document, location.
function env(opts) {
  opts = opts || {};
  const clock = new Clock();
  const xhrs = [];
  const wss = [];
  const XHR = makeXhr(xhrs);
  const e = {
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    XMLHttpRequest: XHR,
    WebSocket: opts.ws === false ? undefined : makeWs(wss),
    ActiveXObject: undefined,
    Blob: opts.Blob,
    document: opts.document,
    location: opts.location || { protocol: 'http:', host: 'example.test', href: 'http://example.test/page.html' },
    window: opts.window || {},
    localStorage: opts.storage === undefined ? new Storage() : opts.storage,
    wsQueues: {}
  };
  if (opts.streaming === false) {
    e.XMLHttpRequest = class extends XHR { constructor() { super(); delete this.withCredentials; } };
  }
  return { env: e, clock, xhrs, wss };
}

const OPEN = (extra) => '0' + JSON.stringify(Object.assign({
  sid: 'S1', upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000, ext: 1, protocol: ''
}, extra || {}));

// Records every event a socket fires, in order.
function record(s) {
  const events = [];
  for (const type of ['open', 'message', 'error', 'close']) {
    s.addEventListener(type, (ev) => events.push(ev));
  }
  events.types = () => events.map((e) => e.type);
  return events;
}

const BOUNDARY = 'Zx7Qm2Lp9Kt4Wv1Bn8Rc3Hs6Jd5Fg0Ya';
const mp = {
  headers: { 'content-type': `multipart/mixed; boundary="${BOUNDARY}"` },
  preamble: ' '.repeat(2048) + '\r\n--' + BOUNDARY,
  part: (pkt) => '\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n' + pkt + '\r\n--' + BOUNDARY,
  end: '--\r\n'
};

module.exports = { Polysock, Clock, Storage, env, OPEN, record, mp, BOUNDARY };
