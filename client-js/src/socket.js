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

import {
  P_OPEN, P_CLOSE, P_PING, P_PONG, P_MESSAGE, P_ACK,
  CONNECTING, OPEN, CLOSING, CLOSED, DEFAULT_TIMEOUT
} from './constants.js';
import { root, noop, inherit, indexOf, isArray, domError, usv, utf8Length, defineProperty } from './util.js';
import { resolve } from './url.js';
import { isBinary, bytesOf, packetSize } from './codec.js';
import { NativeTarget, Emitter, makeEvent, handlers } from './events.js';
import { WebSocketTransport } from './websocket.js';

// The transports by name. The HTTP ones (polling, xhr-streaming, htmlfile)
// come in through useHttp: at once in the npm builds (umd.js, index.js); in
// the served build (served.js) from <mount>/polysock-http.js, which the first
// socket that needs one of them loads (load.js).
export var TRANSPORTS = { 'websocket': WebSocketTransport };
var DEFAULT_TRANSPORTS = ['websocket', 'xhr-streaming', 'htmlfile', 'polling'];
// The stand-in for JSON (json.js FLAT) that comes with the HTTP
// transports: a browser without JSON (IE6/7) has no WebSocket either, so it
// has them before any packet can arrive.
var flatJSON;

// `m`: http-all.js's HTTP: the transports, the flat JSON reader, and the
// function that installs the upgrade to websocket.
export function useHttp(m) {
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
export function transportOrder(prefs, usable, remembered) {
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
export function backoff(k, r, h) {
  return h ? h * (1 + r) : k ? Math.min(5000, 250 * Math.pow(2, k)) * (0.5 + r) : 0;
}

function missing() {
  return new TypeError('1 argument required');
}

export function Polysock(url, protocols, options) {
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
