// client-js is an npm package: `npm pack` gives a tarball with the builds
// and the types only; installed, it loads as CommonJS and as an ES module,
// and a TypeScript user's code type-checks against polysock.d.ts (tsc, with
// the mistakes in test/types/usage.ts refused).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const PKG = path.join(__dirname, '..');
const TSC = path.join(PKG, '..', 'node_modules', '.bin', 'tsc');
let tmp, installed, packed;

test.before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polysock-pkg-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: PKG, encoding: 'utf8' });
  packed = JSON.parse(out)[0];
  execFileSync('tar', ['-xzf', path.join(tmp, packed.filename), '-C', tmp]);
  fs.mkdirSync(path.join(tmp, 'node_modules'));
  installed = path.join(tmp, 'node_modules', 'polysock-client');
  fs.renameSync(path.join(tmp, 'package'), installed);
});

test.after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

// The package carries the builds with every transport in one file; the
// served pair (polysock.min.js, polysock-http.min.js) stays with the server,
// which serves both of one build.
test('npm pack: the UMD and ES module builds, the types, the README and package.json; no sources, tests or served files', () => {
  assert.deepEqual(packed.files.map((f) => f.path).sort(), ['README.md', 'dist/polysock.js',
    'dist/polysock.mjs', 'package.json', 'polysock.d.ts']);
  const meta = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  for (const k of ['main', 'module', 'types']) assert.ok(fs.existsSync(path.join(installed, meta[k])), k);
});

test('installed: require() gives the UMD build, import() the ES module, both the same API', async () => {
  const cjs = require(installed);
  assert.equal(cjs.OPEN, 1);
  assert.equal(typeof cjs.version, 'string');
  const esm = await import(path.join(installed, 'dist', 'polysock.mjs'));
  assert.equal(esm.default.OPEN, 1);
  assert.equal(esm.default.version, cjs.version);
  // Resolved by name through the package's "exports", as a user's code does.
  fs.writeFileSync(path.join(tmp, 'use.mjs'), "import P from 'polysock-client'; console.log(P.CLOSED);");
  fs.writeFileSync(path.join(tmp, 'use.cjs'), "console.log(require('polysock-client').CLOSING);");
  assert.equal(execFileSync(process.execPath, ['use.mjs'], { cwd: tmp, encoding: 'utf8' }).trim(), '3');
  assert.equal(execFileSync(process.execPath, ['use.cjs'], { cwd: tmp, encoding: 'utf8' }).trim(), '2');
});

test('tsc: polysock.d.ts types a user\'s code and refuses the marked mistakes', () => {
  for (const f of ['usage.ts', 'tsconfig.json']) fs.copyFileSync(path.join(__dirname, 'types', f), path.join(tmp, f));
  fs.writeFileSync(path.join(tmp, 'package.json'), '{ "private": true, "type": "commonjs" }');
  try {
    execFileSync(TSC, ['-p', path.join(tmp, 'tsconfig.json')], { cwd: tmp, encoding: 'utf8' });
  } catch (e) {
    assert.fail('tsc failed:\n' + e.stdout + e.stderr);
  }
});
