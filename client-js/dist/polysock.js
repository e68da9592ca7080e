/*! Polysock client 0.1.0 | MIT | a WebSocket-shaped connection over
 * websocket, xhr-streaming, htmlfile and polling (Engine.IO v4 + extensions).
 * Built from client-js/src by client-js/build.js: do not edit. */
(function (root, factory) {
  if (typeof define === 'function' && define.amd) {
    define([], function () { return factory(root); });
  } else if (typeof module === 'object' && module.exports) {
    module.exports = factory(root);
  } else {
    root.Polysock = factory(root);
  }
}(typeof window !== 'undefined' ? window : typeof globalThis !== 'undefined' ? globalThis : this, function (root) {
'use strict';

// ---- util.js ----

// util.js: helpers shared by every file of the bundle. Nothing here touches a
// built-in prototype; everything is a plain function over its arguments.

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

// Number of bytes `s` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes).
function utf8Length(s) {
  var n = 0, i, c;
  for (i = 0; i < s.length; i++) {
    c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// ---- binary data ----------------------------------------------------------

function isBinary(d) {
  var t = Object.prototype.toString.call(d);
  return t === '[object ArrayBuffer]' ||
    (typeof ArrayBuffer !== 'undefined' && !!ArrayBuffer.isView && ArrayBuffer.isView(d));
}

// A private copy of the bytes of an ArrayBuffer or view, as a Uint8Array.
function bytesOf(d) {
  return d.buffer ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
var B64R = {};
(function () {
  for (var i = 0; i < 64; i++) B64R[B64.charAt(i)] = i;
}());

function b64encode(u8) {
  var out = [], n = u8.length, i, a, b, c;
  for (i = 0; i < n; i += 3) {
    a = u8[i];
    b = i + 1 < n ? u8[i + 1] : 0;
    c = i + 2 < n ? u8[i + 2] : 0;
    out.push(B64.charAt(a >> 2) + B64.charAt(((a & 3) << 4) | (b >> 4)) +
      (i + 1 < n ? B64.charAt(((b & 15) << 2) | (c >> 6)) : '=') +
      (i + 2 < n ? B64.charAt(c & 63) : '='));
  }
  return out.join('');
}

// Standard base64 with padding -> ArrayBuffer. Throws on anything else.
function b64decode(s) {
  var len = s.length, pad = s.charAt(len - 1) === '=' ? (s.charAt(len - 2) === '=' ? 2 : 1) : 0,
    out, i, j = 0, v, k, q;
  if (len % 4) throw new Error('bad base64');
  out = new Uint8Array(len / 4 * 3 - pad);
  for (i = 0; i < len; i += 4) {
    v = 0;
    for (k = 0; k < 4; k++) {
      q = s.charAt(i + k);
      if (q === '=' && i + k >= len - pad) q = 'A';
      if (!B64R.hasOwnProperty(q)) throw new Error('bad base64');
      v = v * 64 + B64R[q];
    }
    // Canonical only: the bits that padding drops must be zero.
    if (i === len - 4 && pad && v & (pad === 2 ? 0xffff : 0xff)) throw new Error('bad base64');
    out[j++] = v >> 16;
    if (j < out.length) out[j++] = (v >> 8) & 255;
    if (j < out.length) out[j++] = v & 255;
  }
  return out.buffer;
}

// ---- JSON (IE6/7 have no window.JSON) -------------------------------------

function quote(s) {
  return '"' + s.replace(/[\\"\u0000-\u001f\u2028\u2029]/g, function (c) {
    return c === '"' ? '\\"' : c === '\\' ? '\\\\' :
      '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
  }) + '"';
}

function parseJSON(text) {
  var J = root.JSON;
  if (J && J.parse) return J.parse(text);
  // No native JSON: accept only text made of JSON tokens, then evaluate it.
  if (/^[\],:{}\s]*$/.test(text.replace(/\\(?:["\\\/bfnrt]|u[0-9a-fA-F]{4})/g, '@')
    .replace(/"[^"\\\n\r]*"|true|false|null|-?\d+(?:\.\d*)?(?:[eE][+\-]?\d+)?/g, ']')
    .replace(/(?:^|:|,)(?:\s*\[)+/g, ''))) {
    return (new Function('return ' + text.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')))();
  }
  throw new SyntaxError('bad JSON');
}

// ---- emitter.js ----

// emitter.js: the EventTarget part of the WebSocket surface.
// addEventListener / removeEventListener / dispatchEvent, plus the on<type>
// handler properties. A throwing listener does not stop the others: its error
// is rethrown from a fresh task, as browsers report listener errors.

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
  var list = ((this._ls && this._ls[ev.type]) || []).slice(0),
    handler = this['on' + ev.type], i;
  ev.target = ev.currentTarget = this;
  if (typeof handler === 'function') this._call(handler, ev);
  for (i = 0; i < list.length; i++) {
    // A listener removed by an earlier one in this dispatch is not called.
    if (indexOf(this._ls[ev.type], list[i]) >= 0) this._call(list[i], ev);
  }
  return true;
};

Emitter.prototype._call = function (fn, ev) {
  try {
    if (typeof fn === 'function') fn.call(this, ev);
    else if (fn.handleEvent) fn.handleEvent(ev);
  } catch (e) {
    this._env.setTimeout(function () { throw e; }, 0);
  }
};

// ---- framing.js ----

// framing.js: Engine.IO v4 packets and the Polysock streaming framings.
//
// A packet is {type: 0..6, data: string | ArrayBuffer}. Types: 0 open, 1 close,
// 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop. Binary data only ever travels
// in message packets.

// Text encoding used by polling, xhr-streaming and htmlfile:
// "<type digit><data>", or "b" + base64 for a binary message.
function encodePacket(p) {
  if (isBinary(p.data)) return 'b' + b64encode(bytesOf(p.data));
  return p.type + (p.data == null ? '' : p.data);
}

// Inverse of encodePacket. `ws`: a WebSocket text frame, where "b" is no type.
function decodePacket(s, ws) {
  var c = s.charAt(0);
  if (c === 'b' && !ws) return { type: 4, data: b64decode(s.slice(1)) };
  if (c < '0' || c > '6' || s.length === 0) throw new Error('bad packet');
  return { type: +c, data: s.slice(1) };
}

// Polling payload: packets joined by the record separator U+001E.
function encodePayload(packets) {
  var out = [], i;
  for (i = 0; i < packets.length; i++) out.push(encodePacket(packets[i]));
  return out.join('\x1e');
}

function decodePayload(s) {
  var parts = s.split('\x1e'), out = [], i;
  for (i = 0; i < parts.length; i++) out.push(decodePacket(parts[i]));
  return out;
}

// Size on the wire of a packet in a payload (UTF-8 bytes), for maxPayload.
function packetSize(p) {
  if (isBinary(p.data)) return 1 + Math.ceil(p.data.byteLength / 3) * 4;
  return 1 + utf8Length(p.data == null ? '' : String(p.data));
}

// The boundary of an xhr-streaming response, from its Content-Type.
function boundaryOf(contentType) {
  var m = /boundary="?([^";\s]+)/i.exec(contentType || '');
  return m ? m[1] : null;
}

// Cuts the growing responseText of one xhr-streaming response into packets.
// Body: preamble, "\r\n--B", then per part "\r\n<headers>\r\n\r\n<packet>\r\n--B",
// and "--\r\n" after the last delimiter. feed() takes the whole text so far and
// returns the encoded packets completed since the last call; `done` turns
// true once the closing delimiter has been seen.
function Multipart(boundary) {
  this.d = '\r\n--' + boundary;
  this.pos = -1; // index just after the last delimiter seen
  this.from = 0; // where the search for the next delimiter may start
  this.done = false;
}

Multipart.prototype.feed = function (text) {
  var d = this.d, out = [], i, part, h;
  while (!this.done) {
    i = text.indexOf(d, this.from);
    if (this.pos >= 0 && text.length >= this.pos + 2 && text.substr(this.pos, 2) === '--') {
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

// ---- http.js ----

// http.js: XHR requests and the base shared by the three HTTP transports
// (polling, xhr-streaming, htmlfile). They differ only in how they receive;
// upstream is always a POST of a polling payload, answered "ok".
//
// Transport contract (duck-typed, also met by WebSocketTransport):
//   T.enabled(sock)     can this transport run in this environment?
//   t.name              the `transport=` name
//   t.open()            start receiving; without t.sid this is the handshake
//   t.sid, t.writable   set by the socket once the open packet arrived
//   t.send(packets)     only while writable; calls sock._onDrain(t) when sent
//   t.hold(on)          stop / restart issuing new receiving requests
//   t.pause(cb)         stop sending and receiving; cb once nothing is in flight
//   t.close()           abort everything, report nothing more
// and reports to its socket with sock._onPacket(t, packet), sock._onError(t, why).

var reqSeq = 0;

function newXhr(env) {
  return env.XMLHttpRequest ? new env.XMLHttpRequest() : new env.ActiveXObject('Microsoft.XMLHTTP');
}

// One request. done(err, xhr): err is null for status 200, else the status
// (0 for a network error). progress(xhr) runs as the body grows.
function request(env, method, url, body, done, progress) {
  var x = newXhr(env);
  if (method === 'GET') url += '&t=' + (+new Date()).toString(36) + '.' + (reqSeq++);
  x.open(method, url, true);
  if (body != null) x.setRequestHeader('Content-Type', 'text/plain;charset=UTF-8');
  function grow() {
    if (progress && x.readyState > 2) progress(x);
  }
  x.onreadystatechange = function () {
    var st = 0;
    if (x.readyState !== 4) return grow();
    x.onreadystatechange = noop;
    if (progress) x.onprogress = noop;
    try { st = x.status; } catch (e) {}
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

function HttpTransport() {}

HttpTransport.prototype.open = function () {
  this.getting = false; // a receiving request is in flight
  this.posting = null;  // the POST in flight
  this.held = false;
  this.n = 0;           // packets received over streams (for ack=N)
  this.recv();
};

HttpTransport.prototype.url = function () {
  return this.s._url(this.name, this.sid);
};

HttpTransport.prototype.recv = function () {
  if (!this.closed && !this.held && !this.getting && !this.pauseCb) {
    this.getting = true;
    this.get();
  }
};

// A receiving request ended well: start the next one (or finish pausing).
HttpTransport.prototype.ended = function () {
  this.getting = false;
  this.check();
  this.recv();
};

HttpTransport.prototype.error = function (why) {
  if (!this.closed) this.s._onError(this, why);
};

HttpTransport.prototype.send = function (packets) {
  var self = this;
  this.writable = false;
  this.posting = request(this.s._env, 'POST', this.s._url(this.name, this.sid), encodePayload(packets), function (err) {
    self.posting = null;
    if (self.closed) return;
    if (err !== null) return self.error('POST failed: ' + err);
    if (!self.pauseCb) self.writable = true;
    self.check();
    self.s._onDrain(self);
  });
};

HttpTransport.prototype.hold = function (on) {
  this.held = on;
  if (!on) {
    this.pauseCb = null;
    this.writable = !this.posting && !!this.sid;
    this.recv();
  }
};

HttpTransport.prototype.pause = function (cb) {
  this.held = true;
  this.writable = false;
  this.pauseCb = cb;
  this.check();
};

HttpTransport.prototype.check = function () {
  var cb = this.pauseCb;
  if (cb && !this.getting && !this.posting) {
    this.pauseCb = null;
    cb();
  }
};

// Stop receiving (socket closing); a POST in flight still completes.
HttpTransport.prototype.stop = function () {
  this.held = true;
  this.stopGet();
};

HttpTransport.prototype.close = function () {
  this.closed = true;
  this.writable = false;
  this.stopGet();
  abort(this.posting);
};

// Hand the packets of one receiving request to the socket, counting them for
// ack=N. Stops early if the socket closed this transport meanwhile.
HttpTransport.prototype.deliver = function (encoded) {
  var i, p;
  for (i = 0; i < encoded.length && !this.closed; i++) {
    try {
      p = decodePacket(encoded[i]);
    } catch (e) {
      return this.error('bad packet');
    }
    this.n++;
    this.s._onPacket(this, p);
  }
};

HttpTransport.enabledXhr = function (sock) {
  var env = sock._env;
  return !!(env.XMLHttpRequest || env.ActiveXObject);
};

// ---- polling.js ----

// polling.js: `transport=polling`. Long-poll GET down, POST up (plain EIO4).

function Polling(sock) {
  this.s = sock;
}
inherit(Polling, HttpTransport);
Polling.prototype.name = 'polling';
Polling.enabled = HttpTransport.enabledXhr;

Polling.prototype.get = function () {
  var self = this;
  this.req = request(this.s._env, 'GET', this.url(), null, function (err, x) {
    var text;
    self.req = null;
    if (self.closed) return;
    if (err !== null) return self.error('GET failed: ' + err);
    text = x.responseText;
    if (!text) return self.error('empty payload');
    self.deliver(text.split('\x1e'));
    if (!self.closed) self.ended();
  });
};

Polling.prototype.stopGet = function () {
  abort(this.req);
  this.req = null;
  this.getting = false;
};

// ---- xhr-streaming.js ----

// xhr-streaming.js: `transport=xhr-streaming`. One long multipart GET read as
// responseText grows (readyState 3 / progress); the next GET starts when the
// server ends a response (after its response limit). POST up.

function XhrStreaming(sock) {
  this.s = sock;
}
inherit(XhrStreaming, HttpTransport);
XhrStreaming.prototype.name = 'xhr-streaming';

// Needs an XHR that exposes responseText while loading: XHR level 2
// (withCredentials) marks IE10+ and every other browser of that age.
XhrStreaming.enabled = function (sock) {
  var X = sock._env.XMLHttpRequest;
  try {
    return !!X && 'withCredentials' in new X();
  } catch (e) {
    return false;
  }
};

XhrStreaming.prototype.url = function () {
  return this.s._url(this.name, this.sid) + (this.sid ? '&ack=' + this.n : '');
};

XhrStreaming.prototype.get = function () {
  var self = this, mp = null, n0 = this.n;
  function feed(x) {
    if (self.closed) return;
    if (!mp) {
      var b = boundaryOf(x.getResponseHeader('Content-Type'));
      if (!b) return;
      mp = new Multipart(b);
    }
    var parts;
    try {
      parts = mp.feed(x.responseText);
    } catch (e) {
      return self.error('bad multipart body');
    }
    self.deliver(parts);
  }
  this.req = request(this.s._env, 'GET', this.url(), null, function (err, x) {
    if (self.closed) return;
    if (err === null) feed(x);
    self.req = null;
    if (self.closed) return;
    // A 200 cut short is resumed with ack=N; one that carried nothing is not.
    if (err !== null || (!(mp && mp.done) && self.n === n0)) return self.error('stream failed: ' + err);
    self.ended();
  }, feed);
};

XhrStreaming.prototype.stopGet = Polling.prototype.stopGet;

// ---- htmlfile.js ----

// htmlfile.js: `transport=htmlfile`. A forever-iframe whose <script> chunks
// call parent._polysock_cb.c<n>("<packet>") and finally (null). In IE the iframe
// lives in an ActiveXObject("htmlfile") document (no "loading" cursor, no
// clicks); elsewhere it is a hidden iframe in the page. POST up.
//
// Callbacks live in one global object, _polysock_cb, one entry per request;
// the query names only its number (c=7), the server fixes the rest, so a
// late call from a finished iframe is ignored.

var CB = '_polysock_cb', cbSeq = 0;

function HtmlFile(sock) {
  this.s = sock;
}
inherit(HtmlFile, HttpTransport);
HtmlFile.prototype.name = 'htmlfile';

function originOf(url) {
  var m = /^(https?:)\/\/([^\/?#]+)/i.exec(url);
  if (!m) return '';
  return (m[1] + '//' + m[2].replace(m[1] === 'http:' ? /:80$/ : /:443$/, '')).toLowerCase();
}

// The iframe must be same-origin to call its parent.
HtmlFile.enabled = function (sock) {
  var env = sock._env, loc = env.location;
  return !!(env.document && env.document.createElement && loc &&
    originOf(sock._http) === originOf(loc.protocol + '//' + loc.host));
};

HtmlFile.prototype.open = function () {
  var env = this.s._env, ax;
  this.doc = env.document;
  this.win = env.window;
  if (env.ActiveXObject) {
    try {
      ax = new env.ActiveXObject('htmlfile');
      ax.open();
      ax.write('<html><body></body></html>');
      ax.close();
      this.doc = ax;
      this.win = ax.parentWindow;
    } catch (e) {}
  }
  HttpTransport.prototype.open.call(this);
};

HtmlFile.prototype.url = XhrStreaming.prototype.url;

HtmlFile.prototype.get = function () {
  var self = this, n = ++cbSeq, id = 'c' + n, reg = this.win[CB] || (this.win[CB] = {}),
    doc = this.doc, f = doc.createElement('iframe'), n0 = this.n, finished = false;
  function finish(byLoad) {
    if (finished) return;
    finished = true;
    self.stopGet();
    if (self.closed) return;
    // Loaded without p(null): an error page, or a stream cut short.
    if (byLoad && self.n === n0) return self.error('htmlfile stream failed');
    self.ended();
  }
  reg[id] = function (s) {
    if (finished || self.closed) return;
    if (s === null) finish(false);
    else self.deliver([s]);
  };
  f.style.display = 'none';
  if (f.attachEvent) f.attachEvent('onload', function () { finish(true); });
  else f.onload = function () { finish(true); };
  // The server binds parent._polysock_cb.c<n>: only the number is ours.
  f.src = this.url() + '&c=' + n;
  (doc.body || doc.documentElement).appendChild(f);
  this.req = { f: f, id: id, reg: reg };
};

HtmlFile.prototype.stopGet = function () {
  var r = this.req, env = this.s._env;
  this.req = null;
  this.getting = false;
  if (!r) return;
  r.reg[r.id] = noop;
  // Removed from a fresh task: this may run inside the iframe's own script.
  env.setTimeout(function () {
    try {
      delete r.reg[r.id];
    } catch (e) {
      r.reg[r.id] = undefined;
    }
    r.f.onload = null;
    try {
      r.f.src = 'about:blank';
    } catch (e2) {}
    if (r.f.parentNode) r.f.parentNode.removeChild(r.f);
  }, 0);
};

HtmlFile.prototype.close = function () {
  HttpTransport.prototype.close.call(this);
  this.doc = this.win = null;
};

// ---- websocket.js ----

// websocket.js: `transport=websocket`. One EIO packet per frame: text frames
// "<type><data>", binary frames are binary messages (no type byte).

function WebSocketTransport(sock) {
  this.s = sock;
}
WebSocketTransport.prototype.name = 'websocket';

WebSocketTransport.enabled = function (sock) {
  return !!sock._env.WebSocket;
};

WebSocketTransport.prototype.open = function () {
  var self = this, s = this.s, ws;
  try {
    ws = this.ws = new s._env.WebSocket(s._url('websocket', this.sid).replace(/^http/, 'ws'));
  } catch (e) {
    // e.g. a SecurityError: report it from a fresh task, as a failed open.
    s._env.setTimeout(function () { self.error('WebSocket: ' + e.message); }, 0);
    return;
  }
  ws.binaryType = 'arraybuffer';
  ws.onopen = function () {
    if (!self.closed && self.onopen) self.onopen();
  };
  ws.onmessage = function (ev) {
    var d = ev.data, p;
    if (self.closed) return;
    if (typeof d === 'string') {
      try {
        p = decodePacket(d, true);
      } catch (e) {
        return self.error('bad packet');
      }
    } else {
      p = { type: 4, data: d };
    }
    s._onPacket(self, p);
  };
  ws.onclose = function (ev) {
    self.error('WebSocket closed: ' + ev.code);
  };
};

WebSocketTransport.prototype.error = function (why) {
  if (this.closed) return;
  this.close();
  this.s._onError(this, why);
};

WebSocketTransport.prototype.send = function (packets) {
  var i, p;
  for (i = 0; i < packets.length && !this.closed; i++) {
    p = packets[i];
    this.ws.send(isBinary(p.data) ? p.data : p.type + (p.data == null ? '' : p.data));
  }
  if (!this.closed) this.s._onDrain(this);
};

WebSocketTransport.prototype.hold = noop;
WebSocketTransport.prototype.stop = noop;

WebSocketTransport.prototype.pause = function (cb) {
  cb();
};

WebSocketTransport.prototype.close = function () {
  var ws = this.ws;
  this.closed = true;
  this.writable = false;
  if (!ws) return;
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  try {
    ws.close();
  } catch (e) {}
};

// ---- socket.js ----

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

Polysock.version = '0.1.0';
return Polysock;
}));
