// index.js: the ES module entry (dist/polysock.mjs). Besides Polysock it
// exports the pure helpers by name, for tests and for tools that speak the
// protocol; the UMD bundle (umd.js) carries Polysock only.

import { Polysock, useHttp } from './socket.js';
import { HTTP } from './http-all.js';

Polysock.version = '__VERSION__';
useHttp(HTTP);

export default Polysock;
export { Polysock, TRANSPORTS as transports, transportOrder, backoff } from './socket.js';
export { encodePacket, decodePacket, encodePayload, decodePayload } from './codec.js';
export { Multipart, boundaryOf } from './multipart.js';
export { b64encode, b64decode } from './base64.js';
export { utf8Length, usv } from './util.js';
export { quote, parseJSON, flatParse } from './json.js';
export { resolve } from './url.js';
