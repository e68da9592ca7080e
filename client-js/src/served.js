// served.js: the entry of the served script (<mount>/polysock.js,
// dist/polysock.min.js): Polysock with the websocket transport only, as the
// global Polysock of a classic script (build.js). The HTTP transports are in
// <mount>/polysock-http.js (served-http.js), loaded when a socket first
// needs one (load.js): a browser with a working WebSocket never fetches it.

import { Polysock } from './socket.js';
import { loadHttp } from './load.js';

Polysock.version = '__VERSION__';
Polysock.prototype._loadHttp = loadHttp;

export default Polysock;
