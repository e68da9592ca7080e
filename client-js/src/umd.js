// umd.js: the entry of the npm UMD bundle (dist/polysock.js): Polysock with
// every transport in one file, as a browser global, a CommonJS or an AMD
// module. (The server serves served.js and served-http.js instead.)

import { Polysock, useHttp } from './socket.js';
import { HTTP } from './http-all.js';

Polysock.version = '__VERSION__';
useHttp(HTTP);

export default Polysock;
