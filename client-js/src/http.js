// http.js: XHR requests and HttpTransport, the base of the three HTTP
// transports (polling, xhr-streaming, htmlfile). They differ only in how
// they receive (get / stopGet); upstream is always a POST of a polling
// payload, answered "ok".

import { T_OPEN, T_PAUSED, T_CLOSED } from './constants.js';
import { noop, inherit } from './util.js';
import { decodePacket, encodePayload, packetSize } from './codec.js';
import { parseJSON } from './json.js';
import { Transport } from './transport.js';

var reqSeq = 0;

// One request. done(err, xhr): err is null for status 200, else the status
// (0 for a network error). progress(xhr) runs as the body grows.
export function request(env, method, url, body, done, progress) {
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

export function abort(x) {
  if (!x) return;
  x.onreadystatechange = noop;
  try {
    x.onprogress = noop;
    x.abort();
  } catch (e) {}
}

export function HttpTransport(ctx, sid) {
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

export function xhrEnabled(env) {
  return !!(env.XMLHttpRequest || env.ActiveXObject);
}
