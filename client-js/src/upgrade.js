// upgrade.js: the upgrade from an HTTP transport to websocket
// (protocol-spec/fallback.md), as two methods of Polysock.prototype that
// useHttp (socket.js) installs together with the HTTP transports: only a
// socket on one of them probes, so the served build carries them in
// polysock-http.js.
//
//   client                          server
//     |--- WS ?sid=S ----------------->|   (probe; current transport runs on)
//     |--- 2probe -------------------->|   hold: no new receiving requests
//     |<-- 3probe ---------------------|   server ends the pending GET / stream
//     |    pause: wait for GET + POST in flight to finish
//     |--- 5 ------------------------->|   WS is now the transport
//     |--- buffered packets ---------->|

import { P_PING, P_UPGRADE } from './constants.js';
import { indexOf } from './util.js';

export function upgrades(P, WebSocketTransport) {
  P._maybeProbe = function () {
    var self = this, t, env = this._env;
    if (this._t.name === 'websocket' || this._noProbe || !this._usable('websocket') ||
      indexOf(this._upgrades, 'websocket') < 0 || indexOf(this._prefs, 'websocket') < 0) return;
    t = this._probe = this._wire(new WebSocketTransport(this._ctx, this._sid));
    t._on('start', function () {
      self._probeTimer = env.setTimeout(function () { t._fail(); }, self._timeout * 4);
    })._on('open', function () {
      env.clearTimeout(self._probeTimer);
      self._probeTimer = env.setTimeout(function () { t._fail(); }, self._timeout);
      self._t._hold(true);
      t._ready(self._sid);
      t._send([{ type: P_PING, data: 'probe' }]);
    });
    t._open();
  };

  P._upgrade = function () {
    var self = this, t = this._probe, old = this._t;
    this._env.clearTimeout(this._probeTimer);
    this._upgrading = true;
    old._pause(function () {
      if (self._probe !== t) return;
      self._probe = null;
      self._upgrading = false;
      self._wbuf.unshift({ type: P_UPGRADE, n: 0 });
      old._close();
      self._t = t;
      self._set('transport', t.name);
      self._mem(t.name);
      self._flush();
    });
  };
}
