// Issue 5, item 4 (c): heartbeats keep an idle connection alive through
// nginx's proxy_read_timeout. The recommended config with the timeout cut to
// 2 s, the server pinging every 500 ms: idle connections survive 3x the
// timeout. Control: with pings rarer than the timeout, nginx does cut an idle
// websocket, so the timeout really is in force.

import assert from "node:assert/strict";
import { describe } from "node:test";
import { closeAll, openMode } from "../support/eio-client.mjs";
import { openStream, request } from "../support/http.mjs";
import { nginxVersion } from "../support/nginx.mjs";
import { recommended, sharedProxy } from "../support/proxy-fixture.mjs";
import { boundaryOf, xhrPackets } from "../support/streaming.mjs";
import { idle } from "../support/wait.mjs";

const READ_TIMEOUT_MS = 2000;
const IDLE_MS = 3 * READ_TIMEOUT_MS;
const conf = recommended({ readTimeout: `${READ_TIMEOUT_MS / 1000}s` });

describe(`through ${nginxVersion()}, proxy_read_timeout ${READ_TIMEOUT_MS} ms, pings every 500 ms`, () => {
  const { test } = sharedProxy(
    ["--path", "/engine.io", "--test-hooks", "--ping-interval", "500", "--ping-timeout", "1000"],
    conf,
  );

  for (const mode of ["websocket", "polling"]) {
    test(`stock client, ${mode}: idle for ${IDLE_MS} ms and still open`, async (t, { nginx }) => {
      const c = await openMode(nginx.url, mode);
      try {
        assert.equal(c.handshake.pingInterval, 500);
        const pings0 = c.pings;
        await idle(IDLE_MS);
        const pings = c.pings - pings0;
        t.diagnostic(`${pings} pings while idle; events: ${c.events.join(",")}`);
        assert.equal(c.events.includes("close"), false, `closed: ${JSON.stringify(c.closeInfo && c.closeInfo.reason)}`);
        assert.equal(c.readyState, "open");
        assert.ok(pings >= IDLE_MS / 500 - 3, `only ${pings} pings in ${IDLE_MS} ms`);
        c.send("after the idle time");
        assert.equal(await c.next(), "after the idle time");
      } finally {
        closeAll(c);
      }
    });
  }

  test(`xhr-streaming: an idle stream answering pings stays open for ${IDLE_MS} ms`, async (t, { nginx }) => {
    const s = await openStream(`${nginx.url}/engine.io/?EIO=4&transport=xhr-streaming&ext=1`, { ms: 3000 });
    try {
      const boundary = boundaryOf(s.headers["content-type"]);
      const open = await s.waitFor((text) => xhrPackets(text, boundary).packets[0], 3000, "the open packet");
      const sid = JSON.parse(open.slice(1)).sid;
      const post = (body) =>
        request(`${nginx.url}/engine.io/?EIO=4&transport=xhr-streaming&sid=${encodeURIComponent(sid)}`, {
          method: "POST",
          body,
          headers: { "content-type": "text/plain;charset=UTF-8" },
        });
      // Answer every ping with a pong, as a client would, for IDLE_MS.
      let answered = 0;
      const end = Date.now() + IDLE_MS;
      while (Date.now() < end) {
        const pings = await s
          .waitFor(
            (text) => {
              const n = xhrPackets(text, boundary).packets.filter((p) => p === "2").length;
              return n > answered && n;
            },
            Math.max(1, end - Date.now()),
            "a ping",
          )
          .catch((err) => {
            if (/timed out/.test(err.message)) return answered; // the idle time is over
            throw err;
          });
        for (; answered < pings; answered++) {
          const r = await post("3");
          assert.equal(r.status, 200, `pong POST: ${r.status} ${r.text}`);
        }
      }
      t.diagnostic(`${answered} pings answered`);
      assert.equal(s.ended, false, "the stream ended");
      assert.equal(s.error, null);
      assert.ok(answered >= IDLE_MS / 500 - 3, `only ${answered} pings in ${IDLE_MS} ms`);
      const r = await post("4still streaming");
      assert.equal(r.text, "ok");
      await s.waitFor((text) => xhrPackets(text, boundary).packets.includes("4still streaming"), 3000, "the echo");
    } finally {
      s.abort();
    }
  });
});

describe(`control: pings rarer than ${nginxVersion()}'s proxy_read_timeout`, () => {
  const { test } = sharedProxy(
    ["--path", "/engine.io", "--test-hooks", "--ping-interval", "5000", "--ping-timeout", "5000"],
    conf,
  );

  test("nginx cuts an idle websocket after proxy_read_timeout", async (t, { nginx }) => {
    const c = await openMode(nginx.url, "websocket");
    try {
      const start = Date.now();
      const { reason } = await c.waitClosed(READ_TIMEOUT_MS + 3000);
      const after = Date.now() - start;
      t.diagnostic(`closed after ${after} ms: ${reason}`);
      assert.equal(reason, "transport close");
      assert.ok(after >= READ_TIMEOUT_MS - 200, `closed already after ${after} ms`);
    } finally {
      closeAll(c);
    }
  });
});
