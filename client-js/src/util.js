// util.js: helpers shared by every file of the bundle. Nothing here touches a
// built-in prototype; everything is a plain function over its arguments.

function noop() {}

function inherit(Child, Parent) {
  function F() {}
  F.prototype = Parent.prototype;
  Child.prototype = new F();
  Child.prototype.constructor = Child;
}

function indexOf(list, item) {
  for (var i = 0; i < list.length; i++) {
    if (list[i] === item) return i;
  }
  return -1;
}

function isArray(x) {
  return Object.prototype.toString.call(x) === '[object Array]';
}

// An Error shaped like the DOMException a WebSocket would throw.
function domError(name, message) {
  try {
    return new root.DOMException(message, name);
  } catch (e) {
    var err = new Error(message);
    err.name = name;
    return err;
  }
}

// Number of bytes `s` takes in UTF-8 (lone surrogates count as U+FFFD, 3 bytes).
function utf8Length(s) {
  var n = 0, i, c;
  for (i = 0; i < s.length; i++) {
    c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// ---- binary data ----------------------------------------------------------

function isBinary(d) {
  var t = Object.prototype.toString.call(d);
  return t === '[object ArrayBuffer]' ||
    (typeof ArrayBuffer !== 'undefined' && !!ArrayBuffer.isView && ArrayBuffer.isView(d));
}

// A private copy of the bytes of an ArrayBuffer or view, as a Uint8Array.
function bytesOf(d) {
  return d.buffer ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
var B64R = {};
(function () {
  for (var i = 0; i < 64; i++) B64R[B64.charAt(i)] = i;
}());

function b64encode(u8) {
  var out = [], n = u8.length, i, a, b, c;
  for (i = 0; i < n; i += 3) {
    a = u8[i];
    b = i + 1 < n ? u8[i + 1] : 0;
    c = i + 2 < n ? u8[i + 2] : 0;
    out.push(B64.charAt(a >> 2) + B64.charAt(((a & 3) << 4) | (b >> 4)) +
      (i + 1 < n ? B64.charAt(((b & 15) << 2) | (c >> 6)) : '=') +
      (i + 2 < n ? B64.charAt(c & 63) : '='));
  }
  return out.join('');
}

// Standard base64 with padding -> ArrayBuffer. Throws on anything else.
function b64decode(s) {
  var len = s.length, pad = s.charAt(len - 1) === '=' ? (s.charAt(len - 2) === '=' ? 2 : 1) : 0,
    out, i, j = 0, v, k, q;
  if (len % 4) throw new Error('bad base64');
  out = new Uint8Array(len / 4 * 3 - pad);
  for (i = 0; i < len; i += 4) {
    v = 0;
    for (k = 0; k < 4; k++) {
      q = s.charAt(i + k);
      if (q === '=' && i + k >= len - pad) q = 'A';
      if (!B64R.hasOwnProperty(q)) throw new Error('bad base64');
      v = v * 64 + B64R[q];
    }
    // Canonical only: the bits that padding drops must be zero.
    if (i === len - 4 && pad && v & (pad === 2 ? 0xffff : 0xff)) throw new Error('bad base64');
    out[j++] = v >> 16;
    if (j < out.length) out[j++] = (v >> 8) & 255;
    if (j < out.length) out[j++] = v & 255;
  }
  return out.buffer;
}

// ---- JSON (IE6/7 have no window.JSON) -------------------------------------

function quote(s) {
  return '"' + s.replace(/[\\"\u0000-\u001f\u2028\u2029]/g, function (c) {
    return c === '"' ? '\\"' : c === '\\' ? '\\\\' :
      '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
  }) + '"';
}

function parseJSON(text) {
  var J = root.JSON;
  if (J && J.parse) return J.parse(text);
  // No native JSON: accept only text made of JSON tokens, then evaluate it.
  if (/^[\],:{}\s]*$/.test(text.replace(/\\(?:["\\\/bfnrt]|u[0-9a-fA-F]{4})/g, '@')
    .replace(/"[^"\\\n\r]*"|true|false|null|-?\d+(?:\.\d*)?(?:[eE][+\-]?\d+)?/g, ']')
    .replace(/(?:^|:|,)(?:\s*\[)+/g, ''))) {
    return (new Function('return ' + text.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')))();
  }
  throw new SyntaxError('bad JSON');
}
