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
