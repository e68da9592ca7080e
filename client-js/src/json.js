// json.js: the two JSON texts the client reads (the open packet and a close
// packet's body) and the one it writes (a close body), where the browser has
// no JSON (IE6/7; socket.js uses the browser's JSON elsewhere). No eval and no
// `new Function` (the page may forbid both with a CSP): where the browser has
// no JSON object (IE6/7), a flat parser reads objects of strings, numbers,
// booleans, null and arrays of those, which is every field those packets have.

import { root } from './util.js';

// JSON string escapes, for the flat reader.
function str(s) {
  return s.replace(/\\(?:u(....)|(.))/g, function (m, hex, c) {
    var i = 'bfnrt'.indexOf(c);
    return hex ? String.fromCharCode(parseInt(hex, 16)) : i < 0 ? c : '\b\f\n\r\t'.charAt(i);
  });
}

// Without a native JSON (IE6/7): the members of one flat object as the
// server writes it (no white space), each a string, a number, true, false,
// null, an array of plain strings or a flat object of those (the open
// packet's "resume"), picked out by a regular expression.
// That covers the open packet and a close packet's body, the only JSON the
// client reads. Nothing is evaluated; what is not such an object reads as
// whatever members could be picked out of it.
export function flatParse(text) {
  var out = {}, re = /"(\w+)":("(?:[^"\\]|\\.)*"|\[[^\]]*\]|\{[^}]*\}|[^,}]+)/g, m, v, c;
  while ((m = re.exec(text))) {
    v = m[2];
    c = v.charAt(0);
    out[m[1]] = c === '"' ? str(v.slice(1, -1)) : c === '[' ? (v.length > 2 ? v.slice(2, -2).split('","') : []) :
      c === '{' ? flatParse(v) :
      v === 'null' ? null : v === 'true' || (v !== 'false' && +v);
  }
  return out;
}

export function parseJSON(text) {
  var J = root.JSON;
  return J && J.parse ? J.parse(text) : flatParse(text);
}

// A JSON string literal: anything but printable ASCII (and " \) as \\uXXXX.
export function quote(s) {
  return '"' + s.replace(/[^ !#-\[\]-~]/g, function (c) {
    return '\\u' + (c.charCodeAt(0) + 0x10000).toString(16).slice(1);
  }) + '"';
}

// What JSON.stringify makes of a close body {code, reason} (escaped more).
function closeBody(o) {
  return '{"code":' + o.code + ',"reason":' + quote(o.reason) + '}';
}

// The stand-in for JSON where there is none (IE6/7): socket.js json().
export var FLAT = { parse: flatParse, stringify: closeBody };
