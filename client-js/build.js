#!/usr/bin/env node
// Builds the client from the ES modules in src/ and prints the sizes:
//
//   dist/polysock.js       UMD, readable, every transport (src/umd.js and
//                          what it imports): the npm package's main
//   dist/polysock.mjs      ES module, every transport (src/index.js: Polysock
//                          as the default export, the pure helpers by name)
//   dist/polysock.min.js   the served script, <mount>/polysock.js: the
//                          global Polysock, minified, websocket only
//                          (src/served.js)
//   dist/polysock-http.min.js  <mount>/polysock-http.js, minified: the HTTP
//                          transports, loaded on demand (src/served-http.js)
//
// The two served files are also written to server/assets/ (the crate embeds
// them from there). They are minified with one terser name cache, so that an
// internal member has the same short name in both, and carry one build id
// (a hash of the sources and of this file): load.js takes the HTTP half only
// from the global named with its own id.
//
// `node client-js/build.js`; every output is committed, and
// client-js/test/dist.test.js checks that a fresh build gives the same bytes.
//
// Bundler: rollup. Its output for ES5 sources is ES5 with no runtime helper
// and every module hoisted into one function scope, so the UMD file is what
// the sources say; terser then minifies with its IE8 mode (reserved words
// quoted as property names, no trailing commas), which keeps the result
// parseable as ES3.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const VERSION = require('./package.json').version;
const SRC = path.join(__dirname, 'src');
const DIST = path.join(__dirname, 'dist');
const ASSETS = path.join(__dirname, '..', 'server', 'assets');
const ASSET = path.join(ASSETS, 'polysock.min.js');
const ASSET_HTTP = path.join(ASSETS, 'polysock-http.min.js');
/** Min+gzip budgets in bytes: the served script <mount>/polysock.js
 *  (issue 13: 6,000 B, resume included), and it together with
 *  <mount>/polysock-http.js (what a browser without a working WebSocket
 *  fetches). */
const BUDGET = 6000;
const BUDGET_BOTH = 9400;

// The build id: the sources, this file and the version.
function buildId() {
  const h = require('crypto').createHash('sha256');
  h.update(VERSION);
  h.update(fs.readFileSync(__filename));
  for (const f of fs.readdirSync(SRC).sort()) h.update(f + '\0' + fs.readFileSync(path.join(SRC, f)));
  return h.digest('hex').slice(0, 8);
}

// Kept short: it is part of the served, size-budgeted file.
const BANNER = `/*! Polysock ${VERSION} MIT */`;

// Sources stay ASCII (escapes for the rest) and get the version and the
// build id stamped in.
const sourcePlugin = (build) => ({
  name: 'polysock-source',
  transform(code, id) {
    if (/[^\x00-\x7f]/.test(code)) this.error(`${path.basename(id)}: keep sources ASCII (use \\u escapes)`);
    return { code: code.split('__VERSION__').join(VERSION).split('__BUILD__').join(build), map: null };
  },
});

async function bundle(input, output, build) {
  const { rollup } = require('rollup');
  const b = await rollup({
    input: path.join(SRC, input),
    plugins: [sourcePlugin(build)],
    onwarn(w) { throw new Error(`rollup: ${w.message}`); },
  });
  const { output: [chunk] } = await b.generate({
    banner: BANNER,
    generatedCode: 'es5',
    freeze: false,
    indent: false,
    ...output,
  });
  await b.close();
  return chunk.code;
}

// A UMD wrapper shorter than rollup's (it is part of the size budget): a
// CommonJS module, an AMD module, else the global Polysock.
const UMD_HEAD = `(function (root, factory) {
  if (typeof module == 'object' && module.exports) module.exports = factory();
  else if (typeof define == 'function' && define.amd) define(factory);
  else root.Polysock = factory();
}(this, function () {
'use strict';
`;

// The served script is a classic script (<script src>): it defines the
// global Polysock and nothing else. (AMD and CommonJS users take the npm
// package's UMD build.)
const GLOBAL_HEAD = `var Polysock = (function () {
'use strict';
`;

// An ES bundle of Polysock as the default export, in the UMD wrapper or
// (global) as the global Polysock.
async function umd(input, id, global) {
  const es = await bundle(input, { format: 'es', banner: '' }, id);
  const tail = 'export { Polysock as default };\n';
  if (!es.endsWith(tail)) throw new Error('unexpected rollup output tail');
  return BANNER + '\n' + (global ? GLOBAL_HEAD : UMD_HEAD) + es.slice(0, -tail.length) + '\nreturn Polysock;\n' +
    (global ? '}());\n' : '}));\n');
}

// `cache`: terser's name cache, shared by the two served files.
function minify(js, cache) {
  return require('terser').minify(js, {
    ecma: 5,
    ie8: true,
    // unsafe*: rewrites that assume no patched built-ins, which holds (the
    // client patches nothing and the page's globals are read, not trusted
    // to be replaced: e.g. `new Array()` -> `[]`, `x === undefined` -> `void 0 === x`).
    compress: {
      passes: 3, hoist_funs: true, pure_getters: true, unsafe: true, unsafe_comps: true, unsafe_undefined: true,
      unsafe_math: true, unsafe_regexp: true
    },
    // (No `toplevel`: with it terser hoisted the UMD factory into a global `var t`.)
    // Internal members (a leading underscore) are private: shorten them too.
    // _polysock_cb is the htmlfile callback registry the server names.
    mangle: { properties: { regex: /^_(?!polysock)[a-zA-Z]/ } },
    format: { ascii_only: true, comments: /^!/ },
    nameCache: cache,
  }).then((res) => res.code + '\n');
}

async function build() {
  const id = buildId();
  const js = await umd('umd.js', id);
  const mjs = await bundle('index.js', { format: 'es', exports: 'named' }, id);
  const core = await umd('served.js', id, true);
  const http = BANNER + "\n(function () {\n'use strict';\n" +
    (await bundle('served-http.js', { format: 'es', banner: '' }, id)) + '}());\n';
  const cache = {};
  const min = await minify(core, cache);
  const httpMin = await minify(http, { props: cache.props });
  return { js, mjs, min, httpMin, id };
}

const gz = (s) => zlib.gzipSync(s, { level: 9 }).length;

function sizes(b) {
  return {
    bundle: Buffer.byteLength(b.js),
    min: Buffer.byteLength(b.min),
    minGzip: gz(b.min),
    httpMin: Buffer.byteLength(b.httpMin),
    httpMinGzip: gz(b.httpMin),
  };
}

function write(b) {
  fs.mkdirSync(DIST, { recursive: true });
  fs.writeFileSync(path.join(DIST, 'polysock.js'), b.js);
  fs.writeFileSync(path.join(DIST, 'polysock.mjs'), b.mjs);
  fs.writeFileSync(path.join(DIST, 'polysock.min.js'), b.min);
  fs.writeFileSync(path.join(DIST, 'polysock-http.min.js'), b.httpMin);
  fs.mkdirSync(ASSETS, { recursive: true });
  fs.writeFileSync(ASSET, b.min);
  fs.writeFileSync(ASSET_HTTP, b.httpMin);
}

module.exports = { build, sizes, write, BUDGET, BUDGET_BOTH, DIST, ASSET, ASSET_HTTP };

if (require.main === module) {
  build().then((b) => {
    write(b);
    const s = sizes(b);
    console.log(`dist/polysock.js           ${s.bundle} B`);
    console.log(`dist/polysock.mjs          ${Buffer.byteLength(b.mjs)} B`);
    console.log(`dist/polysock.min.js       ${s.min} B, ${s.minGzip} B gzipped (budget ${BUDGET} B)`);
    console.log(`dist/polysock-http.min.js  ${s.httpMin} B, ${s.httpMinGzip} B gzipped ` +
      `(both ${s.minGzip + s.httpMinGzip} B, budget ${BUDGET_BOTH} B)`);
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
