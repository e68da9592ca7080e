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

import { P_MESSAGE, T_CLOSED } from './constants.js';
import { inherit, indexOf } from './util.js';
import { decodeText, isBinary } from './codec.js';
import { Transport } from './transport.js';

// The page's handshake queues, by ws origin.
var queues = {};

export function WebSocketTransport(ctx, sid) {
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
