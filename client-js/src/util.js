// util.js: small helpers over plain values. Nothing here touches a built-in
// prototype.

export var root = typeof window !== 'undefined' ? window :
  typeof globalThis !== 'undefined' ? globalThis : {};

export function noop() {}

export function inherit(Child, Parent) {
  function F() {}
  F.prototype = Parent.prototype;
  Child.prototype = new F();
  Child.prototype.constructor = Child;
}

export function indexOf(list, item) {
  for (var i = 0; i < list.length; i++) {
    if (list[i] === item) return i;
  }
  return -1;
}

export function isArray(x) {
  return Object.prototype.toString.call(x) === '[object Array]';
}

// An Error shaped like the DOMException a WebSocket would throw.
export function domError(name, message) {
  try {
    return new root.DOMException(message, name);
  } catch (e) {
    var err = new Error(message);
    err.name = name;
    return err;
  }
}

// WebIDL USVString: every lone surrogate becomes U+FFFD.
export function usv(s) {
  return String(s).replace(/[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]/g, function (c) {
    return c.length > 1 ? c : '\ufffd';
  });
}

// Bytes `s` takes in UTF-8; `s` has been through usv() (no lone surrogates).
export function utf8Length(s) {
  return encodeURIComponent(s).replace(/%../g, '-').length;
}

// ES5 accessors on ordinary objects: everywhere but IE8 and older (IE8's
// defineProperty works on DOM objects only).
export var defineProperty = (function () {
  var d = Object.defineProperty, o = {};
  try {
    d(o, 'x', { get: function () { return 1; } });
    return o.x === 1 ? d : null;
  } catch (e) {
    return null;
  }
}());
