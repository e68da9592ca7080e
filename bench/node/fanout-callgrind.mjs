// Fan-out driver for instruction counts (issue 16): N websocket clients on a
// polysock echo example started with --test-hooks (usually under
// `valgrind --tool=callgrind --collect-atstart=no`), then B broadcasts of
// SIZE bytes, one at a time, each waited for on every client.
//
//   node bench/node/fanout-callgrind.mjs ADDR CLIENTS BROADCASTS SIZE [PID]
//
// With PID, `callgrind_control -i on PID` is run once every client is open
// and `-i off` after the last delivery, so the counts cover the broadcasts
// alone; divide the Ir by CLIENTS * BROADCASTS (printed) for Ir per delivery.
import { execFileSync } from "node:child_process";
import WebSocket from "ws";

const [addr, clients = "500", broadcasts = "200", size = "32", pid] = process.argv.slice(2);
const n = Number(clients);
const b = Number(broadcasts);
const body = "x".repeat(Number(size));

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${addr}/engine.io/?EIO=4&transport=websocket`);
    ws.on("error", reject);
    ws.once("message", () => resolve(ws));
    ws.on("message", (data) => {
      if (data.toString() === "2") ws.send("3");
    });
  });
}

const sockets = [];
for (let i = 0; i < n; i += 1) sockets.push(await open());
let pending = 0;
let done = null;
for (const ws of sockets) {
  ws.on("message", (data) => {
    if (data.toString().startsWith("4") && --pending === 0 && done) done();
  });
}
if (pid) execFileSync("callgrind_control", ["-i", "on", pid]);
const started = Date.now();
for (let k = 0; k < b; k += 1) {
  pending = n;
  await new Promise((resolve) => {
    done = resolve;
    sockets[0].send(`4@broadcast ${body}`);
  });
}
const ms = Date.now() - started;
if (pid) execFileSync("callgrind_control", ["-i", "off", pid]);
console.log(JSON.stringify({ clients: n, broadcasts: b, size: body.length, deliveries: n * b, ms }));
for (const ws of sockets) ws.terminate();
