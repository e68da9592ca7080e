// events.js: the EventTarget half of the WebSocket interface.
//
// Where the browser can construct an EventTarget (every browser of 2018 and
// later), a Polysock *is* one (socket.js makes the instance with
// `new EventTarget()`), so addEventListener's options, dispatchEvent with
// any Event, stopImmediatePropagation and listener errors reported to the
// page are the browser's own. Elsewhere Emitter below stands in for it.
// Events are native Event / MessageEvent / CloseEvent objects where their
// constructors exist, else plain objects with the same fields.
//
// The on<type> attributes behave as IDL event handlers where ES5 accessors
// exist (IE9+): a non-object value reads back as null, and the handler runs
// in the place among the listeners where it was first set.

import { root, noop, indexOf, defineProperty } from './util.js';

// Usable when an EventTarget made with `new` keeps working under another
// prototype (browsers check an internal slot; Node checks the constructor,
// so Node takes the Emitter path).
export var NativeTarget = (function () {
  var E = root.EventTarget, p;
  function F() {}
  try {
    F.prototype = E.prototype;
    p = new F();
    p.constructor = F;
    Object.setPrototypeOf(new E(), p).addEventListener('x', noop);
    return E;
  } catch (e) {
    return null;
  }
}());

export function makeEvent(type, init) {
  var C = type === 'message' ? root.MessageEvent : type === 'close' ? root.CloseEvent : 0, ev, k;
  try {
    ev = new (C || root.Event)(type, init);
  } catch (e) {
    ev = { type: type };
  }
  for (k in init) {
    if (!(k in ev)) ev[k] = init[k];
  }
  return ev;
}

// Sets a field of an event that may be native (read-only accessors).
function tag(ev, k, v) {
  try {
    if (defineProperty) defineProperty(ev, k, { value: v, configurable: true });
    else ev[k] = v;
  } catch (e) {}
}

export function Emitter() {}

Emitter.prototype.addEventListener = function (type, fn) {
  if (!fn) return;
  var map = this._ls || (this._ls = {}), list = map[type] || (map[type] = []);
  if (indexOf(list, fn) < 0) list.push(fn);
};

Emitter.prototype.removeEventListener = function (type, fn) {
  var list = this._ls && this._ls[type], i = list ? indexOf(list, fn) : -1;
  if (i >= 0) list.splice(i, 1);
};

Emitter.prototype.dispatchEvent = function (ev) {
  var list = ((this._ls && this._ls[ev.type]) || []).slice(0), i, fn,
    h = !defineProperty && this['on' + ev.type];
  tag(ev, 'target', this);
  tag(ev, 'currentTarget', this);
  if (typeof h === 'function') list.unshift(h);
  for (i = 0; i < list.length; i++) {
    fn = list[i];
    // A listener removed by an earlier one in this dispatch is not called.
    if (fn !== h && indexOf(this._ls[ev.type], fn) < 0) continue;
    try {
      if (typeof fn === 'function') fn.call(this, ev);
      else if (fn.handleEvent) fn.handleEvent(ev);
    } catch (e) {
      // As browsers do: the others still run, the error surfaces on its own.
      this._env.setTimeout(function () { throw e; }, 0);
    }
  }
  return !ev.defaultPrevented;
};

// on<type> accessors on `proto` (IDL event handler attributes). The
// listener behind a handler is added when it is first set to an object and
// removed when set to null.
export function handlers(proto, types) {
  function define(type) {
    defineProperty(proto, 'on' + type, {
      configurable: true,
      enumerable: true,
      get: function () {
        var h = this._hd && this._hd[type];
        return h ? h.v : null;
      },
      set: function (v) {
        var self = this, hd = this._hd || (this._hd = {}), h = hd[type];
        v = typeof v === 'function' || typeof v === 'object' ? v : null;
        if (h) {
          h.v = v;
          if (!v) {
            this.removeEventListener(type, h.f);
            delete hd[type];
          }
        } else if (v) {
          h = hd[type] = { v: v, f: function (ev) {
            if (typeof h.v === 'function' && h.v.call(self, ev) === false && ev.preventDefault) ev.preventDefault();
          } };
          this.addEventListener(type, h.f);
        }
      }
    });
  }
  for (var i = 0; i < types.length; i++) define(types[i]);
}
