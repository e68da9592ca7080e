// htmlfile.js: `transport=htmlfile` (protocol-spec/08-htmlfile.md). A
// forever-iframe whose <script> chunks call p("<packet>") and finally
// p(null), where the server's preamble binds p = parent._polysock_cb.c<N>
// for the query's `c=<N>` (digits only: the server, not the query, names the
// callback). In IE the iframe lives in an ActiveXObject("htmlfile") document
// (no "loading" cursor, no clicks); elsewhere it is a hidden iframe in the
// page. The iframe must be same-origin to reach its parent. POST up.
//
// One callback per request, so a late call from a finished iframe is ignored.

import { inherit } from './util.js';
import { HttpTransport } from './http.js';

var CB = '_polysock_cb', cbSeq = 0;

export function HtmlFile(ctx, sid) {
  HttpTransport.call(this, ctx, sid);
}
inherit(HtmlFile, HttpTransport);
var F = HtmlFile.prototype;
F.name = 'htmlfile';
F._acks = true;

// `origin`: the socket's ws(s) origin; the page's must be the same.
HtmlFile.enabled = function (env, origin) {
  var loc = env.location;
  return !!(env.document && loc && origin === 'ws' + loc.protocol.slice(4) + '//' + loc.host);
};

F._doOpen = function () {
  var env = this._e, ax;
  this._doc = env.document;
  this._win = env.window;
  if (env.ActiveXObject) {
    try {
      ax = new env.ActiveXObject('htmlfile');
      ax.open();
      ax.write('<html><body></body></html>');
      ax.close();
      this._doc = ax;
      this._win = ax.parentWindow;
    } catch (e) {}
  }
  HttpTransport.prototype._doOpen.call(this);
};

F._get = function () {
  var self = this, reg = this._win[CB] || (this._win[CB] = {}), f = this._doc.createElement('iframe'),
    n0 = this._n, r = this._req = { f: f, id: 'c' + ++cbSeq, reg: reg };
  // This request ended: by p(null), or by loading (an error page, or a
  // stream cut short if it carried nothing).
  function finish(loaded) {
    if (self._req !== r) return;
    self._stopGet();
    if (loaded && self._n === n0) self._fail();
    else self._ended();
  }
  reg[r.id] = function (s) {
    if (self._req === r) {
      if (s === null) finish();
      else self._deliver([s]);
    }
  };
  f.style.display = 'none';
  if (f.attachEvent) f.attachEvent('onload', function () { finish(1); });
  else f.onload = function () { finish(1); };
  f.src = this._url() + '&c=' + r.id.slice(1);
  (this._doc.body || this._doc.documentElement).appendChild(f);
};

// Removed from a fresh task: this may run inside the iframe's own script.
// A late call from the iframe finds this._req changed and is ignored.
F._stopGet = function () {
  var r = this._req;
  this._req = null;
  this._getting = false;
  if (r) {
    this._e.setTimeout(function () {
      delete r.reg[r.id];
      r.f.src = 'about:blank';
      if (r.f.parentNode) r.f.parentNode.removeChild(r.f);
    }, 0);
  }
};

F._doClose = function () {
  HttpTransport.prototype._doClose.call(this);
  this._doc = this._win = null;
};
