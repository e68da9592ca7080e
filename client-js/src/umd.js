// umd.js: the entry of the UMD bundle (dist/polysock.js, polysock.min.js):
// Polysock alone, as a browser global, a CommonJS or an AMD module.

import { Polysock } from './socket.js';

Polysock.version = '__VERSION__';

export default Polysock;
