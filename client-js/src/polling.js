// polling.js: `transport=polling`. Long-poll GET down, POST up (plain EIO4).

import { T_CLOSED } from './constants.js';
import { inherit } from './util.js';
import { HttpTransport, request, xhrEnabled } from './http.js';

export function Polling(ctx, sid) {
  HttpTransport.call(this, ctx, sid);
}
inherit(Polling, HttpTransport);
var L = Polling.prototype;
L.name = 'polling';
Polling.enabled = xhrEnabled;

L._get = function () {
  var self = this;
  this._req = request(this._e, 'GET', this._url(), null, function (err, x) {
    self._req = null;
    if (self._st === T_CLOSED) return;
    if (err !== null || !x.responseText) return self._fail(x);
    self._deliver(x.responseText.split('\x1e'));
    if (self._st !== T_CLOSED) self._ended();
  });
};

