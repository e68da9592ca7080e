// load.js: the served build's loader of <mount>/polysock-http.js (the HTTP
// transports, served-http.js), as the method _loadHttp of Polysock.prototype
// (served.js installs it). A <script> element with a `src` (never eval: a
// page's `script-src` CSP that allows polysock.js's origin allows this too),
// or importScripts in a worker; once per page, shared by the sockets that
// wait for it. A page may also load polysock-http.js with a <script> tag of
// its own, before any socket needs it: then nothing is fetched here.

import { TRANSPORTS, transportOrder, useHttp } from './socket.js';
import { root } from './util.js';

// The global polysock-http.js sets (served-http.js), named with the build.
var KEY = '_polysock_http__BUILD__';
// The callbacks of the sockets waiting for the load in progress, if one is.
var waiting = null;

// The next candidate of socket `this` is an HTTP transport and
// polysock-http.js is not loaded yet: load it from the socket's mount, for
// at most `timeout` x 4 ms, then go on with the candidates that are usable;
// if it did not load, with those that need nothing from it (websocket, where
// there is JSON), and with none left the connection fails with a reason that
// says so. A failed
// element stays in the page (its late events find another load, or none, and
// change nothing).
export function loadHttp() {
  var self = this, env = this._env, d = env.document, order = this._order, w, el,
    src = this._base.replace(/\?.*/, '') + 'polysock-http.js';
  function end() {
    var m = env[KEY], i;
    if (waiting !== w) return; // this load has ended already
    waiting = null;
    if (m) useHttp(m);
    for (i = 0; i < w.length; i++) w[i](!!m);
  }
  function done(ok) {
    if (self._order !== order) return; // closed or restarted meanwhile
    order = self._order = transportOrder(order, function (n) { return TRANSPORTS[n] && (ok || root.JSON) && self._usable(n); });
    if (ok || order.length || self._susp) self._next();
    else self._finish(1006, 'polysock-http.js did not load', false, true);
  }
  if (waiting) return waiting.push(done);
  w = waiting = [done];
  if (env[KEY] || !d) {
    try {
      if (!env[KEY]) env.importScripts(src);
    } catch (e) {}
    return end();
  }
  el = d.createElement('script');
  // IE6-10 say readyState "loaded" (also for a 404) or "complete"; the others fire load or error.
  el.onload = el.onerror = el.onreadystatechange = function () {
    if (!el.readyState || /loaded|complete/.test(el.readyState)) end();
  };
  env.setTimeout(end, this._timeout * 4);
  el.src = src;
  d.getElementsByTagName('head')[0].appendChild(el);
}
