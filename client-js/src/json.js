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

// A string, number, true/false/null, or an array of those (whose strings
// hold no comma: the open packet's upgrades are transport names).
function value(v) {
  var c, list = [], i;
  v = v.replace(/^\s+|\s+$/g, '');
  c = v.charAt(0);
  if (c === '[') {
    v = v.slice(1, -1);
    if (/\S/.test(v)) {
      v = v.split(',');
      for (i = 0; i < v.length; i++) list.push(value(v[i]));
    }
    return list;
  }
  if (c === '"') return str(v.slice(1, -1));
  if (!/^(true|false|null|-?\d[\d.eE+\-]*)$/.test(v)) throw new SyntaxError('bad JSON');
  return v === 'null' ? null : v === 'true' || (v !== 'false' && +v);
}

// Lenient: an object's members "key": value, where no value is an object.
export function flatParse(text) {
  var out = {}, re = /"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^,}]+)/g, m;
  if (!/^\s*\{[\s\S]*\}\s*$/.test(text)) throw new SyntaxError('bad JSON');
  while ((m = re.exec(text))) out[str(m[1])] = value(m[2]);
  return out;
}

export function parseJSON(text) {
  var J = root.JSON;
  return J && J.parse ? J.parse(text) : flatParse(text);
}

export function quote(s) {
  return '"' + s.replace(/[\\"\u0000-\u001f\u2028\u2029]/g, function (c) {
    return c === '"' ? '\\"' : c === '\\' ? '\\\\' :
      '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
  }) + '"';
}
