// url.js: the WebSocket constructor's URL steps (WHATWG WebSockets, "new
// WebSocket(url)"): parse against the page's URL, map http(s) to ws(s),
// refuse other schemes and any fragment with a SyntaxError. The browser's
// own parser does the work: an <a> element's where there is a document
// (the same WHATWG parser in today's browsers; IE's own resolution in IE),
// else the URL constructor (workers, Node).

import { root, domError } from './util.js';

// -> [ws URL (the `url` attribute), http(s) URL for requests, ws origin].
// Refused (SyntaxError): a scheme other than http(s) and ws(s), no host, a
// fragment, or what does not parse at all.
export function resolve(url, base, doc) {
  var href = '', m, a = doc && doc.createElement && doc.createElement('a');
  if (a) {
    a.href = url;
    // An unparseable URL leaves href as given, with an empty scheme.
    if (a.protocol !== ':') href = a.href;
  } else {
    try {
      href = new root.URL(url, base).href;
    } catch (e) {}
  }
  // [, "s" or "", "://host:port", path and query]
  m = /^(?:http|ws)(s?)(:\/\/[^\/?#]+)([^#]*)$/.exec(href);
  if (!m) throw domError('SyntaxError', 'URL ' + url);
  return ['ws' + m[1] + m[2] + m[3], 'http' + m[1] + m[2] + m[3], 'ws' + m[1] + m[2]];
}
