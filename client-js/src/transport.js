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

import { T_NEW, T_OPENING, T_OPEN, T_CLOSED } from './constants.js';
import { noop } from './util.js';

export function Transport(ctx, sid) {
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
