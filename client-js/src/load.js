// load.js: the served build's loader of <mount>/polysock-http.js (the HTTP
// transports, served-http.js). A <script> element with a `src` (never
// eval: a page's `script-src` CSP that allows polysock.js's origin allows
// this too), or importScripts in a worker; once per page, shared by the
// sockets that wait for it. A page may also load polysock-http.js with a
// <script> tag of its own, before any socket needs it: then nothing is
// fetched here.

import { useHttp } from './socket.js';

// The global polysock-http.js sets (served-http.js), named with the build.
var KEY = '_polysock_http__BUILD__';
// The callbacks of the sockets waiting for the load in progress, if one is.
var waiting = null;

// done(ok) once polysock-http.js has run (ok), or failed to load, or has
// not run after `ms` milliseconds.
// A failed element stays in the page (its late events find another load, or
// none, and change nothing).
export function loadHttp(env, src, ms, done) {
  var d = env.document, w, el;
  function end() {
    var m = env[KEY], i;
    if (waiting !== w) return; // this load has ended already
    waiting = null;
    if (m) useHttp(m);
    for (i = 0; i < w.length; i++) w[i](!!m);
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
  env.setTimeout(end, ms);
  el.src = src;
  d.getElementsByTagName('head')[0].appendChild(el);
}
