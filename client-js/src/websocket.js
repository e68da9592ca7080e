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
