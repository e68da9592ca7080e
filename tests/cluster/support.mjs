// Three echo nodes that know each other (--node-id, --peer, --cluster-secret)
// and a real balancer in front (Debian's haproxy, or nginx), for the cluster
// tests (issue 15). The balancer's config is the published file under docs/,
// with only the addresses marked EDIT replaced; each replacement must hit
// exactly once, so the tested file and the published one cannot drift apart.
//
// Ports: each node must know the others' addresses when it starts, so the
// ports are picked free (bind 0, close) just before, and the whole cluster is
// started again with new ones if a node or the balancer finds its port taken.
// Readiness: a node's listening line, the balancer's port accepting.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startEchoServer } from "../support/echo-server.mjs";
import { freePort, startNginx } from "../support/nginx.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const DOCS = path.join(REPO, "docs");
export const FIXTURES = path.join(REPO, "tests", "browser", "fixtures");
export const SECRET = "cluster-test-secret";
export const NODE_IDS = ["a", "b", "c"];

/** `text` with each [from, to] replaced, each `from` found exactly once. */
export function edit(file, text, edits) {
  for (const [from, to] of edits) {
    const n = text.split(from).length - 1;
    if (n !== 1) throw new Error(`${file}: expected "${from}" exactly once, found ${n} times`);
    text = text.replace(from, to);
  }
  return text;
}

/** The docs/ haproxy config `name` pointed at `listen` and the node ports. */
export function haproxyConfig(name, listen, ports) {
  const file = path.join(DOCS, name);
  return edit(file, readFileSync(file, "utf8"), [
    ["bind 127.0.0.1:8080", `bind 127.0.0.1:${listen}`],
    ["127.0.0.1:3001", `127.0.0.1:${ports[0]}`],
    ["127.0.0.1:3002", `127.0.0.1:${ports[1]}`],
    ["127.0.0.1:3003", `127.0.0.1:${ports[2]}`],
  ]);
}

/** docs/nginx-cluster.conf pointed at `listen` and the node ports. */
export function nginxConfig(listen, ports) {
  const file = path.join(DOCS, "nginx-cluster.conf");
  return edit(file, readFileSync(file, "utf8"), [
    ["listen 80;", `listen 127.0.0.1:${listen};`],
    ["127.0.0.1:3001", `127.0.0.1:${ports[0]}`],
    ["127.0.0.1:3002", `127.0.0.1:${ports[1]}`],
    ["127.0.0.1:3003", `127.0.0.1:${ports[2]}`],
  ]);
}

export function haproxyVersion() {
  const r = spawnSync("haproxy", ["-v"], { encoding: "utf8" });
  const m = /HAProxy version (\S+)/.exec(r.stdout || "");
  return m ? `haproxy/${m[1]}` : null;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Starts haproxy in the foreground with `config(port)`; resolves once it accepts. */
export async function startHaproxy(config, startupMs = 10000) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "polysock-haproxy-"));
  const conf = path.join(dir, "haproxy.cfg");
  const text = config(port);
  writeFileSync(conf, text);
  const proc = spawn("haproxy", ["-db", "-f", conf], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  for (const s of [proc.stdout, proc.stderr]) {
    s.setEncoding("utf8");
    s.on("data", (c) => (log = (log + c).slice(-128 * 1024)));
  }
  let exitInfo = null;
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve((exitInfo = { code, signal }))));
  const proxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    alive: () => exitInfo === null,
    log: () => log,
    dump(why) {
      process.stderr.write(`\n----- haproxy (${why}) -----\n${text}\n--- output ---\n${log}\n----- end of haproxy -----\n`);
    },
    async stop() {
      if (!exitInfo) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const deadline = Date.now() + startupMs;
  for (;;) {
    if (exitInfo) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`haproxy exited ${JSON.stringify(exitInfo)} at startup: ${log}`);
    }
    if (await canConnect(port)) return proxy;
    if (Date.now() > deadline) {
      await proxy.stop();
      throw new Error(`haproxy did not accept connections within ${startupMs} ms: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Three nodes and a balancer. `balancer`: { kind: "haproxy", config: name }
 * or { kind: "nginx" }. Resolves with `{ url, nodes: [{ id, port, url, server }],
 * proxy, forwarded(), kill(id), dump(why), stop() }`.
 */
export async function startCluster(balancer, { extraArgs = [], peers = true, attempts = 3 } = {}) {
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(balancer, extraArgs, peers);
    } catch (err) {
      lastErr = err;
      if (!/in use|cannot listen|listening line/i.test(err.message)) throw err;
    }
  }
  throw lastErr;
}

async function startOnce(balancer, extraArgs, withPeers) {
  const ports = [];
  while (ports.length < NODE_IDS.length) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  // Without peers (--redis), the Redis node registry is the directory.
  const peers = withPeers ? NODE_IDS.flatMap((id, i) => ["--peer", `${id}=127.0.0.1:${ports[i]}`]) : [];
  const nodes = [];
  try {
    for (const [i, id] of NODE_IDS.entries()) {
      const args = ["--path", "/engine.io", "--static", FIXTURES, "--test-hooks", "--node-id", id, "--cluster-secret", SECRET, ...peers, ...extraArgs];
      const server = await startEchoServer(args, { listen: `127.0.0.1:${ports[i]}` });
      nodes.push({ id, port: ports[i], url: server.url, server });
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.server.stop()));
    throw err;
  }
  let proxy;
  try {
    proxy =
      balancer.kind === "nginx"
        ? await startNginx((port) => nginxConfig(port, ports))
        : await startHaproxy((port) => haproxyConfig(balancer.config, port, ports));
  } catch (err) {
    await Promise.all(nodes.map((n) => n.server.stop()));
    throw err;
  }
  const cluster = {
    url: proxy.url,
    nodes,
    proxy,
    node: (id) => nodes.find((n) => n.id === id),
    /** Requests each live node forwarded so far, by node id. */
    async forwarded() {
      const out = {};
      for (const n of nodes) {
        if (!n.server.alive()) continue;
        const r = await fetch(`${n.url}/polysock-test/forwarded`, { signal: AbortSignal.timeout(5000) });
        out[n.id] = Number(await r.text());
      }
      return out;
    },
    /**
     * Resolves once every live node's Redis registry knows `count` live nodes
     * (from their heartbeats); rejects after `ms`. Until then a request
     * forwarded to a node not yet known meets "Session ID unknown".
     */
    async registryKnows(count, ms = 15000) {
      const deadline = Date.now() + ms;
      let seen = {};
      for (;;) {
        seen = {};
        for (const n of nodes) {
          if (!n.server.alive()) continue;
          const r = await fetch(`${n.url}/polysock-test/nodes`, { signal: AbortSignal.timeout(5000) });
          seen[n.id] = Number(await r.text());
        }
        if (Object.values(seen).every((k) => k === count)) return;
        if (Date.now() > deadline) throw new Error(`registries after ${ms} ms: ${JSON.stringify(seen)}, want ${count} each`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /** SIGKILL node `id`; resolves once it is gone. */
    async kill(id) {
      const n = cluster.node(id);
      const gone = new Promise((resolve) => n.server.proc.once("exit", resolve));
      n.server.proc.kill("SIGKILL");
      await gone;
    },
    dump(why) {
      for (const n of nodes) n.server.dumpStderr(`${why}: node ${n.id}`);
      proxy.dump(why);
    },
    async stop() {
      await proxy.stop();
      await Promise.all(nodes.map((n) => n.server.stop()));
    },
  };
  return cluster;
}

/** The node id a session id names (`a.<hex>` -> "a"). */
export function ownerOf(sid) {
  return typeof sid === "string" && sid.includes(".") ? sid.slice(0, sid.indexOf(".")) : null;
}

/** Debian's redis-server on a free port, nothing saved; `{ url, port, stop(), restart() }`. */
export async function startRedis(startupMs = 10000) {
  const port = await freePort();
  let proc = null;
  const spawnIt = async () => {
    proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const deadline = Date.now() + startupMs;
    while (!(await canConnect(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on ${port}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const kill = async () => {
    if (proc && proc.exitCode === null) {
      const gone = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await gone;
    }
  };
  await spawnIt();
  return { url: `redis://127.0.0.1:${port}`, port, stop: kill, restart: spawnIt };
}
