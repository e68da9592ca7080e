// socket.js: Polysock, the WebSocket-shaped object. It owns the state machine
// (readyState), the write buffer, the heartbeat, transport selection with
// fallback, and the upgrade to websocket. Transports only move packets.
//
//   CONNECTING --open packet--> OPEN --close()--> CLOSING --flushed--> CLOSED
//       |                         |
//       +--every transport failed / close() / heartbeat lost / error--> CLOSED
//
// Selection (protocol-spec/fallback.md): try the usable transports in
// preference order (the one remembered from an earlier page first), each for
// at most `timeout` ms until its open packet arrives. Once open on something
// other than websocket, probe websocket and upgrade if it answers.

var TRANSPORTS = {
  'websocket': WebSocketTransport,
  'xhr-streaming': XhrStreaming,
  'htmlfile': HtmlFile,
  'polling': Polling
};
var DEFAULT_TRANSPORTS = ['websocket', 'xhr-streaming', 'htmlfile', 'polling'];
var STORE_KEY = 'polysock:';
var NO_PROBE_MS = 3600000;
var TOKEN = /^[!#$%&'*+\-.\^_`|~0-9A-Za-z]+$/;

function defaultEnv() {
  var storage = null;
  try {
    storage = root.localStorage;
    storage.getItem(STORE_KEY);
  } catch (e) {
    try {
      storage = root.sessionStorage;
    } catch (e2) {
      storage = null;
    }
  }
  return {
    setTimeout: function (fn, ms) { return setTimeout(fn, ms); },
    clearTimeout: function (id) { clearTimeout(id); },
    WebSocket: root.WebSocket || root.MozWebSocket,
    XMLHttpRequest: root.XMLHttpRequest,
    ActiveXObject: root.ActiveXObject,
    Blob: root.Blob,
    document: root.document,
    location: root.location,
    window: root,
    storage: storage
  };
}

// Transport names to try, best first: the preference list minus what cannot
// run here, with the remembered transport (if any, and allowed) moved first.
function transportOrder(prefs, usable, remembered) {
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

function Polysock(url, protocols, options) {
  if (!(this instanceof Polysock)) throw new TypeError("Please use the 'new' operator");
  var self = this, env, m, loc, i, memo, tried = {};
  if (protocols && typeof protocols === 'object' && !isArray(protocols)) {
    options = protocols;
    protocols = undefined;
  }
  options = options || {};
  env = this._env = defaultEnv();
  for (m in options.env) {
    if (options.env.hasOwnProperty(m)) env[m] = options.env[m];
  }

  url = String(url);
  loc = env.location;
  if (url.charAt(0) === '/' && url.charAt(1) !== '/' && loc) url = loc.protocol + '//' + loc.host + url;
  if (!/^(https?|wss?):\/\/[^\/?#]/i.test(url)) throw domError('SyntaxError', 'Invalid URL: ' + url);
  this.url = url;
  this._http = url.replace(/^ws/i, 'http').replace(/#.*/, '');
  m = this._http.indexOf('?');
  this._base = (m < 0 ? this._http : this._http.slice(0, m)).replace(/\/?$/, '/') + '?' +
    (m < 0 ? '' : this._http.slice(m + 1) + '&');

  protocols = protocols === undefined ? [] : isArray(protocols) ? protocols : [protocols];
  for (i = 0; i < protocols.length; i++) {
    protocols[i] = String(protocols[i]);
    if (!TOKEN.test(protocols[i]) || tried[protocols[i]]) {
      throw domError('SyntaxError', 'Invalid or duplicate subprotocol: ' + protocols[i]);
    }
    tried[protocols[i]] = 1;
  }
  this._protocols = protocols;

  this.readyState = 0;
  this.protocol = '';
  this.extensions = '';
  this.bufferedAmount = 0;
  this.binaryType = env.Blob ? 'blob' : 'arraybuffer';
  this.transport = null;
  this.onopen = this.onmessage = this.onerror = this.onclose = null;

  this._timeout = options.timeout || 2500;
  this._prefs = options.transports || DEFAULT_TRANSPORTS;
  this._remember = options.remember !== false && env.storage ? env.storage : null;
  this._wbuf = [];
  this._failed = {};
  memo = this._memo = this._recall();
  this._noProbe = memo[1] > +new Date() - NO_PROBE_MS;
  this._order = transportOrder(this._prefs, function (n) {
    return TRANSPORTS[n].enabled(self);
  }, memo[0]);
  // Nothing happens before the constructor returns.
  this._attemptTimer = env.setTimeout(function () { self._next(); }, 0);
}
inherit(Polysock, Emitter);

Polysock.CONNECTING = Polysock.prototype.CONNECTING = 0;
Polysock.OPEN = Polysock.prototype.OPEN = 1;
Polysock.CLOSING = Polysock.prototype.CLOSING = 2;
Polysock.CLOSED = Polysock.prototype.CLOSED = 3;
Polysock.transports = TRANSPORTS;

var P = Polysock.prototype;

// ---- public API -----------------------------------------------------------

P.send = function (data) {
  var p, n;
  if (this.readyState === 0) throw domError('InvalidStateError', 'Still in CONNECTING state.');
  if (this._env.Blob && data instanceof this._env.Blob) throw new TypeError('Blob data is not supported; send an ArrayBuffer');
  if (isBinary(data)) {
    data = new Uint8Array(bytesOf(data)).buffer; // snapshot, as WebSocket does
    n = data.byteLength;
  } else {
    data = String(data);
    n = utf8Length(data);
  }
  this.bufferedAmount += n;
  if (this.readyState !== 1) return;
  p = { type: 4, data: data, n: n };
  this._wbuf.push(p);
  this._flush();
};

P.close = function (code, reason) {
  var self = this, body = '';
  if (code !== undefined) {
    code = +code;
    if (code !== 1000 && !(code >= 3000 && code <= 4999)) {
      throw domError('InvalidAccessError', 'The close code must be 1000 or in 3000-4999: ' + code);
    }
    code = Math.round(code);
  }
  if (reason !== undefined) {
    reason = String(reason);
    if (utf8Length(reason) > 123) throw domError('SyntaxError', 'The close reason must be at most 123 UTF-8 bytes.');
  }
  if (this.readyState >= 2) return;
  if (this.readyState === 0) {
    this.readyState = 2;
    this._teardown();
    this._env.setTimeout(function () { self._finish(1006, '', false, true); }, 0);
    return;
  }
  this.readyState = 2;
  this._endProbe();
  this._t.stop();
  // A stock server (no "ext" in its open packet) gets a bare close packet.
  if (code !== undefined && this._ext) body = '{"code":' + code + ',"reason":' + quote(reason || '') + '}';
  this._closing = [code === undefined ? 1005 : code, reason || ''];
  this._wbuf.push({ type: 1, data: body, n: 0 });
  this._flush();
};

// ---- transport selection --------------------------------------------------

P._next = function () {
  var self = this, name = this._order.shift(), t;
  if (!name) return this._finish(1006, '', false, true);
  t = this._attempt = new TRANSPORTS[name](this);
  // The last candidate has nothing to fall back to: give it longer.
  this._attemptTimer = this._env.setTimeout(function () {
    self._onError(t, 'no open packet within the timeout');
  }, this._order.length ? this._timeout : this._timeout * 4);
  t.open();
};

P._url = function (name, sid) {
  var u = this._base + 'EIO=4&transport=' + name, i, list = [];
  if (sid) return u + '&sid=' + encodeURIComponent(sid);
  for (i = 0; i < this._protocols.length; i++) list.push(encodeURIComponent(this._protocols[i]));
  return u + '&ext=1&protocols=' + list.join(',');
};

// Storage: "<transport>", or "<transport> <time>" where time is when a
// websocket probe last failed (no probing for an hour after that).
P._recall = function () {
  var v = null;
  try {
    v = this._remember && this._remember.getItem(STORE_KEY + this._http);
  } catch (e) {}
  v = String(v || '').split(' ');
  return [v[0], +v[1] || 0];
};

P._store = function (name, failedAt) {
  try {
    if (this._remember) this._remember.setItem(STORE_KEY + this._http, name + (failedAt ? ' ' + failedAt : ''));
  } catch (e) {}
};

// ---- events from transports -----------------------------------------------

P._onError = function (t, why) {
  var env = this._env;
  this._lastError = why;
  if (t === this._attempt) {
    env.clearTimeout(this._attemptTimer);
    this._failed[t.name] = 1;
    this._attempt = null;
    t.close();
    this._next();
  } else if (t === this._probe) {
    this._endProbe();
    this._store(this._t.name, +new Date());
    this._flush();
  } else if (t === this._t) {
    this._finish(1006, '', false, true);
  }
};

P._onPacket = function (t, p) {
  var o;
  if (t === this._probe) {
    if (p.type === 3 && p.data === 'probe') this._upgrade();
    return;
  }
  if (t !== this._t && t !== this._attempt) return;
  this._alive();
  if (p.type === 0 && t === this._attempt) {
    try {
      o = parseJSON(p.data);
    } catch (e) {
      return this._onError(t, 'bad open packet');
    }
    this._opened(t, o);
  } else if (p.type === 1) {
    try {
      o = p.data ? parseJSON(p.data) : {};
    } catch (e2) {
      o = {};
    }
    this._finish(o.code || 1005, o.reason || '', true, false);
  } else if (p.type === 2 && this.readyState === 1) {
    this._wbuf.push({ type: 3, data: p.data, n: 0 });
    this._flush();
  } else if (p.type === 4 && this.readyState === 1) {
    o = p.data;
    if (typeof o !== 'string' && this.binaryType === 'blob' && this._env.Blob) o = new this._env.Blob([o]);
    this.dispatchEvent({ type: 'message', data: o, origin: this._http.replace(/^(\w+:\/\/[^\/?#]+).*/, '$1') });
  }
};

P._opened = function (t, o) {
  this._env.clearTimeout(this._attemptTimer);
  this._attempt = null;
  this._t = t;
  t.sid = this._sid = o.sid;
  t.writable = true;
  this._ping = (o.pingInterval || 25000) + (o.pingTimeout || 20000);
  this._max = o.maxPayload || 1000000;
  this._upgrades = o.upgrades || [];
  this._ext = !!o.ext;
  this.protocol = o.ext ? o.protocol || '' : '';
  this.transport = t.name;
  this.readyState = 1;
  this._store(t.name, this._noProbe && this._memo[1]);
  this._alive();
  this.dispatchEvent({ type: 'open' });
  if (this.readyState === 1) {
    this._maybeProbe();
    this._flush();
  }
};

P._onDrain = function (t) {
  var self = this, c = this._closing;
  if (t !== this._t) return;
  this.bufferedAmount -= this._inflight;
  this._inflight = 0;
  if (c && !this._wbuf.length) {
    this._env.setTimeout(function () { self._finish(c[0], c[1], true, false); }, 0);
  } else {
    this._flush();
  }
};

// ---- writing --------------------------------------------------------------

// Sends what the buffer holds, as one payload of at most maxPayload bytes
// on HTTP transports (an oversized packet goes alone).
P._flush = function () {
  var t = this._t, buf = this._wbuf, i = 0, size = 0, n = 0;
  if (!t || !t.writable || this._upgrading || !buf.length) return;
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
  this._inflight = n;
  t.send(buf);
};

// ---- heartbeat ------------------------------------------------------------

P._alive = function () {
  var self = this, env = this._env;
  if (!this._ping) return;
  env.clearTimeout(this._hb);
  this._hb = env.setTimeout(function () { self._finish(1006, '', false, true); }, this._ping);
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
    !WebSocketTransport.enabled(this)) return;
  t = this._probe = new WebSocketTransport(this);
  t.sid = this._sid;
  t.onopen = function () {
    env.clearTimeout(self._probeTimer);
    self._probeTimer = env.setTimeout(function () { self._onError(t, 'probe timeout'); }, self._timeout);
    self._t.hold(true);
    t.writable = true;
    t.send([{ type: 2, data: 'probe' }]);
  };
  this._probeTimer = env.setTimeout(function () { self._onError(t, 'probe open timeout'); }, this._timeout * 4);
  t.open();
};

P._upgrade = function () {
  var self = this, t = this._probe, old = this._t;
  this._env.clearTimeout(this._probeTimer);
  this._upgrading = true;
  old.pause(function () {
    if (self._probe !== t) return;
    self._probe = null;
    self._upgrading = false;
    t.send([{ type: 5 }]);
    old.close();
    self._t = t;
    self.transport = t.name;
    self._store(t.name);
    self._flush();
  });
};

P._endProbe = function () {
  var t = this._probe;
  if (!t) return;
  this._probe = null;
  this._upgrading = false;
  this._env.clearTimeout(this._probeTimer);
  t.close();
  if (this._t) this._t.hold(false);
};

// ---- the end --------------------------------------------------------------

P._teardown = function () {
  var env = this._env;
  env.clearTimeout(this._attemptTimer);
  env.clearTimeout(this._hb);
  this._endProbe();
  if (this._attempt) this._attempt.close();
  if (this._t) this._t.close();
  this._attempt = this._t = null;
  this._order = [];
  this._wbuf = [];
};

P._finish = function (code, reason, clean, error) {
  if (this.readyState === 3) return;
  this.readyState = 3;
  this._teardown();
  if (error) this.dispatchEvent({ type: 'error' });
  this.dispatchEvent({ type: 'close', code: code, reason: reason, wasClean: clean });
};

// Internals for the unit tests; not part of the API.
Polysock._ = {
  encodePacket: encodePacket,
  decodePacket: decodePacket,
  encodePayload: encodePayload,
  decodePayload: decodePayload,
  Multipart: Multipart,
  boundaryOf: boundaryOf,
  b64encode: b64encode,
  b64decode: b64decode,
  utf8Length: utf8Length,
  quote: quote,
  parseJSON: parseJSON,
  transportOrder: transportOrder,
  originOf: originOf
};
