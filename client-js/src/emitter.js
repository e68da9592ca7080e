// emitter.js: the EventTarget part of the WebSocket surface.
// addEventListener / removeEventListener / dispatchEvent, plus the on<type>
// handler properties. A throwing listener does not stop the others: its error
// is rethrown from a fresh task, as browsers report listener errors.

function Emitter() {}

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
  var list = ((this._ls && this._ls[ev.type]) || []).slice(0),
    handler = this['on' + ev.type], i;
  ev.target = ev.currentTarget = this;
  if (typeof handler === 'function') this._call(handler, ev);
  for (i = 0; i < list.length; i++) {
    // A listener removed by an earlier one in this dispatch is not called.
    if (indexOf(this._ls[ev.type], list[i]) >= 0) this._call(list[i], ev);
  }
  return true;
};

Emitter.prototype._call = function (fn, ev) {
  try {
    if (typeof fn === 'function') fn.call(this, ev);
    else if (fn.handleEvent) fn.handleEvent(ev);
  } catch (e) {
    this._env.setTimeout(function () { throw e; }, 0);
  }
};
