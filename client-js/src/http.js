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
