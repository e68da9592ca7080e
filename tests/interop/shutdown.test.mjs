// Graceful shutdown (issue 5, item 5) seen by stock engine.io-client 6.x
// sockets: on Ctrl-C (SIGINT) the echo example shuts its server down; every
// open socket, in every mode, gets its "close" event, websocket ones with
// close code 1001 "going away", and the process then exits by itself.

import assert from "node:assert/strict";
import { test } from "node:test";
import { startEchoServer } from "../support/echo-server.mjs";
import { MODES, closeAll, openMode } from "../support/eio-client.mjs";
import { once } from "../support/wait.mjs";

test("SIGINT: every stock client is told, websocket ones with 1001, and the server exits", async (t) => {
  const srv = await startEchoServer(["--path", "/engine.io", "--test-hooks"]);
  const clients = [];
  try {
    for (const mode of Object.keys(MODES)) clients.push([mode, await openMode(srv.url, mode)]);
    for (const [, c] of clients) {
      c.send("ready?");
      assert.equal(await c.next(), "ready?");
    }
    const exited = once(srv.proc, "exit", 10000);
    srv.proc.kill("SIGINT");
    for (const [mode, c] of clients) {
      const { reason, description } = await c.waitClosed(7000);
      assert.equal(reason, "transport close", `${mode}: ${reason}`);
      if (MODES[mode].final === "websocket") {
        assert.equal(description.description, "websocket connection closed", mode);
        assert.equal(description.context.code, 1001, `${mode}: WS close code`);
        t.diagnostic(`${mode}: WS close ${description.context.code} ${JSON.stringify(String(description.context.reason))}`);
      } else {
        assert.equal(description.description, "transport closed by the server", mode);
      }
    }
    const [code, signal] = await exited;
    assert.equal(signal, null, `server killed by ${signal}`);
    assert.equal(code, 0, `server exit code ${code}`);
  } catch (err) {
    srv.dumpStderr(`shutdown test failed: ${err.message}`);
    throw err;
  } finally {
    closeAll(clients.map(([, c]) => c));
    await srv.stop();
  }
});
