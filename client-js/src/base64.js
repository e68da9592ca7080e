// base64.js: binary messages on the HTTP transports travel as "b" + base64
// (protocol-spec/02). Binary data needs typed arrays, and every browser that
// has them (IE10 and later) also has atob/btoa, so the browser does the
// work; IE6-9 never reach this file's functions.

import { root } from './util.js';

export function b64encode(u8) {
  var s = '', i;
  for (i = 0; i < u8.length; i++) s += String.fromCharCode(u8[i]);
  return root.btoa(s);
}

// Canonical padded base64 -> ArrayBuffer; throws on anything else (what
// does not encode back to itself: no padding, stray bits, whitespace).
export function b64decode(b) {
  var s = root.atob(b), u8 = new Uint8Array(s.length), i;
  if (root.btoa(s) !== b) throw new Error('bad base64');
  for (i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  return u8.buffer;
}
