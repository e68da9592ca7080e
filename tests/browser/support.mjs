// Shared helpers for the headless-Chromium tests.
//
//   const srv = await startServer(['--protocols', 'chat,superchat']);
//   const browser = await launchBrowser();
//   const page = await openPage(browser, srv);         // fresh context each time
//   ... await page.evaluate(...) ...
//   await browser.close(); await srv.stop();
//
// The echo server is $POLYSOCK_ECHO_BIN or <repo>/target/debug/examples/echo
// (`cargo build --example echo`), started on 127.0.0.1:0 with the fixtures as
// its static root and the test hooks on; its URL comes from the first stdout
// line `listening on http://...`. No fixed ports, no sleeps.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
      const m = /^listening on (http:\/\/\S+)/.exec(out.slice(0, nl));
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

export function chromiumPath() {
  return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-quic'],
  });
}

// A fresh context (own storage) with the client page loaded. `init`: a
// function run in the page before any of its scripts (page.addInitScript),
// with `initArg`.
export async function openPage(browser, srv, { page: file = 'client.html', init, initArg } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  if (init) await page.addInitScript(init, initArg);
  await page.goto(`${srv.url}/${file}`);
  page.errors = errors;
  page.close = ((close) => async () => { await close(); await context.close(); })(page.close.bind(page));
  return page;
}
