// socket.js: Polysock, the WebSocket-shaped object. It owns the state machine
// (readyState), the write buffer, the heartbeat, transport selection with
// fallback and the upgrade to websocket; transports only move packets and
// report through their events (transport.js).
//
//   CONNECTING --open packet--> OPEN --close()--> CLOSING --flushed--> CLOSED
//       |                         |
//       +--every transport failed / close() / heartbeat lost / error--> CLOSED
//
// Selection (protocol-spec/fallback.md): try the usable transports in
// preference order (the one remembered from an earlier page first), each for
// at most `timeout` ms from its start until its open packet arrives. Once
// open on something other than websocket, probe websocket and upgrade if it
// answers.

import {
  P_OPEN, P_CLOSE, P_PING, P_PONG, P_MESSAGE, P_UPGRADE,
  CONNECTING, OPEN, CLOSING, CLOSED, DEFAULT_TIMEOUT
} from './constants.js';
import { root, inherit, indexOf, isArray, domError, usv, utf8Length, defineProperty } from './util.js';
import { parseJSON, quote } from './json.js';
import { resolve } from './url.js';
import { isBinary, bytesOf, packetSize } from './codec.js';
import { NativeTarget, Emitter, makeEvent, handlers } from './events.js';
import { WebSocketTransport } from './websocket.js';
import { XhrStreaming } from './xhr-streaming.js';
import { HtmlFile } from './htmlfile.js';
import { Polling } from './polling.js';

export var TRANSPORTS = {
  'websocket': WebSocketTransport,
  'xhr-streaming': XhrStreaming,
  'htmlfile': HtmlFile,
  'polling': Polling
};
var DEFAULT_TRANSPORTS = ['websocket', 'xhr-streaming', 'htmlfile', 'polling'];
var STORE_KEY = 'polysock:';
var NO_PROBE_MS = 3600000;
// RFC 7230 token: ! # $ % & ' * + - . ^ _ ` | ~ digits letters.
var TOKEN = /^[!#-'*+.\w^`|~-]+$/;

// Transport names to try, best first: the preference list minus what cannot
// run here, with the remembered transport (if any, and allowed) moved first.
export function transportOrder(prefs, usable, remembered) {
  var out = [], i, n;
  for (i = 0; i < prefs.length; i++) {
    n = prefs[i];
    if (!TRANSPORTS.hasOwnProperty(n)) throw new TypeError('Unknown transport: ' + n);
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

function missing() {
  return new TypeError('1 argument required');
}

export function Polysock(url, protocols, options) {
  var self, env, m, loc, i, memo, list, seen = {}, u, v;
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

  v = self._v = {
    url: u[0],
    readyState: CONNECTING,
    protocol: '',
    extensions: '',
    bufferedAmount: 0,
    binaryType: env.Blob ? 'blob' : 'arraybuffer',
    transport: null
  };
  if (!defineProperty) {
    for (m in v) self[m] = v[m];
    self.onopen = self.onmessage = self.onerror = self.onclose = null;
  }

  self._timeout = options.timeout || DEFAULT_TIMEOUT;
  self._prefs = options.transports || DEFAULT_TRANSPORTS;
  self._remember = options.remember !== false;
  self._wbuf = [];
  self._inflight = 0;
  self._failed = {};
  self._ctx = {
    _env: env,
    _origin: u[2],
    _query: function (name, sid) { return self._url(name, sid); }
  };
  memo = self._memo = self._mem();
  self._noProbe = memo[1] > +new Date() - NO_PROBE_MS;
  self._order = transportOrder(self._prefs, function (n) {
    return TRANSPORTS[n].enabled(env, u[2]);
  }, memo[0]);
  // Nothing happens before the constructor returns.
  self._attemptTimer = env.setTimeout(function () { self._next(); }, 0);
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
  this._wbuf.push({ type: P_MESSAGE, data: data, n: n });
  this._flush();
};

P.close = function (code, reason) {
  var self = this, rs = this._v.readyState, body = '';
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
  if (rs >= CLOSING) return;
  this._set('readyState', CLOSING);
  if (rs === CONNECTING) {
    this._teardown();
    this._env.setTimeout(function () { self._lost(); }, 0);
    return;
  }
  // A reason needs a code on the wire: 1000, as WebSocket sends.
  if (code === undefined && reason) code = 1000;
  this._endProbe();
  this._t._stop();
  // A stock server (no "ext" in its open packet) gets a bare close packet.
  if (code !== undefined && this._ext) body = '{"code":' + code + ',"reason":' + quote(reason || '') + '}';
  this._closing = [code === undefined ? 1005 : code, reason || ''];
  this._wbuf.push({ type: P_CLOSE, data: body, n: 0 });
  this._flush();
};

// ---- transport selection --------------------------------------------------

P._wire = function (t) {
  var self = this;
  return t._on('packet', function (p) { self._onPacket(t, p); })
    ._on('error', function () { self._onError(t); })
    ._on('drain', function (b) { self._onDrain(t, b); });
};

P._next = function () {
  var self = this, name = this._order.shift(), t, last = !this._order.length;
  if (!name) return this._lost();
  t = this._attempt = this._wire(new TRANSPORTS[name](this._ctx));
  // The timeout runs from the attempt's real start; the last candidate has
  // nothing to fall back to and gets longer.
  t._on('start', function () {
    self._attemptTimer = self._env.setTimeout(function () {
      t._fail();
    }, last ? self._timeout * 4 : self._timeout);
  });
  t._open();
};

P._url = function (name, sid) {
  var u = this._base + 'EIO=4&transport=' + name, i, list = [];
  if (sid) return u + '&sid=' + encodeURIComponent(sid);
  for (i = 0; i < this._protocols.length; i++) list.push(encodeURIComponent(this._protocols[i]));
  return u + '&ext=1&protocols=' + list.join(',');
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

P._onError = function (t) {
  if (t === this._attempt) {
    this._env.clearTimeout(this._attemptTimer);
    this._failed[t.name] = 1;
    this._attempt = null;
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
      o = parseJSON(p.data);
    } catch (e) {
      return t._fail();
    }
    this._opened(t, o);
  } else if (p.type === P_CLOSE) {
    try {
      o = p.data ? parseJSON(p.data) : {};
    } catch (e2) {
      o = {};
    }
    this._finish(o.code || 1005, o.reason || '', true, false);
  } else if (p.type === P_PING && rs === OPEN) {
    this._wbuf.push({ type: P_PONG, data: p.data, n: 0 });
    this._flush();
  } else if (p.type === P_MESSAGE && rs === OPEN) {
    o = p.data;
    if (typeof o !== 'string' && this.binaryType !== 'arraybuffer' && this._env.Blob) o = new this._env.Blob([o]);
    this._fire('message', { data: o, origin: this._origin });
  }
};

P._opened = function (t, o) {
  this._env.clearTimeout(this._attemptTimer);
  this._attempt = null;
  this._t = t;
  t._ready(this._sid = o.sid);
  this._ping = (o.pingInterval || 25000) + (o.pingTimeout || 20000);
  this._max = o.maxPayload || 1000000;
  this._upgrades = o.upgrades || [];
  this._ext = !!o.ext;
  this._set('protocol', o.ext ? o.protocol || '' : '');
  this._set('transport', t.name);
  this._set('readyState', OPEN);
  this._mem(t.name, this._noProbe && this._memo[1]);
  this._alive();
  this._fire('open');
  if (this._v.readyState === OPEN) {
    this._maybeProbe();
    this._flush();
  }
};

// One batch of _flush has left: its bytes leave bufferedAmount; once the
// close packet and everything before it have left, the socket is closed.
P._onDrain = function (t, batch) {
  var self = this, c = this._closing;
  if (!batch) return;
  this._set('bufferedAmount', this._v.bufferedAmount - batch.n);
  if (!--this._inflight && c && !this._wbuf.length) {
    this._env.setTimeout(function () { self._finish(c[0], c[1], true, false); }, 0);
  } else {
    this._flush();
  }
};

// ---- writing --------------------------------------------------------------

// Sends what the buffer holds; on HTTP transports as one payload of at most
// maxPayload bytes (an oversized packet goes alone).
P._flush = function () {
  var t = this._t, buf = this._wbuf, i = 0, size = 0, n = 0;
  if (!t || !t._w || this._upgrading || !buf.length) return;
  if (t.name === 'websocket') {
    i = buf.length;
  } else {
    for (; i < buf.length; i++) {
      size += packetSize(buf[i]) + 1;
      if (i > 0 && size > this._max) break;
    }
  }
  this._wbuf = buf.slice(i);
  buf = buf.slice(0, i);
  for (i = 0; i < buf.length; i++) n += buf[i].n;
  this._inflight++;
  t._send(buf, { n: n });
};

// ---- heartbeat ------------------------------------------------------------

P._alive = function () {
  var self = this, env = this._env;
  if (!this._ping) return;
  env.clearTimeout(this._hb);
  this._hb = env.setTimeout(function () { self._lost(); }, this._ping);
};

// ---- upgrade to websocket -------------------------------------------------
//
//   client                          server
//     |--- WS ?sid=S ----------------->|   (probe; current transport runs on)
//     |--- 2probe -------------------->|   hold: no new receiving requests
//     |<-- 3probe ---------------------|   server ends the pending GET / stream
//     |    pause: wait for GET + POST in flight to finish
//     |--- 5 ------------------------->|   WS is now the transport
//     |--- buffered packets ---------->|

P._maybeProbe = function () {
  var self = this, t, env = this._env;
  if (this._t.name === 'websocket' || this._noProbe || this._failed.websocket ||
    indexOf(this._upgrades, 'websocket') < 0 || indexOf(this._prefs, 'websocket') < 0 ||
    !WebSocketTransport.enabled(env)) return;
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
  this._endProbe();
  if (this._attempt) this._attempt._close();
  if (this._t) this._t._close();
  this._attempt = this._t = null;
  this._order = [];
  this._wbuf = [];
};

// The connection failed: error, then close 1006.
P._lost = function () {
  this._finish(1006, '', false, true);
};

P._finish = function (code, reason, clean, error) {
  if (this._v.readyState === CLOSED) return;
  this._set('readyState', CLOSED);
  this._teardown();
  if (error) this._fire('error');
  this._fire('close', { code: code, reason: reason, wasClean: clean });
};
