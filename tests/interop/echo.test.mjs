// The stock engine.io-client 6.x against the echo example: handshake, text
// and binary echo, several packets in one payload — in each of the three
// modes (polling only, websocket only, polling upgraded to websocket).

import assert from "node:assert/strict";
import { describe } from "node:test";
import { sharedEchoServer } from "../support/echo-server.mjs";
import { MODES, allBytes, closeAll, openMode } from "../support/eio-client.mjs";

const { test } = sharedEchoServer(["--path", "/engine.io", "--test-hooks"]);

const HANDSHAKE_KEYS = ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"];

for (const mode of Object.keys(MODES)) {
  describe(`stock engine.io-client, ${mode}`, () => {
    test("opens with the EIO4 handshake and reports its transport", async (t, srv) => {
      const c = await openMode(srv.url, mode);
      try {
        assert.equal(c.transport, MODES[mode].final);
        // A stock client (no ext=1) gets exactly the five EIO4 keys.
        assert.deepEqual(Object.keys(c.handshake).sort(), HANDSHAKE_KEYS);
        assert.match(c.handshake.sid, /^[A-Za-z0-9_.~-]{16,}$/);
        assert.deepEqual(c.handshake.upgrades, MODES[mode].upgrades);
        assert.equal(c.handshake.pingInterval, 25000);
        assert.equal(c.handshake.pingTimeout, 20000);
        assert.equal(c.handshake.maxPayload, 1000000);
        assert.equal(await c.ask("@transport"), `@transport ${MODES[mode].final}`);
        assert.equal(await c.ask("@id"), `@id ${c.handshake.sid}`);
        assert.equal(await c.ask("@protocol"), "@protocol ");
      } finally {
        closeAll(c);
      }
    });

    test("echoes text as text", async (t, srv) => {
      const c = await openMode(srv.url, mode);
      try {
        const texts = [
          "hello",
          "",
          "héllo wörld ✓ 😀 \u2028\u2029",
          '{"json":[1,2,3]}',
          "4 looks like a packet",
          "b looks like base64",
          "line\nbreaks\r\nand\ttabs",
          "x".repeat(100000),
        ];
        for (const s of texts) {
          c.send(s);
          const got = await c.next();
          if (s === "") {
            // The wire carries a bare "4" both ways; engine.io-parser decodes a
            // packet with no data as `data: undefined` (stock behaviour).
            assert.equal(got, undefined, "echo of an empty text");
            continue;
          }
          assert.equal(typeof got, "string", `echo of a ${s.length}-char text is not a string`);
          assert.equal(got, s);
        }
      } finally {
        closeAll(c);
      }
    });

    test("echoes binary as binary with identical bytes", async (t, srv) => {
      const c = await openMode(srv.url, mode);
      try {
        const all = allBytes(7); // 0..255 and 7 more
        const ab = new ArrayBuffer(5);
        new Uint8Array(ab).set([0xff, 0x00, 0x1e, 0x62, 0x34]); // 0x1e = separator, "b", "4"
        const backing = Buffer.from("..view-of-the-middle..");
        const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 18);
        const cases = [
          ["Buffer 0..255+", all, all],
          ["ArrayBuffer", ab, Buffer.from(ab)],
          ["Uint8Array view with offset", view, Buffer.from(view)],
          ["one byte", Buffer.from([0x34]), Buffer.from([0x34])],
          ["200 KB", Buffer.alloc(200 * 1024, 0xa5), Buffer.alloc(200 * 1024, 0xa5)],
          ["empty", Buffer.alloc(0), Buffer.alloc(0)],
        ];
        for (const [name, sent, expected] of cases) {
          c.send(sent);
          const got = await c.next();
          assert.ok(Buffer.isBuffer(got), `${name}: echo is not binary: ${typeof got} ${String(got).slice(0, 60)}`);
          assert.equal(got.length, expected.length, `${name}: length`);
          assert.ok(got.equals(expected), `${name}: bytes differ`);
        }
      } finally {
        closeAll(c);
      }
    });

    test("a burst of mixed text and binary comes back complete and in order", async (t, srv) => {
      const c = await openMode(srv.url, mode);
      const payloadSizes = [];
      try {
        if (c.transport === "polling") {
          // Record how many packets each POST payload carries (stock client batches
          // whatever was buffered while the previous POST was in flight).
          const tr = c.socket.transport;
          const write = tr.write.bind(tr);
          tr.write = (packets) => {
            payloadSizes.push(packets.length);
            return write(packets);
          };
        }
        const sent = [];
        for (let i = 0; i < 60; i++) {
          sent.push(i % 3 === 2 ? Buffer.from([i, 0x1e, 255 - i]) : `burst ${i}`);
        }
        for (const m of sent) c.send(m);
        const got = await c.take(sent.length);
        assert.deepEqual(got.map(show), sent.map(show));
        if (c.transport === "polling") {
          assert.ok(
            payloadSizes.some((n) => n > 1),
            `expected a POST with several packets, payload sizes were ${JSON.stringify(payloadSizes)}`,
          );
          t.diagnostic(`POST payload sizes (packets): ${JSON.stringify(payloadSizes)}`);
        }
      } finally {
        closeAll(c);
      }
    });
  });
}

/** Text as-is, binary as "bin:<hex>", so deepEqual shows readable diffs. */
function show(m) {
  return Buffer.isBuffer(m) ? `bin:${m.toString("hex")}` : m;
}
