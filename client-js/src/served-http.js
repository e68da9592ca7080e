// served-http.js: the entry of <mount>/polysock-http.js
// (dist/polysock-http.min.js), the served build's HTTP transports and the
// flat JSON reader. It runs as a classic script and leaves them in a global
// named with the build id, where load.js takes them: only a core of the same
// build can use them (build.js shortens the internal names of both together).

import { root } from './util.js';
import { HTTP } from './http-all.js';

root['_polysock_http__BUILD__'] = HTTP;
