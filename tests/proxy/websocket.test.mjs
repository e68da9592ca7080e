// Issue 5, item 4 (a): nginx configured for WebSocket as its docs say
// (tests/proxy/nginx-recommended.conf): the stock engine.io-client opens on
// websocket through it and echoes; polling and the upgrade work too.

import assert from "node:assert/strict";
import { describe } from "node:test";
import { MODES, allBytes, closeAll, openMode } from "../support/eio-client.mjs";
import { nginxVersion } from "../support/nginx.mjs";
import { recommended, sharedProxy } from "../support/proxy-fixture.mjs";

describe(`through ${nginxVersion()} with the recommended config`, () => {
  const { test } = sharedProxy(["--path", "/engine.io", "--test-hooks"], recommended());

  for (const mode of Object.keys(MODES)) {
    test(`stock client, ${mode}: opens and echoes text and binary`, async (t, { nginx }) => {
      const c = await openMode(nginx.url, mode);
      try {
        assert.equal(c.transport, MODES[mode].final);
        assert.equal(await c.ask("@transport"), `@transport ${MODES[mode].final}`);
        c.send("through nginx ✓");
        assert.equal(await c.next(), "through nginx ✓");
        const bytes = allBytes(1000);
        c.send(bytes);
        const got = await c.next();
        assert.ok(Buffer.isBuffer(got) && got.equals(bytes), "binary echo differs");
        const burst = Array.from({ length: 50 }, (_, i) => `burst ${i}`);
        for (const m of burst) c.send(m);
        assert.deepEqual(await c.take(burst.length), burst);
      } finally {
        closeAll(c);
      }
    });
  }

  test("the server closing a websocket session reaches the client through nginx", async (t, { nginx }) => {
    const c = await openMode(nginx.url, "websocket");
    try {
      c.send("@close 4000 bye");
      const { reason, description } = await c.waitClosed();
      assert.equal(reason, "transport close");
      // nginx relays the WS close frame as it came.
      assert.equal(description.context.code, 4000);
      assert.equal(String(description.context.reason), "bye");
    } finally {
      closeAll(c);
    }
  });
});
