#!/usr/bin/env node
// Builds the client from the ES modules in src/ and prints the sizes:
//
//   dist/polysock.js       UMD, readable (src/umd.js and what it imports)
//   dist/polysock.min.js   the same minified by terser: the file the server
//                          serves, also written to server/assets/ (the crate
//                          embeds it from there)
//   dist/polysock.mjs      ES module (src/index.js: Polysock as the default
//                          export, the pure helpers by name)
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
const ASSET = path.join(__dirname, '..', 'server', 'assets', 'polysock.min.js');
/** The served script's min+gzip budget in bytes (issue 13: 6,000 B, resume
 *  included). Not met: BUDGET_TODO says why, and CEILING (today's size and a
 *  little) keeps it from growing meanwhile. */
const BUDGET = 6000;
const BUDGET_TODO = 'not met: 6,762 B before resume and reconnect (+1,117 B); ' +
  'see client-js/README.md, Size, for where the bytes go';
// 7,900, plus 96 B for the htmlfile ack watch and the short timer of the
// first resume rounds (issue 14).
const CEILING = 7996;

// Kept short: it is part of the served, size-budgeted file.
const BANNER = `/*! Polysock ${VERSION} MIT */`;

// Sources stay ASCII (escapes for the rest) and get the version stamped in.
const sourcePlugin = {
  name: 'polysock-source',
  transform(code, id) {
    if (/[^\x00-\x7f]/.test(code)) this.error(`${path.basename(id)}: keep sources ASCII (use \\u escapes)`);
    return { code: code.split('__VERSION__').join(VERSION), map: null };
  },
};

async function bundle(input, output) {
  const { rollup } = require('rollup');
  const b = await rollup({
    input: path.join(SRC, input),
    plugins: [sourcePlugin],
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

async function build() {
  const { minify } = require('terser');
  const es = await bundle('umd.js', { format: 'es', banner: '' });
  const tail = 'export { Polysock as default };\n';
  if (!es.endsWith(tail)) throw new Error('unexpected rollup output tail');
  const js = BANNER + '\n' + UMD_HEAD + es.slice(0, -tail.length) + '\nreturn Polysock;\n}));\n';
  const mjs = await bundle('index.js', { format: 'es', exports: 'named' });
  const res = await minify(js, {
    ecma: 5,
    ie8: true,
    // unsafe*: rewrites that assume no patched built-ins, which holds (the
    // client patches nothing and the page's globals are read, not trusted
    // to be replaced: e.g. `new Array()` -> `[]`, `x === undefined` -> `void 0 === x`).
    compress: {
      passes: 3, pure_getters: true, unsafe: true, unsafe_comps: true, unsafe_undefined: true,
      unsafe_math: true, unsafe_regexp: true
    },
    toplevel: true,
    // Internal members (a leading underscore) are private: shorten them too.
    // _polysock_cb is the htmlfile callback registry the server names.
    mangle: { properties: { regex: /^_(?!polysock)[a-zA-Z]/ } },
    format: { ascii_only: true, comments: /^!/ },
  });
  return { js, min: res.code + '\n', mjs };
}

function sizes(b) {
  return {
    bundle: Buffer.byteLength(b.js),
    min: Buffer.byteLength(b.min),
    minGzip: zlib.gzipSync(b.min, { level: 9 }).length,
  };
}

function write(b) {
  fs.mkdirSync(DIST, { recursive: true });
  fs.writeFileSync(path.join(DIST, 'polysock.js'), b.js);
  fs.writeFileSync(path.join(DIST, 'polysock.min.js'), b.min);
  fs.writeFileSync(path.join(DIST, 'polysock.mjs'), b.mjs);
  fs.mkdirSync(path.dirname(ASSET), { recursive: true });
  fs.writeFileSync(ASSET, b.min);
}

module.exports = { build, sizes, write, BUDGET, BUDGET_TODO, CEILING, DIST, ASSET };

if (require.main === module) {
  build().then((b) => {
    write(b);
    const s = sizes(b);
    console.log(`dist/polysock.js      ${s.bundle} B`);
    console.log(`dist/polysock.min.js  ${s.min} B, ${s.minGzip} B gzipped (budget ${BUDGET} B)`);
    console.log(`dist/polysock.mjs     ${Buffer.byteLength(b.mjs)} B`);
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
