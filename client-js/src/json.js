// json.js: the two JSON texts the client reads (the open packet and a close
// packet's body) and the one it writes (a close body). No eval and no
// `new Function` (the page may forbid both with a CSP): where the browser has
// no JSON object (IE6/7), a flat parser reads objects of strings, numbers,
// booleans, null and arrays of those, which is every field those packets have.

import { root } from './util.js';

var ESC = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

function str(s) {
  return s.replace(/\\(?:u(....)|(.))/g, function (m, hex, c) {
    return hex ? String.fromCharCode(parseInt(hex, 16)) : ESC[c] || c;
  });
}

// Without a native JSON (IE6/7): the members of one flat object, each a
// string, a number, true, false, null or an array of plain strings, picked
// out by one regular expression. That covers the open packet and a close
// packet's body, the only JSON the client reads; nothing is evaluated.
export function flatParse(text) {
  var out = {}, re = /"(\w+)"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|\[\s*("[^\]]*")?\s*\]|([\w.+\-]+))/g, m, v;
  if (!/^\s*\{[\s\S]*\}\s*$/.test(text)) throw new SyntaxError('JSON');
  while ((m = re.exec(text))) {
    v = m[4];
    out[m[1]] = m[2] != null ? str(m[2]) : v == null ? (m[3] ? m[3].slice(1, -1).split(/"\s*,\s*"/) : []) :
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
