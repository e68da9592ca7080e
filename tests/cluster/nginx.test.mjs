// Issue 15: three echo nodes behind Debian's nginx with docs/nginx-cluster.conf
// (round-robin, no stickiness), used verbatim but for the addresses: the stock
// engine.io-client in each mode echoes 1,000 messages in order, and requests
// are forwarded between the nodes on the way.
//
// Run: cargo build --example echo && node --test tests/cluster/nginx.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MODES, closeAll, openMode } from "../support/eio-client.mjs";
import { nginxVersion } from "../support/nginx.mjs";
import { ownerOf, startCluster } from "./support.mjs";

const COUNT = 1000;

describe(`three nodes behind ${nginxVersion()} with docs/nginx-cluster.conf`, () => {
  let cluster;
  before(async () => {
    cluster = await startCluster({ kind: "nginx" });
  });
  after(async () => {
    await cluster?.stop();
  });

  for (const mode of Object.keys(MODES)) {
    test(`stock engine.io-client, ${mode}: echoes ${COUNT} messages in order`, async (t) => {
      const before = await cluster.forwarded();
      const c = await openMode(cluster.url, mode, 10000);
      try {
        assert.equal(c.transport, MODES[mode].final);
        assert.ok(ownerOf(c.id), c.id);
        const list = Array.from({ length: COUNT }, (_, i) => `nginx ${mode} ${i}`);
        for (const m of list) c.send(m);
        assert.deepEqual(await c.take(COUNT, 30000), list);
        const after = await cluster.forwarded();
        const forwarded = Object.keys(after).reduce((sum, id) => sum + after[id] - before[id], 0);
        t.diagnostic(`session ${c.id}: ${forwarded} requests forwarded between nodes`);
        if (mode !== "websocket") assert.ok(forwarded > 0, "nginx spreads a session's requests over the nodes");
      } catch (err) {
        cluster.dump(`${mode} failed: ${err.message}`);
        throw err;
      } finally {
        closeAll(c);
      }
    });
  }
});
