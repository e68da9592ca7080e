// url.js: the WebSocket constructor's URL steps (WHATWG WebSockets, "new
// WebSocket(url)"): parse against the page's URL, map http(s) to ws(s),
// refuse other schemes and any fragment with a SyntaxError. The browser's
// own parser does the work: an <a> element's where there is a document
// (the same WHATWG parser in today's browsers; IE's own resolution in IE),
// else the URL constructor (workers, Node).

import { root, domError } from './util.js';

function syntax(url) {
  return domError('SyntaxError', 'URL ' + url);
}

// -> [ws URL (the `url` attribute), http(s) URL for requests, ws origin].
export function resolve(url, base, doc) {
  var href = '', scheme, rest, a = doc && doc.createElement && doc.createElement('a');
  if (a) {
    a.href = url;
    // An unparseable URL leaves href as given, with an empty scheme.
    if (a.protocol !== ':') href = a.href;
  } else {
    try {
      href = new root.URL(url, base).href;
    } catch (e) {}
  }
  scheme = /^[^:]*/.exec(href)[0];
  rest = href.slice(scheme.length);
  scheme = scheme === 'http' ? 'ws' : scheme === 'https' ? 'wss' : scheme;
  if ((scheme !== 'ws' && scheme !== 'wss') || !/^:\/\/[^\/?#]/.test(rest) || href.indexOf('#') >= 0) {
    throw syntax(url);
  }
  return [scheme + rest, 'http' + scheme.slice(2) + rest, scheme + rest.replace(/^(:\/\/[^\/?#]*).*/, '$1')];
}
