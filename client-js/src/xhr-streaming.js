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
