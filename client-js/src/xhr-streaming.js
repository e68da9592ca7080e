// xhr-streaming.js: `transport=xhr-streaming`. One long multipart GET read
// as responseText grows (readyState 3 / progress); the next GET starts when
// the server ends a response (after its response limit). POST up.

import { T_CLOSED } from './constants.js';
import { inherit } from './util.js';
import { HttpTransport, request } from './http.js';
import { Multipart, boundaryOf } from './multipart.js';

export function XhrStreaming(ctx, sid) {
  HttpTransport.call(this, ctx, sid);
}
inherit(XhrStreaming, HttpTransport);
var X = XhrStreaming.prototype;
X.name = 'xhr-streaming';
X._acks = true;

// Needs an XHR that exposes responseText while loading: XHR level 2
// (withCredentials) marks IE10+ and every other browser of that age.
XhrStreaming.enabled = function (env) {
  var X = env.XMLHttpRequest;
  try {
    return !!X && 'withCredentials' in new X();
  } catch (e) {
    return false;
  }
};

X._get = function () {
  var self = this, mp = null, n0 = this._n;
  function feed(x) {
    var b, parts;
    if (self._st === T_CLOSED) return;
    if (!mp) {
      b = boundaryOf(x.getResponseHeader('Content-Type'));
      if (!b) return;
      mp = new Multipart(b);
    }
    try {
      parts = mp.feed(x.responseText);
    } catch (e) {
      return self._fail();
    }
    self._deliver(parts);
  }
  this._req = request(this._e, 'GET', this._url(), null, function (err, x) {
    if (self._st === T_CLOSED) return;
    if (err === null) feed(x);
    self._req = null;
    if (self._st === T_CLOSED) return;
    // A 200 cut short is resumed with ack=N; one that carried nothing is not.
    if (err !== null || (!(mp && mp.done) && self._n === n0)) return self._fail(x);
    self._ended();
  }, feed);
};

