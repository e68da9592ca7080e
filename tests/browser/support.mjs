// Shared helpers for the headless-Chromium tests.
//
//   const srv = await startServer(['--protocols', 'chat,superchat']);
//   const tlsSrv = await startServer(await tlsArgs()); // HTTPS, HTTP/2 by ALPN
//   const browser = await launchBrowser();             // accepts the test certificate
//   const page = await openPage(browser, srv);         // fresh context each time
//   ... await page.evaluate(...) ...
//   await browser.close(); await srv.stop();
//
// The echo server is $POLYSOCK_ECHO_BIN or <repo>/target/debug/examples/echo
// (`cargo build --example echo`), started on 127.0.0.1:0 with the fixtures as
// its static root and the test hooks on; its URL comes from the first stdout
// line `listening on http://...`. No fixed ports, no sleeps.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.join(REPO, 'tests', 'browser', 'fixtures');
export const ECHO_BIN = process.env.POLYSOCK_ECHO_BIN || path.join(REPO, 'target', 'debug', 'examples', 'echo');
export const MOUNT = '/engine.io';

export function startServer(extra = [], { startupMs = 20000 } = {}) {
  if (!existsSync(ECHO_BIN)) {
    return Promise.reject(new Error(`no echo server at ${ECHO_BIN}: run \`cargo build --example echo\``));
  }
  const args = ['--listen', '127.0.0.1:0', '--path', MOUNT, '--static', FIXTURES, '--test-hooks', ...extra];
  const proc = spawn(ECHO_BIN, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-65536); });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`echo server said nothing within ${startupMs} ms`)), startupMs);
    function fail(err) {
      clearTimeout(timer);
      proc.kill();
      reject(new Error(`${err.message}\n${args.join(' ')}\nstderr:\n${stderr}`));
    }
    proc.once('exit', (code) => fail(new Error(`echo server exited (${code}) before listening`)));
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', function onData(d) {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      proc.stdout.off('data', onData);
      proc.stdout.resume(); // keep draining
      const m = /^listening on (https?:\/\/\S+)/.exec(out.slice(0, nl));
      if (!m) return fail(new Error(`unexpected first line: ${out.slice(0, nl)}`));
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({
        url: m[1],
        mount: m[1] + MOUNT,
        stderr: () => stderr,
        async stop() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}

// A fresh self-signed certificate for 127.0.0.1 (openssl CLI, into a new
// temporary directory), as echo arguments: ['--tls-cert', C, '--tls-key', K].
export async function tlsArgs() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'polysock-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return ['--tls-cert', cert, '--tls-key', key];
}

export function chromiumPath() {
  return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // The TLS tests' certificate is self-signed: accepted, as in development.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-quic', '--ignore-certificate-errors'],
  });
}

// A fresh context (own storage) with the client page loaded. `init`: a
// function run in the page before any of its scripts (page.addInitScript),
// with `initArg`.
// `context`: open the page in this context (a further tab of it) instead
// of a fresh one; closing such a page leaves the context open.
export async function openPage(browser, srv, { page: file = 'client.html', init, initArg, context: shared } = {}) {
  const context = shared || await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  if (init) await page.addInitScript(init, initArg);
  await page.goto(`${srv.url}/${file}`);
  page.errors = errors;
  page.close = ((close) => async () => { await close(); if (!shared) await context.close(); })(page.close.bind(page));
  return page;
}
