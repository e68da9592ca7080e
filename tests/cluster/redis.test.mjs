// Issue 15 with Redis: three echo nodes joined by `--redis` (the Redis node
// registry is also the forwarding directory) behind haproxy with
// docs/haproxy-roundrobin.cfg (no stickiness), and Debian's redis-server.
//
// - Broadcasts sent from every node reach every client, and `@to ROOM` from
//   every node reaches the members of a room they joined through another node.
// - Redis killed for 10 s: echo, local and forwarded between nodes, never
//   stops; once Redis is back, broadcasts reach every client again.
//
// Run: cargo build --example echo && node --test tests/cluster/redis.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { closeAll, openMode } from "../support/eio-client.mjs";
import { ownerOf, SECRET, startCluster, startRedis } from "./support.mjs";

describe("three nodes on Redis behind haproxy round-robin", () => {
  let redis;
  let cluster;
  const clients = [];
  before(async () => {
    redis = await startRedis();
    cluster = await startCluster(
      { kind: "haproxy", config: "haproxy-roundrobin.cfg" },
      // Short heartbeats: a client discarded below whose close could not be
      // forwarded yet leaves its session to the ping timeout, and @count
      // counts it until then.
      { peers: false, extraArgs: ["--redis", redis.url, "--ping-interval", "2000", "--ping-timeout", "2000"] },
    );
    // The registry learns the nodes from their heartbeats: until every node
    // knows every other one, a forwarded request can meet "Session ID
    // unknown".
    await cluster.registryKnows(3);
    // One polling client (requests spread over the nodes) per node, at least.
    // A client kept is one that has echoed through the balancer.
    for (let i = 0; i < 60 && new Set(clients.map((c) => ownerOf(c.id))).size < 3; i++) {
      const c = await openMode(cluster.url, "polling", 10000);
      try {
        for (let k = 0; k < 6; k++) {
          c.send(`check ${k}`);
          assert.equal(await c.next(3000), `check ${k}`);
        }
        if (clients.some((d) => ownerOf(d.id) === ownerOf(c.id))) closeAll(c);
        else clients.push(c);
      } catch {
        closeAll(c);
      }
      // A session's requests may number a multiple of three, and then every
      // handshake lands on the same node: one plain request through the
      // balancer moves round-robin on by one.
      await fetch(`${cluster.url}/engine.io/polysock.js`, { signal: AbortSignal.timeout(5000) }).then((r) => r.arrayBuffer());
    }
    assert.equal(new Set(clients.map((c) => ownerOf(c.id))).size, 3);
  });
  after(async () => {
    closeAll(clients);
    await cluster?.stop();
    await redis?.stop();
  });

  /** Every message of `expected` reaches every client (any order between senders). */
  async function everyoneGets(expected, ms = 10000) {
    for (const c of clients) {
      const got = await c.take(expected.length, ms);
      assert.deepEqual([...got].sort(), [...expected].sort(), `client ${c.id}`);
    }
  }

  test("broadcasts from every node and room messages reach every client", async (t) => {
    try {
      for (const c of clients) assert.equal(await c.ask("@join r", 10000), "@joined r");
      const sent = [];
      for (const c of clients) {
        const text = `room from ${ownerOf(c.id)} ${c.id.slice(-4)}`;
        c.send(`@to r ${text}`);
        sent.push(text);
      }
      await everyoneGets(sent);
      const all = [];
      for (const c of clients) {
        const text = `all from ${ownerOf(c.id)} ${c.id.slice(-4)}`;
        c.send(`@broadcast ${text}`);
        all.push(text);
      }
      await everyoneGets(all);
    } catch (err) {
      cluster.dump(err.message);
      throw err;
    }
  });

  test("@count counts the sockets open in the cluster", async () => {
      // The clients discarded at the start leave the cluster's count as their
      // closes reach their nodes, or at the latest when their ping times out
      // (4 s): ask until the count is ours, within 15 s.
      const deadline = Date.now() + 15000;
      let count;
      while ((count = await clients[0].ask("@count", 10000)) !== `@count ${clients.length}`) {
        assert.ok(Date.now() < deadline, `the cluster counts our ${clients.length} sockets (${count})`);
      }
  });

  test("Redis down for 10 s: echo, local and forwarded, never stops", async (t) => {
    try {
      const before = await cluster.forwarded();
      await redis.stop();
      const until = Date.now() + 10000;
      let rounds = 0;
      while (Date.now() < until) {
        for (const c of clients) {
          const text = `during ${rounds} ${c.id.slice(-4)}`;
          c.send(text);
          assert.equal(await c.next(2000), text, "an echo within 2 s while Redis is down");
        }
        rounds++;
      }
      const after = await cluster.forwarded();
      const forwarded = Object.keys(after).reduce((sum, id) => sum + after[id] - before[id], 0);
      t.diagnostic(`${rounds} echo rounds while Redis was down; ${forwarded} requests forwarded`);
      assert.ok(forwarded > 0, "forwarding went on without Redis");
    } catch (err) {
      cluster.dump(err.message);
      throw err;
    }
  });

  // A restarted Redis has no subscriptions and no registry: the nodes keep
  // each other listed until their entries would have expired (and one TTL
  // more after an outage), and the first good heartbeat wakes the
  // subscriber out of its backoff (polysock-redis/src/background.rs).
  test("after Redis is back, broadcasts reach every client again", async () => {
    try {
      await redis.restart();
      // The adapters reconnect with backoff: broadcast until one gets through to all.
      const deadline = Date.now() + 30000;
      for (let n = 0; ; n++) {
        assert.ok(Date.now() < deadline, "a broadcast reached every client within 30 s of Redis coming back");
        clients[n % clients.length].send(`@broadcast back ${n}`);
        const got = await Promise.all(clients.map((c) => c.next(1000).catch(() => null)));
        if (got.every((m) => m === `back ${n}`)) break;
        assert.deepEqual(clients.filter((c) => c.closeInfo).map((c) => c.id), [], "no session ended over the restart");
        // Drain whatever else arrived before trying again.
        for (const c of clients) while (c.inbox.length) c.inbox.shift();
      }
      // The registry held over the restart: forwarded requests found their
      // nodes, so every session is still open.
      assert.deepEqual(clients.filter((c) => c.closeInfo).map((c) => c.id), [], "no session ended over the restart");
    } catch (err) {
      cluster.dump(err.message);
      throw err;
    }
  });
});
