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
