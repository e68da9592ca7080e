// url.js: the WebSocket constructor's URL steps (WHATWG WebSockets, "new
// WebSocket(url)"): parse against the page's URL, map http(s) to ws(s),
// refuse other schemes and any fragment with a SyntaxError. Where the URL
// constructor exists the browser's own parser does the work; elsewhere
// (IE, old Android) the page's own <a> element resolves it (byHand).

import { root, domError } from './util.js';

function syntax(url) {
  return domError('SyntaxError', 'URL ' + url);
}

// Without the URL constructor: an <a> element resolves the URL against the
// page (IE8 and later), then scheme and host are lower-cased, the "/" path
// added, and spaces and non-ASCII percent-encoded.
function byHand(url, doc) {
  var a = doc && doc.createElement && doc.createElement('a');
  if (a) {
    a.href = url;
    url = a.href;
  }
  if (!/^[a-z][\w+.\-]*:\/\/[^\/?#]/i.test(url)) throw syntax(url);
  return url.replace(/^[^\/]*\/\/[^\/?#]*/, function (s) {
    return s.toLowerCase() + (/[\/]/.test(url.charAt(s.length)) ? '' : '/');
  }).replace(/[^\x21-\x7e]/g, encodeURIComponent);
}

var HasURL = (function () {
  try {
    return new root.URL('b', 'http://a/').href === 'http://a/b';
  } catch (e) {
    return false;
  }
}());

// -> [ws URL (the `url` attribute), http(s) URL for requests, ws origin].
export function resolve(url, base, doc) {
  var href, scheme, rest;
  if (HasURL) {
    try {
      href = new root.URL(url, base || undefined).href;
    } catch (e) {
      throw syntax(url);
    }
  } else {
    href = byHand(url, doc);
  }
  scheme = /^[^:]*/.exec(href)[0];
  rest = href.slice(scheme.length);
  scheme = scheme === 'http' ? 'ws' : scheme === 'https' ? 'wss' : scheme;
  if ((scheme !== 'ws' && scheme !== 'wss') || href.indexOf('#') >= 0) throw syntax(url);
  return [scheme + rest, 'http' + scheme.slice(2) + rest, scheme + rest.replace(/^(:\/\/[^\/?#]*).*/, '$1')];
}

// The origin of an http(s) URL, default port dropped, lower case.
export function originOf(url) {
  var m = /^(https?:)\/\/([^\/?#]+)/i.exec(url);
  if (!m) return '';
  return (m[1] + '//' + m[2].replace(m[1] === 'http:' ? /:80$/ : /:443$/, '')).toLowerCase();
}
