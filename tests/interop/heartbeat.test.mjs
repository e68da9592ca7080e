// Heartbeats with the stock engine.io-client 6.x, server started with
// --ping-interval 300 --ping-timeout 200: an idle client answers every ping
// and stays open across several of them; one that stops answering is closed.

import assert from "node:assert/strict";
import { describe } from "node:test";
import { sharedEchoServer } from "../support/echo-server.mjs";
import { MODES, closeAll, openMode } from "../support/eio-client.mjs";
import { eventually, once } from "../support/wait.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const PINGS = 6;

const { test } = sharedEchoServer([
  "--path", "/engine.io", "--test-hooks",
  "--ping-interval", String(PING_INTERVAL), "--ping-timeout", String(PING_TIMEOUT),
]);

for (const mode of Object.keys(MODES)) {
  describe(`stock engine.io-client, ${mode}`, () => {
    test(`an idle client stays open across ${PINGS} pings`, async (t, srv) => {
      const c = await openMode(srv.url, mode);
      try {
        assert.equal(c.handshake.pingInterval, PING_INTERVAL);
        assert.equal(c.handshake.pingTimeout, PING_TIMEOUT);
        const start = Date.now();
        const seen = c.pings;
        const times = [];
        while (c.pings - seen < PINGS) {
          // The stock client closes itself ("ping timeout") when no ping comes
          // within pingInterval + pingTimeout; wait a little longer than that.
          await once(c.socket, "ping", PING_INTERVAL + PING_TIMEOUT + 500, { failOn: "close" });
          times.push(Date.now() - start);
        }
        const elapsed = Date.now() - start;
        t.diagnostic(`pings at ${JSON.stringify(times)} ms`);
        // Pings come about every pingInterval: not much faster, not much slower.
        const gaps = times.slice(1).map((x, i) => x - times[i]);
        for (const g of gaps) {
          assert.ok(g >= PING_INTERVAL * 0.6 && g <= PING_INTERVAL + PING_TIMEOUT, `gap of ${g} ms between pings: ${JSON.stringify(times)}`);
        }
        assert.ok(elapsed >= (PINGS - 1) * PING_INTERVAL * 0.8, `${PINGS} pings in only ${elapsed} ms`);
        assert.equal(c.readyState, "open");
        assert.equal(c.transport, MODES[mode].final);
        assert.equal(c.events.includes("close"), false);
        c.send("still alive");
        assert.equal(await c.next(), "still alive");
      } finally {
        closeAll(c);
      }
    });

    test("a client that stops answering pings is closed by the server", async (t, srv) => {
      const c = await openMode(srv.url, mode);
      const probe = await openMode(srv.url, "websocket");
      try {
        const sid = c.id;
        // Swallow the stock client's pongs (it keeps its own ping timer running).
        const sendPacket = c.socket._sendPacket.bind(c.socket);
        c.socket._sendPacket = (type, ...rest) => (type === "pong" ? undefined : sendPacket(type, ...rest));
        const start = Date.now();
        const { reason } = await c.waitClosed(3 * (PING_INTERVAL + PING_TIMEOUT) + 1000);
        const after = Date.now() - start;
        t.diagnostic(`closed after ${after} ms: ${reason}`);
        // The server gives up pingTimeout after the first unanswered ping, which
        // is before the client's own pingInterval + pingTimeout timer runs out.
        assert.equal(reason, "transport close");
        assert.ok(after <= PING_INTERVAL + PING_TIMEOUT + 400, `closed only after ${after} ms`);
        const info = await eventually(
          async () => {
            const reply = await probe.ask(`@whyclosed ${sid}`);
            const v = JSON.parse(reply.slice("@closed ".length));
            return v === null ? undefined : v;
          },
          2000,
          "server reporting the ping-timeout close",
        );
        t.diagnostic(`server's close info: ${JSON.stringify(info)}`);
        assert.equal(typeof info.code, "number");
      } finally {
        closeAll(c, probe);
      }
    });
  });
}
