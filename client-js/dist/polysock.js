/*! Polysock 0.1.0 MIT */
(function (root, factory) {
  if (typeof module == 'object' && module.exports) module.exports = factory();
  else if (typeof define == 'function' && define.amd) define(factory);
  else root.Polysock = factory();
}(this, function () {
'use strict';
// constants.js: the numbers of the protocol and of the WebSocket interface,
// named once. Rollup and terser inline them, so names cost no bytes.

// Engine.IO v4 packet types (protocol-spec/02-packets-and-payloads.md).
var P_OPEN = 0;
var P_CLOSE = 1;
var P_PING = 2;
var P_PONG = 3;
var P_MESSAGE = 4;
var P_UPGRADE = 5;
// Resume sessions only (protocol-spec/11-resume.md): "7<n>", I have your messages 1..n.
var P_ACK = 7;

// WebSocket readyState values.
var CONNECTING = 0;
var OPEN = 1;
var CLOSING = 2;
var CLOSED = 3;

// Transport states (transport.js): created, waiting for its open packet,
// carrying the session, paused for an upgrade, closed for good.
var T_NEW = 0;
var T_OPENING = 1;
var T_OPEN = 2;
var T_PAUSED = 3;
var T_CLOSED = 4;

var DEFAULT_TIMEOUT = 2500;

// util.js: small helpers over plain values. Nothing here touches a built-in
// prototype.

var root = typeof window !== 'undefined' ? window :
  typeof globalThis !== 'undefined' ? globalThis : {};

function noop() {}

function inherit(Child, Parent) {
  function F() {}
  F.prototype = Parent.prototype;
  Child.prototype = new F();
  Child.prototype.constructor = Child;
}

function indexOf(list, item) {
  for (var i = 0; i < list.length; i++) {
    if (list[i] === item) return i;
  }
  return -1;
}

function isArray(x) {
  return Object.prototype.toString.call(x) === '[object Array]';
}

// An Error shaped like the DOMException a WebSocket would throw.
function domError(name, message) {
  try {
    return new root.DOMException(message, name);
  } catch (e) {
    var err = new Error(message);
    err.name = name;
    return err;
  }
}

// WebIDL USVString: every lone surrogate becomes U+FFFD.
function usv(s) {
  return String(s).replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, function (c) {
    return c.length > 1 ? c : '\ufffd';
  });
}

// Bytes `s` takes in UTF-8; `s` has been through usv() (no lone surrogates).
function utf8Length(s) {
  return encodeURIComponent(s).replace(/%../g, '-').length;
}

// ES5 accessors on ordinary objects: everywhere but IE8 and older (IE8's
// defineProperty works on DOM objects only).
var defineProperty = (function () {
  var d = Object.defineProperty, o = {};
  try {
    d(o, 'x', { get: function () { return 1; } });
    return o.x === 1 ? d : null;
  } catch (e) {
    return null;
  }
}());

// url.js: the WebSocket constructor's URL steps (WHATWG WebSockets, "new
// WebSocket(url)"): parse against the page's URL, map http(s) to ws(s),
// refuse other schemes and any fragment with a SyntaxError. The browser's
// own parser does the work: an <a> element's where there is a document
// (the same WHATWG parser in today's browsers; IE's own resolution in IE),
// else the URL constructor (workers, Node).


// -> [ws URL (the `url` attribute), http(s) URL for requests, ws origin].
// Refused (SyntaxError): a scheme other than http(s) and ws(s), no host, a
// fragment, or what does not parse at all.
function resolve(url, base, doc) {
  var href = '', m, a = doc && doc.createElement && doc.createElement('a');
  if (a) {
    a.href = url;
    // An unparseable URL leaves href as given, with an empty scheme.
    if (a.protocol !== ':') href = a.href;
  } else {
    try {
      href = new root.URL(url, base).href;
    } catch (e) {}
  }
  // [, "s" or "", "://host:port", path and query]
  m = /^(?:http|ws)(s?)(:\/\/[^\/?#]+)([^#]*)$/.exec(href);
  if (!m) throw domError('SyntaxError', 'URL ' + url);
  return ['ws' + m[1] + m[2] + m[3], 'http' + m[1] + m[2] + m[3], 'ws' + m[1] + m[2]];
}

// base64.js: binary messages on the HTTP transports travel as "b" + base64
// (protocol-spec/02). Binary data needs typed arrays, and every browser that
// has them (IE10 and later) also has atob/btoa, so the browser does the
// work; IE6-9 never reach this file's functions.


function b64encode(u8) {
  var s = '', i;
  for (i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i]);
  return root.btoa(s);
}

// Canonical padded base64 -> ArrayBuffer; throws on anything else (what
// does not encode back to itself: no padding, stray bits, whitespace).
function b64decode(b) {
  var s = root.atob(b), u8 = new Uint8Array(s.length), i;
  if (root.btoa(s) !== b) throw new Error('bad base64');
  for (i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  return u8.buffer;
}

// codec.js: Engine.IO v4 packets and payloads as text
// (protocol-spec/02-packets-and-payloads.md). A packet is
// {type: P_*, data: string | ArrayBuffer}; binary data only ever travels in
// message packets.


function isBinary(d) {
  var t = Object.prototype.toString.call(d);
  return t === '[object ArrayBuffer]' ||
    (typeof ArrayBuffer !== 'undefined' && !!ArrayBuffer.isView && ArrayBuffer.isView(d));
}

// A view of the bytes of an ArrayBuffer or of a view.
function bytesOf(d) {
  return d.buffer ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

// "<type digit><data>", or "b" + base64 for a binary message (HTTP transports).
function encodePacket(p) {
  if (isBinary(p.data)) return 'b' + b64encode(bytesOf(p.data));
  return p.type + (p.data == null ? '' : p.data);
}

// Inverse of encodePacket. `ws`: a WebSocket text frame, where "b" is no type.
// `ack`: a resume session, where type 7 (ack) exists too.
function decodePacket(s, ws, ack) {
  if (s.charAt(0) === 'b' && true) return { type: P_MESSAGE, data: b64decode(s.slice(1)) };
  return decodeText(s, ack);
}

// A packet of the form "<type digit><data>" (no "b": the served core, which
// carries websocket only, needs no base64).
function decodeText(s, ack) {
  var c = s.charAt(0);
  if (c < '0' || c > (ack ? '7' : '6') || s.length === 0) throw new Error('bad packet');
  return { type: +c, data: s.slice(1) };
}

// Polling payload: packets joined by the record separator U+001E.
function encodePayload(packets) {
  var out = [], i;
  for (i = 0; i < packets.length; i++) out.push(encodePacket(packets[i]));
  return out.join('\x1e');
}

// UTF-8 bytes a packet takes in a payload, for maxPayload.
function packetSize(p) {
  if (isBinary(p.data)) return 1 + Math.ceil(p.data.byteLength / 3) * 4;
  return 1 + utf8Length(p.data == null ? '' : String(p.data));
}

// events.js: the EventTarget half of the WebSocket interface.
//
// Where the browser can construct an EventTarget (every browser of 2018 and
// later), a Polysock *is* one (socket.js makes the instance with
// `new EventTarget()`), so addEventListener's options, dispatchEvent with
// any Event, stopImmediatePropagation and listener errors reported to the
// page are the browser's own. Elsewhere Emitter below stands in for it.
// Events are native Event / MessageEvent / CloseEvent objects where their
// constructors exist, else plain objects with the same fields.
//
// The on<type> attributes behave as IDL event handlers where ES5 accessors
// exist (IE9+): a non-object value reads back as null, and the handler runs
// in the place among the listeners where it was first set.


// Usable when an EventTarget made with `new` keeps working under another
// prototype (browsers check an internal slot; Node checks the constructor,
// so Node takes the Emitter path).
var NativeTarget = (function () {
  var E = root.EventTarget, p;
  function F() {}
  try {
    F.prototype = E.prototype;
    p = new F();
    p.constructor = F;
    Object.setPrototypeOf(new E(), p).addEventListener('x', noop);
    return E;
  } catch (e) {
    return null;
  }
}());

function makeEvent(type, init) {
  var C = type === 'message' ? root.MessageEvent : type === 'close' ? root.CloseEvent : 0, ev, k;
  try {
    ev = new (C || root.Event)(type, init);
  } catch (e) {
    ev = { type: type };
  }
  for (k in init) {
    if (!(k in ev)) ev[k] = init[k];
  }
  return ev;
}

// Sets a field of an event that may be native (read-only accessors).
function tag(ev, k, v) {
  try {
    if (defineProperty) defineProperty(ev, k, { value: v, configurable: true });
    else ev[k] = v;
  } catch (e) {}
}

function Emitter() {}

Emitter.prototype.addEventListener = function (type, fn) {
  if (!fn) return;
  var map = this._ls || (this._ls = {}), list = map[type] || (map[type] = []);
  if (indexOf(list, fn) < 0) list.push(fn);
};

Emitter.prototype.removeEventListener = function (type, fn) {
  var list = this._ls && this._ls[type], i = list ? indexOf(list, fn) : -1;
  if (i >= 0) list.splice(i, 1);
};

Emitter.prototype.dispatchEvent = function (ev) {
  var list = ((this._ls && this._ls[ev.type]) || []).slice(0), i, fn,
    h = !defineProperty && this['on' + ev.type];
  tag(ev, 'target', this);
  tag(ev, 'currentTarget', this);
  if (typeof h === 'function') list.unshift(h);
  for (i = 0; i < list.length; i++) {
    fn = list[i];
    // A listener removed by an earlier one in this dispatch is not called.
    if (fn !== h && indexOf(this._ls[ev.type], fn) < 0) continue;
    try {
      if (typeof fn === 'function') fn.call(this, ev);
      else if (fn.handleEvent) fn.handleEvent(ev);
    } catch (e) {
      // As browsers do: the others still run, the error surfaces on its own.
      this._env.setTimeout(function () { throw e; }, 0);
    }
  }
  return !ev.defaultPrevented;
};

// on<type> accessors on `proto` (IDL event handler attributes). The
// listener behind a handler is added when it is first set to an object and
// removed when set to null.
function handlers(proto, types) {
  function define(type) {
    defineProperty(proto, 'on' + type, {
      configurable: true,
      enumerable: true,
      get: function () {
        var h = this._hd && this._hd[type];
        return h ? h.v : null;
      },
      set: function (v) {
        var self = this, hd = this._hd || (this._hd = {}), h = hd[type];
        v = typeof v === 'function' || typeof v === 'object' ? v : null;
        if (h) {
          h.v = v;
          if (!v) {
            this.removeEventListener(type, h.f);
            delete hd[type];
          }
        } else if (v) {
          h = hd[type] = { v: v, f: function (ev) {
            if (typeof h.v === 'function' && h.v.call(self, ev) === false && ev.preventDefault) ev.preventDefault();
          } };
          this.addEventListener(type, h.f);
        }
      }
    });
  }
  for (var i = 0; i < types.length; i++) define(types[i]);
}

// transport.js: what every transport is. A transport moves packets for one
// socket and knows nothing of it: the socket subscribes with on(type, fn)
// and the transport emits
//   start            its connection attempt really began (websocket: after
//                    the page's handshake queue, see websocket.js)
//   packet (p)       a packet arrived
//   drain (batch)    the packets of one _send(packets, batch) have left
//   open             (websocket) the WebSocket connection is established
//   close            it is closed for good, by its owner or by a failure
//   error (x)        it failed: it has closed (close came first) and emits
//                    nothing more; x is the failed XHR, if one
// Its state is explicit (constants.js): T_NEW -open()-> T_OPENING
// -ready(sid)-> T_OPEN <-pause()/resume()-> T_PAUSED, and -close()-> T_CLOSED
// from anywhere. A subclass implements doOpen, doSend(packets), doClose,
// and may override hold(on) and pause(cb).


function Transport(ctx, sid) {
  this._x = ctx;       // {_env, _query(name, sid, n), _origin, _r: a resume session}: what the socket lends it
  this._e = ctx._env;
  this._sid = sid;     // set for an upgrade probe or once the open packet came
  this._st = T_NEW;
  this._w = false;
  this._hs = {};
}
var T = Transport.prototype;

T._on = function (type, fn) {
  this._hs[type] = fn;
  return this;
};

T._emit = function (type, arg) {
  var fn = this._st !== T_CLOSED && this._hs[type];
  if (fn) fn(arg);
};

T._open = function () {
  this._st = T_OPENING;
  this._doOpen();
};

// The open packet arrived: the session is this transport's.
T._ready = function (sid) {
  this._sid = sid;
  this._st = T_OPEN;
  this._w = true;
};

// HTTP transports take one batch at a time (one POST); websocket any number.
T._send = function (packets, batch) {
  this._w = false;
  this._doSend(packets, batch);
};

T._drained = function (batch) {
  if (this._st === T_OPEN) this._w = true;
  this._emit('drain', batch);
};

// `x`: the failed request of an HTTP transport, if any (its status, headers
// and body may say why: a resume refusal, a 503 with Retry-After).
T._fail = function (x) {
  var fn = this._st !== T_CLOSED && this._hs.error;
  this._bad = true;
  this._close();
  if (fn) fn(x);
};

T._close = function () {
  var fn = this._hs.close;
  if (this._st === T_CLOSED) return;
  this._st = T_CLOSED;
  this._w = false;
  this._doClose();
  if (fn) fn();
};

T._url = function () {
  return this._x._query(this.name, this._sid);
};

// Upgrade support (upgrade.js), for the HTTP transports (http.js), which
// are the only ones upgraded from. hold(true): finish the receiving request
// in flight, start no new one; hold(false): resume. pause(cb): stop sending
// and receiving, cb() once nothing is in flight (http.js only).
// stop(): stop receiving for good (the socket is closing).
T._hold = noop;
T._stop = noop;

// websocket.js: `transport=websocket` (protocol-spec/05-websocket.md). One
// Engine.IO packet per frame: text frames "<type><data>", binary frames are
// binary messages (no type byte).
//
// Many sockets to one host. Browsers let one WebSocket handshake per host be
// in progress at a time and hold the others back (Chromium also delays new
// handshakes more the more are pending), so 25 sockets created at once
// would spend most of their timeout in the browser's queue and give up on a
// websocket that works. The handshakes of the page therefore take turns
// here, one per host (ws origin) at a time: a transport's `start`, and with
// it the socket's timeout, comes when its turn does. A turn ends when the
// connection opens or fails; when it fails before opening, the transports
// still waiting fail at once too (they would meet the same proxy), so a
// blocked websocket costs one timeout for the whole page, not one each.


// The page's handshake queues, by ws origin.
var queues = {};

function WebSocketTransport(ctx, sid) {
  Transport.call(this, ctx, sid);
}
inherit(WebSocketTransport, Transport);
var W = WebSocketTransport.prototype;
W.name = 'websocket';

WebSocketTransport.enabled = function (env) {
  return !!env.WebSocket;
};

W._doOpen = function () {
  var all = this._e.wsQueues || queues, key = this._x._origin,
    q = this._q = all[key] || (all[key] = { _busy: null, _wait: [] });
  if (q._busy) q._wait.push(this);
  else this._go();
};

// Our turn: open the WebSocket.
W._go = function () {
  var self = this, ws;
  this._q._busy = this;
  this._emit('start');
  try {
    ws = this._ws = new this._e.WebSocket(this._url().replace(/^http/, 'ws'));
  } catch (e) {
    // e.g. a SecurityError: reported from a fresh task, as a failed open.
    this._e.setTimeout(function () { self._fail(); }, 0);
    return;
  }
  ws.binaryType = 'arraybuffer';
  ws.onopen = function () {
    self._release(false);
    self._emit('open');
  };
  ws.onmessage = function (ev) {
    var d = ev.data, p;
    if (typeof d === 'string') {
      try {
        p = decodeText(d, self._x._r);
      } catch (e) {
        return self._fail();
      }
    } else {
      p = { type: P_MESSAGE, data: d };
    }
    self._emit('packet', p);
  };
  ws.onclose = function (ev) {
    self._fail(ev);
  };
};

// What a close says (socket.js _onError): a refused resume handshake comes
// in-band, as a close 4001-4099 whose reason is the refusal's detail
// (protocol-spec 11.7): a page cannot read a failed handshake's answer.
W._why = function (ev) {
  var c = ev.code;
  return c > 4000 && c < 4100 && ev.reason ? { _d: ev.reason } : {};
};

// Ends this transport's turn (or its wait), letting the next one go.
W._release = function (failed) {
  var q = this._q, next, i;
  if (!q) return;
  this._q = null;
  if (q._busy !== this) {
    i = indexOf(q._wait, this);
    if (i >= 0) q._wait.splice(i, 1);
    return;
  }
  q._busy = null;
  while ((next = q._wait.shift())) {
    if (!failed) return next._go();
    next._q = null;
    next._fail();
  }
};

// Always writable: a WebSocket queues what it is given.
W._send = function (packets, batch) {
  var self = this, ws = this._ws, i, p;
  for (i = 0; i < packets.length; i++) {
    p = packets[i];
    ws.send(isBinary(p.data) ? p.data : p.type + (p.data == null ? '' : p.data));
  }
  // As a WebSocket's own bufferedAmount: the bytes count until the browser
  // has handed them to the network, and never stop counting in this task.
  function check() {
    if (self._st === T_CLOSED) return;
    if (ws.bufferedAmount > 0) self._e.setTimeout(check, 5);
    else self._drained(batch);
  }
  this._e.setTimeout(check, 0);
};

W._doClose = function () {
  var ws = this._ws;
  this._release(this._bad);
  if (!ws) return;
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  try {
    ws.close();
  } catch (e) {}
};

// socket.js: Polysock, the WebSocket-shaped object. It owns the state machine
// (readyState), the write buffer, the heartbeat, transport selection with
// fallback and the upgrade to websocket; transports only move packets and
// report through their events (transport.js).
//
//   CONNECTING --open packet--> OPEN --close()--> CLOSING --flushed--> CLOSED
//       |                         |
//       +--every transport failed / close() / heartbeat lost / error--> CLOSED
//       ^                                                                |
//       +------------- option reconnect: a close not asked for ---------+
//
// A resume session (the open packet has "resume": protocol-spec/11-resume.md)
// does not close when its transport is lost: it stays OPEN, suspended, and
// resumes in the background ("resume" below).
//
// Selection (protocol-spec/fallback.md): try the usable transports in
// preference order (the one remembered from an earlier page first), each for
// at most `timeout` ms from its start until its open packet arrives. Once
// open on something other than websocket, probe websocket and upgrade if it
// answers.


// The transports by name. The HTTP ones (polling, xhr-streaming, htmlfile)
// come in through useHttp: at once in the npm builds (umd.js, index.js); in
// the served build (served.js) from <mount>/polysock-http.js, which the first
// socket that needs one of them loads (load.js).
var TRANSPORTS = { 'websocket': WebSocketTransport };
var DEFAULT_TRANSPORTS = ['websocket', 'xhr-streaming', 'htmlfile', 'polling'];
// The stand-in for JSON (json.js FLAT) that comes with the HTTP
// transports: a browser without JSON (IE6/7) has no WebSocket either, so it
// has them before any packet can arrive.
var flatJSON;

// `m`: http-all.js's HTTP: the transports, the flat JSON reader, and the
// function that installs the upgrade to websocket.
function useHttp(m) {
  for (var k in m._t) TRANSPORTS[k] = m._t[k];
  flatJSON = m._p;
  m._u(P, WebSocketTransport);
}

// json('parse', text), json('stringify', closeBody).
function json(k, x) {
  var J = root.JSON;
  return (J && J[k] ? J : flatJSON)[k](x);
}
var STORE_KEY = 'polysock:';
var NO_PROBE_MS = 3600000;
// Bytes of messages a resume session keeps until acknowledged (option resumeBuffer).
var DEFAULT_RETAIN = 67108864;
// The default number of tries of option reconnect: true.
var DEFAULT_TRIES = 10;
// RFC 7230 token: ! # $ % & ' * + - . ^ _ ` | ~ digits letters.
var TOKEN = /^[!#-'*+.\w^`|~-]+$/;

// Transport names to try, best first: the preference list minus what cannot
// run here, with the remembered transport (if any, and allowed) moved first.
function transportOrder(prefs, usable, remembered) {
  var out = [], i, n;
  for (i = 0; i < prefs.length; i++) {
    n = prefs[i];
    if (indexOf(DEFAULT_TRANSPORTS, n) < 0) throw new TypeError('Unknown transport: ' + n);
    if (indexOf(out, n) < 0 && usable(n)) {
      if (n === remembered) out.unshift(n);
      else out.push(n);
    }
  }
  return out;
}

// WebIDL [Clamp] unsigned short: NaN is 0, halves round to even.
function clampCode(x) {
  var f, d;
  x = +x || 0;
  x = x < 0 ? 0 : x > 65535 ? 65535 : x;
  f = Math.floor(x);
  d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2) ? f + 1 : f;
}

// Milliseconds to wait before try k (0, 1, 2, ...) of resuming or of
// reconnecting: 0 for the first, then 500 ms doubling to at most 5 s, times
// a random 0.5..1.5 (r in 0..1). A server's hint (a Retry-After, a close
// 1012/1013) of h ms makes it h..2h instead.
function backoff(k, r, h) {
  return h ? h * (1 + r) : k ? Math.min(5000, 250 * Math.pow(2, k)) * (0.5 + r) : 0;
}

function missing() {
  return new TypeError('1 argument required');
}

function Polysock(url, protocols, options) {
  var self, env, m, loc, i, list, seen = {}, u, v;
  if (!(this instanceof Polysock)) throw new TypeError('new');
  if (!arguments.length) throw missing();
  // A real EventTarget where possible, keeping the prototype `new` chose (a
  // subclass's too).
  self = NativeTarget ? Object.setPrototypeOf(new NativeTarget(), this.constructor.prototype) : this;
  if (protocols && typeof protocols === 'object' && !isArray(protocols)) {
    options = protocols;
    protocols = undefined;
  }
  options = options || {};
  // The environment: the page, or a test's fakes (timers, WebSocket,
  // XMLHttpRequest, ActiveXObject, Blob, document, location, window,
  // localStorage, and wsQueues for the handshake turns).
  env = self._env = options.env || root;

  loc = env.location;
  u = resolve(usv(url), loc && loc.href, env.document);
  self._http = u[1];
  self._origin = u[2];
  // "<path>/?<query>&": the protocol's parameters follow.
  self._base = u[1].replace(/\/?(\?(.*))?$/, function (all, q, query) {
    return '/?' + (q ? query + '&' : '');
  });

  list = protocols === undefined ? [] : isArray(protocols) ? protocols : [protocols];
  protocols = [];
  for (i = 0; i < list.length; i++) {
    v = String(list[i]);
    if (!TOKEN.test(v) || seen[v] === 1) throw domError('SyntaxError', 'protocol ' + v);
    seen[v] = 1;
    protocols.push(v);
  }
  self._protocols = protocols;

  // (protocol, bufferedAmount and transport: _fresh below)
  v = self._v = {
    url: u[0],
    readyState: CONNECTING,
    extensions: '',
    binaryType: env.Blob ? 'blob' : 'arraybuffer'
  };
  if (!defineProperty) {
    for (m in v) self[m] = v[m];
    self.onopen = self.onmessage = self.onerror = self.onclose = null;
  }

  self._timeout = options.timeout || DEFAULT_TIMEOUT;
  self._prefs = options.transports || DEFAULT_TRANSPORTS;
  self._remember = options.remember !== false;
  self._resume = options.resume !== false;
  self._retain = options.resumeBuffer || DEFAULT_RETAIN;
  v = options.reconnect;
  self._tries = v === true ? DEFAULT_TRIES : +v || 0;
  self._tried = 0;
  self._ctx = {
    _env: env,
    _origin: u[2],
    _query: function (name, sid, n) { return self._url(name, sid, n); }
  };
  // An HTTP transport not loaded yet (served build) counts as usable; its
  // own check runs once it is loaded (_loadHttp).
  self._usable = function (n) {
    var T = TRANSPORTS[n];
    return (!T || T.enabled(env, u[2])) && !self._failed[n];
  };
  self._fresh();
  // Nothing happens before the constructor returns.
  self._start(0);
  return self;
}
inherit(Polysock, NativeTarget || Emitter);

var P = Polysock.prototype;
(function (names, i) {
  for (i = 0; i < 4; i++) Polysock[names[i]] = P[names[i]] = i;
}(['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']));
Polysock.transports = TRANSPORTS;

// Attributes: getters on the prototype (setters ignored, as WebSocket's
// read-only attributes), binaryType taking only its two values, handler
// attributes. Without accessors (IE8 and older) they are plain properties.
if (defineProperty) {
  (function () {
    function getter(k) {
      defineProperty(P, k, {
        configurable: true,
        enumerable: true,
        get: function () { return this._v[k]; },
        set: k === 'binaryType' ? function (t) {
          t = '' + t;
          if (t === 'blob' || t === 'arraybuffer') this._v[k] = t;
        } : undefined
      });
    }
    var k, names = { url: 1, readyState: 1, protocol: 1, extensions: 1, bufferedAmount: 1, binaryType: 1, transport: 1 };
    for (k in names) getter(k);
  }());
  handlers(P, ['open', 'message', 'error', 'close']);
}

P._set = function (k, v) {
  this._v[k] = v;
  if (!defineProperty) this[k] = v;
};

P._fire = function (type, init) {
  this.dispatchEvent(makeEvent(type, init));
};

// The state of one session, empty (at construction and before a reconnect).
// Write buffer entries are {type, data, n: bytes still in bufferedAmount,
// b: bytes, s: number (messages of resume sessions)}.
P._fresh = function () {
  this._wbuf = [];
  this._ret = [];      // messages handed to a transport, not yet acknowledged
  this._inflight = 0;
  this._in = this._out = this._sent = this._acked = this._held = this._ua = this._uab = 0;
  this._sid = this._win = this._ping = this._closing = this._ctx._r = null;
  this._set('bufferedAmount', 0);
  this._set('protocol', '');
  this._set('transport', null);
};

// Starts connecting after `delay` ms: the candidates of fallback.md F.3.
P._start = function (delay) {
  var self = this, memo = this._memo = this._mem();
  this._failed = {};
  this._noProbe = memo[1] > +new Date() - NO_PROBE_MS;
  this._order = transportOrder(this._prefs, this._usable, memo[0]);
  this._attemptTimer = this._env.setTimeout(function () { self._next(); }, delay);
};

P._delay = function (k) {
  var h = this._hint;
  this._hint = 0;
  return backoff(k, (this._env.Math || Math).random(), h);
};

// ---- public API -----------------------------------------------------------

P.send = function (data) {
  var v = this._v, n;
  if (!arguments.length) throw missing();
  if (v.readyState === CONNECTING) throw domError('InvalidStateError', 'CONNECTING');
  if (this._env.Blob && data instanceof this._env.Blob) throw new TypeError('Blob');
  if (isBinary(data)) {
    data = new Uint8Array(bytesOf(data)).buffer; // a snapshot, as WebSocket takes
    n = data.byteLength;
  } else {
    data = usv(data);
    n = utf8Length(data);
  }
  this._set('bufferedAmount', v.bufferedAmount + n);
  if (v.readyState !== OPEN) return;
  data = { type: P_MESSAGE, data: data, n: n, b: n };
  if (this._win) {
    data.s = ++this._out;
    // As the server's queue: one message over the bound still passes
    // when nothing else is held.
    if (this._held && this._held + n > this._retain) return this._later('send buffer overflowed');
    this._held += n;
  }
  this._wbuf.push(data);
  this._flush();
};

P.close = function (code, reason) {
  var rs = this._v.readyState, body = '';
  if (code !== undefined) {
    code = clampCode(code);
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw domError('InvalidAccessError', 'code ' + code);
    }
  }
  if (reason !== undefined) {
    reason = usv(reason);
    if (utf8Length(reason) > 123) throw domError('SyntaxError', 'reason > 123 bytes');
  }
  this._asked = true;
  if (rs >= CLOSING) return;
  // Nothing to send the close packet on: the connection fails.
  if (rs === CONNECTING || this._susp) return this._later('');
  this._set('readyState', CLOSING);
  // A reason needs a code on the wire: 1000, as WebSocket sends.
  if (code === undefined && reason) code = 1000;
  this._endProbe();
  this._t._stop();
  // A pending ack goes now, before the close packet, not after it.
  this._ackNow();
  // A stock server (no "ext" in its open packet) gets a bare close packet.
  if (code !== undefined && this._ext) body = json('stringify', { code: code, reason: reason || '' });
  this._closing = [code === undefined ? 1005 : code, reason || ''];
  this._wbuf.push({ type: P_CLOSE, data: body, n: 0 });
  this._flush();
};

// ---- transport selection --------------------------------------------------

P._wire = function (t) {
  var self = this;
  return t._on('packet', function (p) { self._onPacket(t, p); })
    ._on('error', function (x) { self._onError(t, x); })
    ._on('drain', function (b) { self._onDrain(t, b); });
};

// (_loadHttp: load.js, in the served build, before the first HTTP
// transport, or before anything where there is no JSON to read the open
// packet with; the npm builds have it all.)
P._next = function () {
  var n = this._order[0];
  if (n && !flatJSON && (!TRANSPORTS[n] || !root.JSON)) return this._loadHttp();
  var self = this, name = this._order.shift(), t, last = !this._order.length;
  if (!name) return this._susp ? this._round() : this._lost();
  t = this._attempt = this._wire(new TRANSPORTS[name](this._ctx));
  // The timeout runs from the attempt's real start; the last candidate has
  // nothing to fall back to and gets longer, except in the first three
  // resume rounds (an htmlfile attempt cut after its head never ends).
  t._on('start', function () {
    self._attemptTimer = self._env.setTimeout(function () {
      t._fail();
    }, last && (!self._susp || self._try > 3) ? self._timeout * 4 : self._timeout);
  });
  t._open();
};

// The query of a request: a handshake (no sid), a resume handshake (while
// suspended), or a request of the session. `n`: given for receiving GETs, the
// ack=N of a streaming transport (-1: none); a resume session puts its
// received count there on every transport, which acknowledges like 7<n>.
P._url = function (name, sid, n) {
  var u = this._base + 'EIO=4&transport=' + name, i, list = [];
  if (sid) {
    if (n != null && this._win) {
      n = this._in;
      this._ua = this._uab = 0;
      this._env.clearTimeout(this._at);
    }
    return u + '&sid=' + encodeURIComponent(sid) + (n == null || n < 0 ? '' : '&ack=' + n);
  }
  u += '&ext=1';
  if (this._susp) return u + '&resume=' + encodeURIComponent(this._sid) + '&last=' + this._in;
  for (i = 0; i < this._protocols.length; i++) list.push(encodeURIComponent(this._protocols[i]));
  return u + '&protocols=' + list.join(',') + (this._resume ? '&resume=1' : '');
};

// Storage: "<transport>", or "<transport> <time>" where time is when a
// websocket probe last failed (no probing for an hour after that). Storage
// that is missing or throws (private modes, sandboxes) is empty.
// _mem() reads [transport, time]; _mem(name, failedAt) writes.
P._mem = function (name, failedAt) {
  var v = null, k = STORE_KEY + this._http;
  try {
    if (this._remember) {
      if (name) this._env.localStorage.setItem(k, name + (failedAt ? ' ' + failedAt : ''));
      else v = this._env.localStorage.getItem(k);
    }
  } catch (e) {}
  v = String(v || '').split(' ');
  return [v[0], +v[1] || 0];
};

// ---- events from transports -----------------------------------------------

// `x`: the failed request, if any (HTTP transports), which the transport
// reads (http.js _why): a refusal of a resume handshake (its detail becomes
// the close reason; a code 0 is none: this transport is off, try the next),
// or a 503 that says to wait (Retry-After, else 5 s): no other transport now.
P._onError = function (t, x) {
  var w = x ? t._why(x) : {};
  if (t === this._attempt) {
    this._env.clearTimeout(this._attemptTimer);
    this._attempt = null;
    if (this._susp) {
      if (w._d) return this._finish(1006, w._d, false, true);
    } else {
      this._failed[t.name] = 1;
    }
    if (w._h) {
      this._hint = w._h;
      this._order = [];
    }
    this._next();
  } else if (t === this._probe) {
    this._endProbe();
    this._mem(this._t.name, +new Date());
    this._flush();
  } else if (t === this._t) {
    this._lost();
  }
};

P._onPacket = function (t, p) {
  var o, rs = this._v.readyState;
  if (t === this._probe) {
    if (p.type === P_PONG && p.data === 'probe') this._upgrade();
    return;
  }
  if (t !== this._t && t !== this._attempt) return;
  this._alive();
  if (p.type === P_OPEN && t === this._attempt) {
    try {
      o = json('parse', p.data);
    } catch (e) {
      return t._fail();
    }
    this._opened(t, o);
  } else if (p.type === P_CLOSE) {
    try {
      o = p.data ? json('parse', p.data) : {};
    } catch (e2) {
      o = {};
    }
    this._finish(o.code || 1005, o.reason || '', true, false);
  } else if (p.type === P_PING && rs === OPEN) {
    this._ackNow();
    this._wbuf.push({ type: P_PONG, data: p.data, n: 0 });
    this._flush();
  } else if (p.type === P_ACK) {
    // (Resume sessions only: the transports' decoders refuse 7 elsewhere.)
    // Out of range: a protocol error.
    o = p.data;
    if (!('' + +o === o && this._forget(+o))) this._finish(1006, '', false, true);
    else this._aw = 0, this._ackWait(t);
  } else if (p.type === P_MESSAGE && rs === OPEN) {
    if (this._win) this._got(p);
    o = p.data;
    if (typeof o !== 'string' && this.binaryType !== 'arraybuffer' && this._env.Blob) o = new this._env.Blob([o]);
    this._fire('message', { data: o, origin: this._origin });
  }
};

// An open packet: the handshake's (fires open), or a resume handshake's
// answer (same sid and "resumed": the server's received count r; forget our
// messages <= r and send the rest again, in order).
P._opened = function (t, o) {
  var again = this._susp;
  this._env.clearTimeout(this._attemptTimer);
  this._attempt = null;
  if (again) {
    if (o.sid !== this._sid || !this._forget(o.resumed)) {
      t._close();
      return this._finish(1006, 'resume failed', false, true);
    }
    this._susp = false;
    this._env.clearTimeout(this._wt);
    this._watch();
    this._wbuf = this._ret.concat(this._wbuf);
    this._ret = [];
  }
  this._t = t;
  t._ready(this._sid = o.sid);
  this._ping = (o.pingInterval || 25000) + (o.pingTimeout || 20000);
  this._max = o.maxPayload || 1000000;
  this._upgrades = o.upgrades || [];
  this._ext = !!o.ext;
  this._set('transport', t.name);
  this._mem(t.name, this._noProbe && this._memo[1]);
  this._alive();
  if (!again) {
    this._ctx._r = this._win = o.ext && o.resume && o.resume.window;
    this._tried = 0;
    this._set('protocol', o.ext ? o.protocol || '' : '');
    this._set('readyState', OPEN);
    this._fire('open');
  }
  if (this._v.readyState === OPEN) {
    this._maybeProbe();
    this._flush();
  }
};

// One batch of _flush has left: its bytes leave bufferedAmount; once the
// close packet and everything before it have left, the socket is closed.
P._onDrain = function (t, batch) {
  var self = this, c = this._closing, n = 0, i;
  if (!batch) return;
  if (!this._aT) this._ackWait(t);
  for (i = 0; i < batch.length; i++) {
    n += batch[i].n;
    batch[i].n = 0;
  }
  this._set('bufferedAmount', this._v.bufferedAmount - n);
  if (!--this._inflight && c && !this._wbuf.length) {
    this._env.setTimeout(function () { self._finish(c[0], c[1], true, false); }, 0);
  } else {
    this._flush();
  }
};

// ---- writing --------------------------------------------------------------

// Sends what the buffer holds; on HTTP transports as one payload of at most
// maxPayload bytes (http.js _batch; websocket takes everything).
P._flush = function () {
  var t = this._t, buf = this._wbuf, i;
  if (!t || !t._w || this._upgrading || !buf.length) return;
  i = t._batch ? t._batch(buf, this._max) : buf.length;
  this._wbuf = buf.slice(i);
  buf = buf.slice(0, i);
  // Messages of a resume session are kept until acknowledged; an ack says
  // what has been received when it leaves (never less than an ack= sent
  // before it).
  for (i = 0; i < buf.length; i++) {
    if (buf[i].s) this._ret.push(buf[i]), this._sent = buf[i].s;
    if (buf[i].type === P_ACK) buf[i].data = '' + this._in;
  }
  this._inflight++;
  t._send(buf, buf);
};

// ---- numbering and acknowledgements (resume sessions) ---------------------

// The server has our messages 1..n: forget them. False if n is out of range
// (below an earlier ack, above what was sent, not a number).
P._forget = function (n) {
  var ret = this._ret, e, d = 0;
  if (!(n >= this._acked && n <= this._sent)) return false;
  this._acked = n;
  while (ret.length && ret[0].s <= n) {
    e = ret.shift();
    this._held -= e.b;
    d += e.n;
    e.n = 0;
  }
  this._set('bufferedAmount', this._v.bufferedAmount - d);
  return true;
};

// A message arrived: acknowledge at 16 messages or 8 KiB not acknowledged,
// within 100 ms of the first, and before every pong.
P._got = function (p) {
  var self = this;
  this._in++;
  this._uab += packetSize(p);
  if (++this._ua >= 16 || this._uab >= 8192) {
    this._ackNow();
    this._flush();
  } else if (this._ua === 1) {
    this._at = this._env.setTimeout(function () {
      self._ackNow();
      self._flush();
    }, 100);
  }
};

// htmlfile: Chromium fires neither load nor error on an iframe whose stream
// is reset. The server acknowledges on the stream, within 100 ms, every
// message it received (protocol-spec 11.3), so from a POST's answer, and
// from every ack after it, an ack is owed while messages are unacknowledged:
// none within _aw ms and the stream is lost. _aw is 2.5 s, doubled with every
// loss found so in a row (up to the heartbeat: a slow link then costs a few
// needless resumes, not one every 2.5 s), and back to 2.5 s with an ack. Not
// while held for an upgrade (the acks come on the websocket then).
P._ackWait = function (t) {
  var self = this, env = this._env, w = this._aw || 2500;
  env.clearTimeout(this._aT);
  this._aT = t.name === 'htmlfile' && this._acked < this._sent && env.setTimeout(function () {
    self._aT = 0;
    if (!t._held) {
      self._aw = Math.min(2 * w, self._ping);
      t._fail();
    }
  }, w);
};

P._ackNow = function () {
  if (!this._ua) return;
  this._env.clearTimeout(this._at);
  this._ua = this._uab = 0;
  this._wbuf.push({ type: P_ACK, data: '' + this._in, n: 0 });
};

// ---- resume ---------------------------------------------------------------
//
// The transport is lost (an error, a close without a close packet, the
// heartbeat): stay OPEN, keep what send() gives, and try resume handshakes
// (?resume=<sid>&last=<received count>) in rounds over the transports, the
// one that last worked first, the rounds backoff() apart; a round starts at
// once on the page's online, pageshow and visibilitychange (to visible)
// events. Ends with the answer (_opened), a refusal (_onError: close 1006,
// its detail as reason) or the window of the open packet, from the loss
// ("resume window over").

P._suspend = function () {
  var self = this, buf = this._wbuf, i, name = this._t.name;
  this._teardown();
  this._susp = true;
  this._wbuf = [];
  for (i = 0; i < buf.length; i++) {
    if (buf[i].s) this._wbuf.push(buf[i]);
  }
  this._inflight = this._ua = this._uab = this._try = 0;
  this._cands = transportOrder(this._prefs, this._usable, name);
  this._wt = this._env.setTimeout(function () {
    self._finish(1006, 'resume window over', false, true);
  }, this._win);
  this._watch(true);
  this._round();
};

P._round = function () {
  var self = this;
  this._attemptTimer = this._env.setTimeout(function () { self._go(); }, this._delay(this._try++));
};

P._go = function () {
  this._order = this._cands.slice(0);
  this._next();
};

// The page's events, on its window (visibilitychange bubbles up from the
// document); none where there is no addEventListener (IE8 and older).
P._watch = function (on) {
  var self = this, env = this._env, d = env.document, m = on ? env.addEventListener : env.removeEventListener,
    f = this._kick || (this._kick = function () {
      if (self._susp && !self._attempt && !(d && d.hidden)) {
        env.clearTimeout(self._attemptTimer);
        self._go();
      }
    }), k;
  if (m) {
    for (k in { online: 1, pageshow: 1, visibilitychange: 1 }) m.call(env, k, f);
  }
};

// ---- heartbeat ------------------------------------------------------------

P._alive = function () {
  var self = this, env = this._env;
  if (!this._ping || this._susp) return;
  env.clearTimeout(this._hb);
  this._hb = env.setTimeout(function () { self._lost(); }, this._ping);
};

// ---- upgrade to websocket -------------------------------------------------
//
// _maybeProbe and _upgrade come with the HTTP transports (upgrade.js): only a
// socket on one of them probes. Until then (the served build before
// polysock-http.js) there is nothing to upgrade from.

P._maybeProbe = noop;

P._endProbe = function () {
  var t = this._probe;
  if (!t) return;
  this._probe = null;
  this._upgrading = false;
  this._env.clearTimeout(this._probeTimer);
  t._close();
  if (this._t) this._t._hold(false);
};

// ---- the end --------------------------------------------------------------

P._teardown = function () {
  var env = this._env;
  env.clearTimeout(this._attemptTimer);
  env.clearTimeout(this._hb);
  env.clearTimeout(this._at);
  env.clearTimeout(this._wt);
  this._aT = env.clearTimeout(this._aT);
  if (this._susp) this._watch();
  this._susp = false;
  this._endProbe();
  if (this._attempt) this._attempt._close();
  if (this._t) this._t._close();
  this._attempt = this._t = null;
  this._order = [];
};

// The connection failed: a resume session suspends, anything else fails
// (error, then close 1006).
P._lost = function () {
  if (this._win && this._v.readyState === OPEN) this._suspend();
  else this._finish(1006, '', false, true);
};

// Fails from a fresh task (the caller may be send() or close()).
P._later = function (reason) {
  var self = this;
  this._set('readyState', CLOSING);
  this._teardown();
  this._env.setTimeout(function () { self._finish(1006, reason, false, true); }, 0);
};

// Closed: error (if it failed) and close; then, with option reconnect and a
// close not asked for by close(), CONNECTING again after backoff() (at least
// 5 s after a close 1012/1013).
P._finish = function (code, reason, clean, error) {
  if (this._v.readyState === CLOSED) return;
  this._set('readyState', CLOSED);
  this._teardown();
  if (code === 1012 || code === 1013) this._hint = 5000;
  if (error) this._fire('error');
  this._fire('close', { code: code, reason: reason, wasClean: clean });
  if (!this._asked && this._tried < this._tries) {
    this._fresh();
    this._set('readyState', CONNECTING);
    this._start(this._delay(++this._tried));
  }
};

// json.js: the two JSON texts the client reads (the open packet and a close
// packet's body) and the one it writes (a close body), where the browser has
// no JSON (IE6/7; socket.js uses the browser's JSON elsewhere). No eval and no
// `new Function` (the page may forbid both with a CSP): where the browser has
// no JSON object (IE6/7), a flat parser reads objects of strings, numbers,
// booleans, null and arrays of those, which is every field those packets have.


// JSON string escapes, for the flat reader.
function str(s) {
  return s.replace(/\\(?:u(....)|(.))/g, function (m, hex, c) {
    var i = 'bfnrt'.indexOf(c);
    return hex ? String.fromCharCode(parseInt(hex, 16)) : i < 0 ? c : '\b\f\n\r\t'.charAt(i);
  });
}

// Without a native JSON (IE6/7): the members of one flat object as the
// server writes it (no white space), each a string, a number, true, false,
// null, an array of plain strings or a flat object of those (the open
// packet's "resume"), picked out by a regular expression.
// That covers the open packet and a close packet's body, the only JSON the
// client reads. Nothing is evaluated; what is not such an object reads as
// whatever members could be picked out of it.
function flatParse(text) {
  var out = {}, re = /"(\w+)":("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|[^,}]+)/g, m, v, c;
  while ((m = re.exec(text))) {
    v = m[2];
    c = v.charAt(0);
    out[m[1]] = c === '"' ? str(v.slice(1, -1)) : c === '[' ? (v.length > 2 ? v.slice(2, -2).split('","') : []) :
      c === '{' ? flatParse(v) :
      v === 'null' ? null : v === 'true' || (v !== 'false' && +v);
  }
  return out;
}

function parseJSON(text) {
  var J = root.JSON;
  return J && J.parse ? J.parse(text) : flatParse(text);
}

// A JSON string literal: anything but printable ASCII (and " \) as \\uXXXX.
function quote(s) {
  return '"' + s.replace(/[^ !#-\[\]-~]/g, function (c) {
    return '\\u' + (c.charCodeAt(0) + 0x10000).toString(16).slice(1);
  }) + '"';
}

// What JSON.stringify makes of a close body {code, reason} (escaped more).
function closeBody(o) {
  return '{"code":' + o.code + ',"reason":' + quote(o.reason) + '}';
}

// The stand-in for JSON where there is none (IE6/7): socket.js json().
var FLAT = { parse: flatParse, stringify: closeBody };

// http.js: XHR requests and HttpTransport, the base of the three HTTP
// transports (polling, xhr-streaming, htmlfile). They differ only in how
// they receive (get / stopGet); upstream is always a POST of a polling
// payload, answered "ok".


var reqSeq = 0;

// One request. done(err, xhr): err is null for status 200, else the status
// (0 for a network error). progress(xhr) runs as the body grows.
function request(env, method, url, body, done, progress) {
  var x = env.XMLHttpRequest ? new env.XMLHttpRequest() : new env.ActiveXObject('Microsoft.XMLHTTP');
  // Unique, so that no cache answers a GET (old IE caches them).
  if (method === 'GET') url += '&t=' + +new Date() + '-' + reqSeq++;
  x.open(method, url, true);
  if (body != null) x.setRequestHeader('Content-Type', 'text/plain;charset=UTF-8');
  function grow() {
    if (progress && x.readyState > 2) progress(x);
  }
  x.onreadystatechange = function () {
    var st = 0;
    if (x.readyState !== 4) return grow();
    x.onreadystatechange = noop;
    try {
      st = x.status;
    } catch (e) {}
    done(st === 200 ? null : st, x);
  };
  if (progress && 'onprogress' in x) x.onprogress = grow;
  x.send(body == null ? null : body);
  return x;
}

function abort(x) {
  if (!x) return;
  x.onreadystatechange = noop;
  try {
    x.onprogress = noop;
    x.abort();
  } catch (e) {}
}

function HttpTransport(ctx, sid) {
  Transport.call(this, ctx, sid);
  this._getting = false; // a receiving request is in flight
  this._posting = null;  // the POST in flight
  this._held = false;
  this._n = 0;           // packets received over streams (for ack=N)
}
inherit(HttpTransport, Transport);

var H = HttpTransport.prototype;

H._doOpen = function () {
  this._emit('start');
  this._recv();
};

// Receiving GETs. Streaming transports resume a cut response with
// ack=<packets received>; in a resume session the socket puts its received
// count there instead, on every transport (socket.js _url).
H._url = function () {
  return this._x._query(this.name, this._sid, this._acks ? this._n : -1);
};

// In a resume session acks travel in POSTs (7<n>) and in receiving GETs
// (ack=), on different connections, so either may overtake the other: the
// server takes an ack that is not above an earlier one as stale (spec
// 11.3). A GET never waits for a POST: while the POST's messages wait for
// the application, the application may be waiting for this GET to make
// room for its replies.
H._recv = function () {
  if (this._st !== T_CLOSED && this._st !== T_PAUSED && !this._held && !this._getting) {
    this._getting = true;
    this._get();
  }
};

// A receiving request ended well: start the next one (or finish pausing).
H._ended = function () {
  this._getting = false;
  this._check();
  this._recv();
};

// How many packets of `buf` the next POST takes: one payload of at most
// `max` bytes (an oversized packet goes alone).
H._batch = function (buf, max) {
  var i = 0, size = 0;
  for (; i < buf.length; i++) {
    size += packetSize(buf[i]) + 1;
    if (i > 0 && size > max) break;
  }
  return i;
};

// A POST carrying messages of a resume session names the first one's
// number (seq=), so that the server drops what a re-sent POST repeats.
H._doSend = function (packets, batch) {
  var self = this, url = Transport.prototype._url.call(this), i = packets.length, seq;
  while (i--) if (packets[i].s) seq = packets[i].s; // backwards: ends with the first
  if (seq) url += '&seq=' + seq;
  this._posting = request(this._e, 'POST', url, encodePayload(packets), function (err) {
    self._posting = null;
    if (self._st === T_CLOSED) return;
    if (err !== null) return self._fail();
    self._check();
    self._drained(batch);
    self._recv();
  });
};

H._hold = function (on) {
  this._held = on;
  if (!on) {
    this._pcb = null;
    if (this._st === T_PAUSED) this._st = T_OPEN;
    this._w = !this._posting && this._st === T_OPEN;
    this._recv();
  }
};

H._pause = function (cb) {
  this._held = true;
  this._st = T_PAUSED;
  this._w = false;
  this._pcb = cb;
  this._check();
};

H._check = function () {
  var cb = this._pcb;
  if (cb && !this._getting && !this._posting) {
    this._pcb = null;
    cb();
  }
};

// Ends the receiving request (htmlfile has its own).
H._stopGet = function () {
  abort(this._req);
  this._req = null;
  this._getting = false;
};

// Stop receiving (the socket is closing); a POST in flight still completes.
H._stop = function () {
  this._held = true;
  this._stopGet();
};

H._doClose = function () {
  this._stopGet();
  abort(this._posting);
};

// Hands the packets of one receiving request on, counting them for ack=N.
// Stops early if this transport was closed meanwhile.
H._deliver = function (encoded) {
  var i, p;
  for (i = 0; i < encoded.length && this._st !== T_CLOSED; i++) {
    try {
      p = decodePacket(encoded[i], false, this._x._r);
    } catch (e) {
      return this._fail();
    }
    this._n++;
    this._emit('packet', p);
  }
};

// What a failed request `x` says (socket.js _onError): _d, the detail of a
// 400 with a code (a refused resume handshake); _h, for a 503, the ms to
// wait (Retry-After, else 5 s).
H._why = function (x) {
  var st = x.status, o = {}, d = {};
  if (st === 400) {
    try {
      d = parseJSON(x.responseText);
    } catch (e) {}
    if (d.code && typeof d.detail === 'string') o._d = d.detail;
  }
  if (st === 503) o._h = (+x.getResponseHeader('Retry-After') || 5) * 1000;
  return o;
};

function xhrEnabled(env) {
  return !!(env.XMLHttpRequest || env.ActiveXObject);
}

// multipart.js: cuts the growing responseText of one xhr-streaming response
// into packets (protocol-spec/07-xhr-streaming.md). Body: preamble, "\r\n--B",
// then per part "\r\n<headers>\r\n\r\n<packet>\r\n--B", and "--\r\n" after the
// last delimiter. feed() takes the whole text so far and returns the encoded
// packets completed since the last call; `done` turns true at the closing
// delimiter.

// The boundary of an xhr-streaming response, from its Content-Type.
function boundaryOf(contentType) {
  var m = /boundary="?([^";\s]+)/i.exec(contentType || '');
  return m ? m[1] : null;
}

function Multipart(boundary) {
  this.d = '\r\n--' + boundary;
  this.pos = -1; // index just after the last delimiter seen
  this.from = 0; // where the search for the next delimiter may start
  this.done = false;
}
var M = Multipart.prototype;

M.feed = function (text) {
  var d = this.d, out = [], i, part, h;
  while (!this.done) {
    i = text.indexOf(d, this.from);
    if (this.pos >= 0 && text.substr(this.pos, 2) === '--') {
      this.done = true;
      break;
    }
    if (i < 0) {
      this.from = Math.max(this.from, text.length - d.length);
      break;
    }
    if (this.pos >= 0) {
      part = text.substring(this.pos, i);
      h = part.indexOf('\r\n\r\n');
      if (h < 0) throw new Error('bad multipart part');
      out.push(part.slice(h + 4));
    }
    this.pos = this.from = i + d.length;
  }
  return out;
};

// xhr-streaming.js: `transport=xhr-streaming`. One long multipart GET read
// as responseText grows (readyState 3 / progress); the next GET starts when
// the server ends a response (after its response limit). POST up.


function XhrStreaming(ctx, sid) {
  HttpTransport.call(this, ctx, sid);
}
inherit(XhrStreaming, HttpTransport);
var X = XhrStreaming.prototype;
X.name = 'xhr-streaming';
X._acks = true;

// Needs an XHR that exposes responseText while loading: XHR level 2
// (withCredentials) marks IE10+ and every other browser of that age.
XhrStreaming.enabled = function (env) {
  var X = env.XMLHttpRequest;
  try {
    return !!X && 'withCredentials' in new X();
  } catch (e) {
    return false;
  }
};

X._get = function () {
  var self = this, mp = null, n0 = this._n;
  function feed(x) {
    var b, parts;
    if (self._st === T_CLOSED) return;
    if (!mp) {
      b = boundaryOf(x.getResponseHeader('Content-Type'));
      if (!b) return;
      mp = new Multipart(b);
    }
    try {
      parts = mp.feed(x.responseText);
    } catch (e) {
      return self._fail();
    }
    self._deliver(parts);
  }
  this._req = request(this._e, 'GET', this._url(), null, function (err, x) {
    if (self._st === T_CLOSED) return;
    if (err === null) feed(x);
    self._req = null;
    if (self._st === T_CLOSED) return;
    // A 200 cut short is resumed with ack=N; one that carried nothing is not.
    if (err !== null || (!(mp && mp.done) && self._n === n0)) return self._fail(x);
    self._ended();
  }, feed);
};

// htmlfile.js: `transport=htmlfile` (protocol-spec/08-htmlfile.md). A
// forever-iframe whose <script> chunks call p("<packet>") and finally
// p(null), where the server's preamble binds p = parent._polysock_cb.c<N>
// for the query's `c=<N>` (digits only: the server, not the query, names the
// callback). In IE the iframe lives in an ActiveXObject("htmlfile") document
// (no "loading" cursor, no clicks); elsewhere it is a hidden iframe in the
// page. The iframe must be same-origin to reach its parent. POST up.
//
// One callback per request, so a late call from a finished iframe is ignored.


var CB = '_polysock_cb', cbSeq = 0;

function HtmlFile(ctx, sid) {
  HttpTransport.call(this, ctx, sid);
}
inherit(HtmlFile, HttpTransport);
var F = HtmlFile.prototype;
F.name = 'htmlfile';
F._acks = true;

// `origin`: the socket's ws(s) origin; the page's must be the same.
HtmlFile.enabled = function (env, origin) {
  var loc = env.location;
  return !!(env.document && loc && origin === 'ws' + loc.protocol.slice(4) + '//' + loc.host);
};

F._doOpen = function () {
  var env = this._e, ax;
  this._doc = env.document;
  this._win = env.window;
  if (env.ActiveXObject) {
    try {
      ax = new env.ActiveXObject('htmlfile');
      ax.open();
      ax.write('<html><body></body></html>');
      ax.close();
      this._doc = ax;
      this._win = ax.parentWindow;
    } catch (e) {}
  }
  HttpTransport.prototype._doOpen.call(this);
};

F._get = function () {
  var self = this, reg = this._win[CB] || (this._win[CB] = {}), f = this._doc.createElement('iframe'),
    n0 = this._n, r = this._req = { f: f, id: 'c' + ++cbSeq, reg: reg };
  // This request ended: by p(null), or by loading (an error page, or a
  // stream cut short if it carried nothing).
  function finish(loaded) {
    if (self._req !== r) return;
    self._stopGet();
    if (loaded && self._n === n0) self._fail();
    else self._ended();
  }
  reg[r.id] = function (s) {
    if (self._req === r) {
      if (s === null) finish();
      else self._deliver([s]);
    }
  };
  f.style.display = 'none';
  if (f.attachEvent) f.attachEvent('onload', function () { finish(1); });
  else f.onload = function () { finish(1); };
  f.src = this._url() + '&c=' + r.id.slice(1);
  (this._doc.body || this._doc.documentElement).appendChild(f);
};

// Removed from a fresh task: this may run inside the iframe's own script.
// A late call from the iframe finds this._req changed and is ignored.
F._stopGet = function () {
  var r = this._req;
  this._req = null;
  this._getting = false;
  if (r) {
    this._e.setTimeout(function () {
      delete r.reg[r.id];
      r.f.src = 'about:blank';
      if (r.f.parentNode) r.f.parentNode.removeChild(r.f);
    }, 0);
  }
};

F._doClose = function () {
  HttpTransport.prototype._doClose.call(this);
  this._doc = this._win = null;
};

// polling.js: `transport=polling`. Long-poll GET down, POST up (plain EIO4).


function Polling(ctx, sid) {
  HttpTransport.call(this, ctx, sid);
}
inherit(Polling, HttpTransport);
var L = Polling.prototype;
L.name = 'polling';
Polling.enabled = xhrEnabled;

L._get = function () {
  var self = this;
  this._req = request(this._e, 'GET', this._url(), null, function (err, x) {
    self._req = null;
    if (self._st === T_CLOSED) return;
    if (err !== null || !x.responseText) return self._fail(x);
    self._deliver(x.responseText.split('\x1e'));
    if (self._st !== T_CLOSED) self._ended();
  });
};

// upgrade.js: the upgrade from an HTTP transport to websocket
// (protocol-spec/fallback.md), as two methods of Polysock.prototype that
// useHttp (socket.js) installs together with the HTTP transports: only a
// socket on one of them probes, so the served build carries them in
// polysock-http.js.
//
//   client                          server
//     |--- WS ?sid=S ----------------->|   (probe; current transport runs on)
//     |--- 2probe -------------------->|   hold: no new receiving requests
//     |<-- 3probe ---------------------|   server ends the pending GET / stream
//     |    pause: wait for GET + POST in flight to finish
//     |--- 5 ------------------------->|   WS is now the transport
//     |--- buffered packets ---------->|


function upgrades(P, WebSocketTransport) {
  P._maybeProbe = function () {
    var self = this, t, env = this._env;
    if (this._t.name === 'websocket' || this._noProbe || !this._usable('websocket') ||
      indexOf(this._upgrades, 'websocket') < 0 || indexOf(this._prefs, 'websocket') < 0) return;
    t = this._probe = this._wire(new WebSocketTransport(this._ctx, this._sid));
    t._on('start', function () {
      self._probeTimer = env.setTimeout(function () { t._fail(); }, self._timeout * 4);
    })._on('open', function () {
      env.clearTimeout(self._probeTimer);
      self._probeTimer = env.setTimeout(function () { t._fail(); }, self._timeout);
      self._t._hold(true);
      t._ready(self._sid);
      t._send([{ type: P_PING, data: 'probe' }]);
    });
    t._open();
  };

  P._upgrade = function () {
    var self = this, t = this._probe, old = this._t;
    this._env.clearTimeout(this._probeTimer);
    this._upgrading = true;
    old._pause(function () {
      if (self._probe !== t) return;
      self._probe = null;
      self._upgrading = false;
      self._wbuf.unshift({ type: P_UPGRADE, n: 0 });
      old._close();
      self._t = t;
      self._set('transport', t.name);
      self._mem(t.name);
      self._flush();
    });
  };
}

// http-all.js: the three HTTP transports by name and the upgrade from them
// to websocket, for useHttp (socket.js):
// bundled into the npm builds, and the content of the served
// polysock-http.js (served-http.js).


var HTTP_TRANSPORTS = {
  'xhr-streaming': XhrStreaming,
  'htmlfile': HtmlFile,
  'polling': Polling
};

// What useHttp (socket.js) takes.
var HTTP = { _t: HTTP_TRANSPORTS, _p: FLAT, _u: upgrades };

// umd.js: the entry of the npm UMD bundle (dist/polysock.js): Polysock with
// every transport in one file, as a browser global, a CommonJS or an AMD
// module. (The server serves served.js and served-http.js instead.)


Polysock.version = '0.1.0';
useHttp(HTTP);


return Polysock;
}));
