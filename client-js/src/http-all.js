// http-all.js: the three HTTP transports by name and the upgrade from them
// to websocket, for useHttp (socket.js):
// bundled into the npm builds, and the content of the served
// polysock-http.js (served-http.js).

import { XhrStreaming } from './xhr-streaming.js';
import { HtmlFile } from './htmlfile.js';
import { Polling } from './polling.js';

import { upgrades } from './upgrade.js';
import { FLAT } from './json.js';

var HTTP_TRANSPORTS = {
  'xhr-streaming': XhrStreaming,
  'htmlfile': HtmlFile,
  'polling': Polling
};

// What useHttp (socket.js) takes.
export var HTTP = { _t: HTTP_TRANSPORTS, _p: FLAT, _u: upgrades };
