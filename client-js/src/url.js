// url.js: the WebSocket constructor's URL steps (WHATWG WebSockets, "new
// WebSocket(url)"): parse against the page's URL, map http(s) to ws(s),
// refuse other schemes and any fragment with a SyntaxError. Where the URL
// constructor exists the browser's own parser does the work; elsewhere
// (IE, old Android) a small parser covers absolute, scheme-relative and
// path-relative URLs, lower-cases scheme and host, adds the "/" path and
// percent-encodes spaces and non-ASCII; it does not resolve dot segments,
// drop default ports, or normalise IDNA and IPv6 hosts.

import { root, domError } from './util.js';

function syntax(url) {
  return domError('SyntaxError', 'URL ' + url);
}

function byHand(url, base) {
  var s = url.replace(/^[\x00-\x20]+|[\x00-\x20]+$|[\t\n\r]/g, ''),
    b = /^(\w+:)\/\/([^\/?#]*)([^?#]*)/.exec(base || ''), m;
  if (s.slice(0, 2) === '//') s = (b ? b[1] : '') + s;
  else if (!/^[a-z][\w+.\-]*:/i.test(s) && b) {
    s = b[1] + '//' + b[2] + (s.charAt(0) === '/' ? '' : b[3].replace(/[^\/]*$/, '')) + s;
  }
  m = /^([a-z][\w+.\-]*:)\/*([^\/?#]+)([^?#]*)(.*)$/i.exec(s);
  if (!m) throw syntax(url);
  return (m[1] + '//' + m[2]).toLowerCase() + ((m[3] || '/') + m[4]).replace(/[^\x21-\x7e]/g, encodeURIComponent);
}

var HasURL = (function () {
  try {
    return new root.URL('b', 'http://a/').href === 'http://a/b';
  } catch (e) {
    return false;
  }
}());

// -> [ws URL (the `url` attribute), http(s) URL for requests, ws origin].
export function resolve(url, base) {
  var href, scheme, rest;
  if (HasURL) {
    try {
      href = new root.URL(url, base || undefined).href;
    } catch (e) {
      throw syntax(url);
    }
  } else {
    href = byHand(url, base);
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
