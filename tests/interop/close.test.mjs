// Closing, both ways, with the stock engine.io-client 6.x in each mode:
// - the server closes (`@close 4000 bye` hook): the client gets its "close" event;
// - the client closes (`socket.close()`): the server sees it, as reported by
//   `@whyclosed <sid>` asked over a second socket.

import assert from "node:assert/strict";
import { describe } from "node:test";
import { sharedEchoServer } from "../support/echo-server.mjs";
import { MODES, closeAll, openMode } from "../support/eio-client.mjs";
import { eventually } from "../support/wait.mjs";

const { test } = sharedEchoServer(["--path", "/engine.io", "--test-hooks"]);

/** Ask the server, over `probe`, why session `sid` closed; undefined while it reports null. */
async function whyClosed(probe, sid) {
  const reply = await probe.ask(`@whyclosed ${sid}`);
  assert.match(reply, /^@closed /);
  const info = JSON.parse(reply.slice("@closed ".length));
  return info === null ? undefined : info;
}

for (const mode of Object.keys(MODES)) {
  describe(`stock engine.io-client, ${mode}`, () => {
    test("the server closes the session: the client gets a close event", async (t, srv) => {
      const c = await openMode(srv.url, mode);
      const probe = await openMode(srv.url, "websocket");
      try {
        const sid = c.id;
        c.send("@close 4000 bye");
        const { reason, description } = await c.waitClosed();
        assert.equal(reason, "transport close");
        if (MODES[mode].final === "websocket") {
          // A stock client gets a bare `1`, then the WS close frame with the code mirrored.
          assert.equal(description.description, "websocket connection closed");
          assert.equal(description.context.code, 4000, "WS close frame code");
          assert.equal(String(description.context.reason), "bye", "WS close frame reason");
        } else {
          // Polling: the close packet `1` arrives in a GET payload.
          assert.equal(description.description, "transport closed by the server");
        }
        assert.equal(c.readyState, "closed");
        assert.equal(c.inbox.length, 0, `messages after @close: ${JSON.stringify(c.inbox)}`);
        // The server may record the close just after the client learnt of it.
        const info = await eventually(() => whyClosed(probe, sid), 2000, `server reporting the close of ${sid}`);
        assert.deepEqual(info, { code: 4000, reason: "bye" });
        // The close event fires once.
        assert.equal(c.events.filter((e) => e === "close").length, 1);
      } finally {
        closeAll(c, probe);
      }
    });

    test("the client closes the session: the server sees it", async (t, srv) => {
      const c = await openMode(srv.url, mode);
      const probe = await openMode(srv.url, "websocket");
      try {
        const sid = c.id;
        assert.equal(await whyClosed(probe, sid), undefined, "an open session already reported as closed");
        c.close();
        assert.equal(c.closeInfo.reason, "forced close");
        // The close reaches the server asynchronously (a POST `1` on polling, a WS
        // close frame on websocket); wait until the server reports the session closed.
        const info = await eventually(() => whyClosed(probe, sid), 5000, `server noticing the close of ${sid}`);
        // The stock client sends no close code: a bare `1` on polling, a WS close
        // frame without status on websocket; both mean 1005 (no status).
        assert.equal(info.code, 1005, `close info ${JSON.stringify(info)}`);
        assert.equal(typeof info.reason, "string");
        t.diagnostic(`server's close info: ${JSON.stringify(info)}`);
      } finally {
        closeAll(c, probe);
      }
    });
  });
}

test("unknown sid: @whyclosed answers null", async (t, srv) => {
  const probe = await openMode(srv.url, "websocket");
  try {
    assert.equal(await probe.ask("@whyclosed no-such-session"), "@closed null");
  } finally {
    closeAll(probe);
  }
});
