// Start the echo example (examples/echo) for a JS test.
//
//   const srv = await startEchoServer(["--path", "/engine.io", "--test-hooks"]);
//   ... srv.url === "http://127.0.0.1:PORT" ...
//   await srv.stop();
//
// or, dumping the server's stderr when (and only when) the body throws:
//
//   await withEchoServer([...args], async (srv) => { ... });
//
// The binary is $POLYSOCK_ECHO_BIN, else <repo>/target/debug/examples/echo
// (build it with `cargo build --example echo`). The server always listens on
// 127.0.0.1:0; the port is read from its first stdout line
// `listening on http://127.0.0.1:PORT`, so there is no fixed port and no
// sleep: we start talking to it the moment it says it is listening. (The
// cluster tests pass `listen` with a port picked free just before, since each
// node must be told the others' addresses when it starts.)

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const ECHO_BIN =
  process.env.POLYSOCK_ECHO_BIN || fileURLToPath(new URL("target/debug/examples/echo", `file://${REPO}`));

const LISTENING = /^listening on (http:\/\/127\.0\.0\.1:(\d+))\s*$/;
const STDERR_KEEP = 256 * 1024; // keep the last 256 KiB of the server's stderr

/**
 * Spawn the echo server with `args` (plus `--listen 127.0.0.1:0`).
 * Resolves with `{ url, port, proc, stderr(), dumpStderr(), stop() }` once the
 * server printed its listening line; rejects (and writes the server's stderr
 * to ours) when it exits first, prints something else, or says nothing within
 * `startupMs`.
 */
export function startEchoServer(args = [], { startupMs = 20000, env = {}, listen = "127.0.0.1:0" } = {}) {
  if (!existsSync(ECHO_BIN)) {
    return Promise.reject(
      new Error(`echo server binary not found at ${ECHO_BIN}; run \`cargo build --example echo\` or set POLYSOCK_ECHO_BIN`),
    );
  }
  const proc = spawn(ECHO_BIN, [...args, "--listen", listen], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });

  let stderrBuf = "";
  let stderrDropped = 0; // characters trimmed off the front of stderrBuf
  proc.stderr.setEncoding("utf8");
  proc.stderr.on("data", (chunk) => {
    stderrBuf += chunk;
    if (stderrBuf.length > STDERR_KEEP * 2) {
      stderrDropped += stderrBuf.length - STDERR_KEEP;
      stderrBuf = stderrBuf.slice(-STDERR_KEEP);
    }
  });

  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  let exitInfo = null;
  exited.then((info) => (exitInfo = info));

  const server = {
    url: null,
    port: null,
    proc,
    cmdline: [ECHO_BIN, ...args, "--listen", listen].join(" "),
    /** Everything the server wrote to stderr so far (the last 256 KiB). */
    stderr: () => stderrBuf,
    /** A position in the stderr stream, for `dumpStderr(why, mark)`. */
    mark: () => stderrDropped + stderrBuf.length,
    /** Write the server's stderr (from `since`, a `mark()`) to the test's stderr, labelled. */
    dumpStderr(why = "test failed", since = 0) {
      const from = Math.max(0, since - stderrDropped);
      process.stderr.write(
        `\n----- echo server stderr (${why}; ${server.cmdline}) -----\n${stderrBuf.slice(from)}` +
          `\n----- end of echo server stderr${exitInfo ? `; exited ${describeExit(exitInfo)}` : ""} -----\n`,
      );
    },
    /** Whether the server process is still running. */
    alive: () => exitInfo === null,
    /** Stop the server: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
    async stop(graceMs = 5000) {
      if (exitInfo) return exitInfo;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };

  return new Promise((resolve, reject) => {
    let stdoutBuf = "";
    let settled = false;
    const fail = (msg) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      server.dumpStderr("startup failed");
      proc.kill("SIGKILL");
      reject(new Error(`echo server: ${msg} (${server.cmdline})`));
    };
    const timer = setTimeout(() => fail(`no listening line within ${startupMs} ms`), startupMs);
    proc.once("error", (err) => fail(`spawn failed: ${err.message}`));
    exited.then((info) => fail(`exited ${describeExit(info)} before printing its listening line`));
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (chunk) => {
      if (settled) return; // keep draining stdout so the pipe never fills
      stdoutBuf += chunk;
      const nl = stdoutBuf.indexOf("\n");
      if (nl < 0) {
        if (stdoutBuf.length > 4096) fail(`first stdout line too long: ${JSON.stringify(stdoutBuf.slice(0, 200))}`);
        return;
      }
      const line = stdoutBuf.slice(0, nl).replace(/\r$/, "");
      const m = LISTENING.exec(line);
      if (!m) return fail(`unexpected first stdout line ${JSON.stringify(line)}`);
      settled = true;
      clearTimeout(timer);
      server.url = m[1];
      server.port = Number(m[2]);
      resolve(server);
    });
  });
}

/**
 * Run `body(server)` against a fresh echo server. The server's stderr goes to
 * the test's stderr only when the body throws (or the server died); the server
 * is always stopped afterwards.
 */
export async function withEchoServer(args, body, opts) {
  const server = await startEchoServer(args, opts);
  try {
    const result = await body(server);
    if (!server.alive()) {
      server.dumpStderr("server exited during the test");
      throw new Error(`echo server exited during the test: ${server.cmdline}`);
    }
    return result;
  } catch (err) {
    server.dumpStderr(`test failed: ${err && err.message}`);
    throw err;
  } finally {
    await server.stop();
  }
}

/**
 * One echo server shared by the tests of a file (node:test `before`/`after`
 * hooks). Returns `{ server, test }`: `test(name, [options], fn)` is
 * node:test's `test` with `fn(t, server)`, and writes the server's stderr
 * produced during that test to ours when the test throws.
 */
export function sharedEchoServer(args, opts) {
  const shared = { server: null, test: null };
  before(async () => {
    shared.server = await startEchoServer(args, opts);
  });
  after(async () => {
    if (shared.server) await shared.server.stop();
  });
  shared.test = (name, options, fn) => {
    if (typeof options === "function") [fn, options] = [options, {}];
    return test(name, options, async (t) => {
      const server = shared.server;
      if (!server) throw new Error("echo server did not start");
      const mark = server.mark();
      try {
        await fn(t, server);
        if (!server.alive()) throw new Error(`echo server exited during the test: ${server.cmdline}`);
      } catch (err) {
        server.dumpStderr(`test "${name}" failed: ${err && err.message}`, mark);
        throw err;
      }
    });
  };
  return shared;
}

function describeExit({ code, signal }) {
  return signal ? `on signal ${signal}` : `with code ${code}`;
}
