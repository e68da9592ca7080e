#!/usr/bin/env node
// Builds client-js/dist/polysock.js (readable UMD bundle of src/, in file
// order, one function scope) and dist/polysock.min.js (terser), and prints
// their sizes. `node client-js/build.js`; the dist files are committed, and
// client-js/test/dist.test.js checks that rebuilding gives the same bytes.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const VERSION = '0.1.0';
const SRC = path.join(__dirname, 'src');
const DIST = path.join(__dirname, 'dist');
// Order matters only for prototype set-up at load time (inherit() callers
// after their parents).
const FILES = ['util.js', 'emitter.js', 'framing.js', 'http.js', 'polling.js',
  'xhr-streaming.js', 'htmlfile.js', 'websocket.js', 'socket.js'];

const HEAD = `/*! Polysock client ${VERSION} | MIT | a WebSocket-shaped connection over
 * websocket, xhr-streaming, htmlfile and polling (Engine.IO v4 + extensions).
 * Built from client-js/src by client-js/build.js: do not edit. */
(function (root, factory) {
  if (typeof define === 'function' && define.amd) {
    define([], function () { return factory(root); });
  } else if (typeof module === 'object' && module.exports) {
    module.exports = factory(root);
  } else {
    root.Polysock = factory(root);
  }
}(typeof window !== 'undefined' ? window : typeof globalThis !== 'undefined' ? globalThis : this, function (root) {
'use strict';
`;
const FOOT = `
Polysock.version = '${VERSION}';
return Polysock;
}));
`;

function bundle() {
  let out = HEAD;
  for (const f of FILES) {
    const text = fs.readFileSync(path.join(SRC, f), 'utf8');
    if (/[^\x00-\x7f]/.test(text)) throw new Error(`${f}: keep sources ASCII (use \\u escapes)`);
    out += `\n// ---- ${f} ----\n\n` + text.replace(/\s+$/, '') + '\n';
  }
  return out + FOOT;
}

async function build() {
  const { minify } = require('terser');
  const js = bundle();
  const res = await minify(js, {
    ecma: 5,
    ie8: true,
    compress: { passes: 2 },
    // Internal members (leading underscore) are private: shorten them too.
    mangle: { properties: { regex: /^_[a-zA-Z]/ } },
    format: { ascii_only: true, comments: /^!/ }
  });
  return { js, min: res.code + '\n' };
}

function sizes(b) {
  const kib = (n) => (n / 1024).toFixed(2) + ' KiB';
  return {
    bundle: kib(Buffer.byteLength(b.js)),
    min: kib(Buffer.byteLength(b.min)),
    minGzip: kib(zlib.gzipSync(b.min, { level: 9 }).length)
  };
}

module.exports = { build, bundle, sizes, FILES };

if (require.main === module) {
  build().then((b) => {
    fs.mkdirSync(DIST, { recursive: true });
    fs.writeFileSync(path.join(DIST, 'polysock.js'), b.js);
    fs.writeFileSync(path.join(DIST, 'polysock.min.js'), b.min);
    // The crate embeds the served script from inside itself (cargo package).
    fs.writeFileSync(path.join(__dirname, '..', 'server', 'assets', 'polysock.min.js'), b.min);
    const s = sizes(b);
    console.log(`dist/polysock.js      ${s.bundle}`);
    console.log(`dist/polysock.min.js  ${s.min} (${s.minGzip} gzipped)`);
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
