// Polling upgraded to websocket with the stock engine.io-client 6.x:
// the upgrade happens, messages in flight in both directions around it keep
// their order, and the old transports are refused afterwards.

import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { sharedEchoServer } from "../support/echo-server.mjs";
import { Client, closeAll, openMode } from "../support/eio-client.mjs";
import { errorBody, request } from "../support/http.mjs";
import { NodeWebSocket, NodeXHR, Socket } from "engine.io-client";
import { once, withTimeout } from "../support/wait.mjs";

const { test } = sharedEchoServer(["--path", "/engine.io", "--test-hooks"]);

test("a polling client upgrades to websocket", async (t, srv) => {
  const c = await openMode(srv.url, "upgrade");
  try {
    assert.equal(c.transport, "websocket");
    const sequence = c.events.filter((e) => ["open", "upgrading", "upgrade", "upgradeError", "close"].includes(e));
    assert.deepEqual(sequence, ["open", "upgrading", "upgrade"]);
    assert.equal(await c.ask("@transport"), "@transport websocket");
    c.send("after upgrade");
    assert.equal(await c.next(), "after upgrade");
  } finally {
    closeAll(c);
  }
});

test("messages sent in both directions around the upgrade keep their order", async (t, srv) => {
  // The stock websocket transport, opening its probe 150 ms late, so that a
  // good amount of traffic flows over polling first and the probe, pause and
  // switch all happen while messages stream in both directions.
  class LateProbeWebSocket extends NodeWebSocket {
    doOpen() {
      setTimeout(() => {
        if (this.readyState === "opening") super.doOpen();
      }, 150);
    }
  }
  const socket = new Socket(srv.url, { path: "/engine.io", transports: [NodeXHR, LateProbeWebSocket] });
  const c = new Client(socket);
  const sent = [];
  let n = 0;
  const sendOne = () => {
    const i = n++;
    const m = i % 4 === 3 ? Buffer.from(`bin ${i}`) : `msg ${i}`;
    sent.push(m);
    c.send(m);
  };
  let ticker = null;
  let ticksAfterUpgrade = -1;
  let loopDone;
  const sendLoopDone = new Promise((resolve) => (loopDone = resolve));
  const upgraded = new Promise((resolve, reject) => {
    socket.on("open", () => {
      for (let k = 0; k < 20; k++) sendOne(); // a burst before the probe starts
      // Keep a steady stream going through the whole upgrade; the server's
      // echoes are therefore in flight towards us throughout as well.
      ticker = setInterval(() => {
        sendOne();
        sendOne();
        if (ticksAfterUpgrade >= 0 && ++ticksAfterUpgrade >= 20) {
          clearInterval(ticker);
          loopDone();
        }
      }, 2);
    });
    socket.on("upgrading", () => {
      for (let k = 0; k < 10; k++) sendOne(); // buffered while the polling transport pauses
    });
    socket.on("upgrade", () => {
      for (let k = 0; k < 10; k++) sendOne(); // first writes on the new transport
      ticksAfterUpgrade = 0;
      resolve();
    });
    socket.on("upgradeError", (err) => reject(new Error(`upgradeError: ${err && err.message}`)));
    socket.on("close", (reason) => reject(new Error(`closed during the upgrade: ${reason}`)));
  });
  try {
    await withTimeout(upgraded, 5000, "upgrade");
    await withTimeout(sendLoopDone, 5000, "finishing the send loop");
    const got = await c.take(sent.length, 10000);
    assert.deepEqual(got.map(show), sent.map(show));
    const byTransport = { polling: 0, websocket: 0 };
    for (const e of c.received) byTransport[e.transport]++;
    t.diagnostic(`${sent.length} messages; echoes received over polling: ${byTransport.polling}, websocket: ${byTransport.websocket}`);
    assert.ok(byTransport.polling > 0, "no echo arrived over polling");
    assert.ok(byTransport.websocket > 0, "no echo arrived over websocket");
    assert.equal(c.readyState, "open");
    assert.equal(c.transport, "websocket");
  } finally {
    clearInterval(ticker);
    closeAll(c);
  }
});

test("after the upgrade, polling is refused with code 3 and a second websocket with that sid is closed 1008", async (t, srv) => {
  const c = await openMode(srv.url, "upgrade");
  try {
    const sid = c.id;
    const base = `${srv.url}/engine.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;

    const get = await request(base);
    assert.equal(get.status, 400, `polling GET after upgrade: ${get.status} ${get.text}`);
    assertBadRequest(t, errorBody(get), "polling GET");

    const post = await request(base, { method: "POST", body: "4sneaky", headers: { "content-type": "text/plain;charset=UTF-8" } });
    assert.equal(post.status, 400, `polling POST after upgrade: ${post.status} ${post.text}`);
    assertBadRequest(t, errorBody(post), "polling POST");

    const ws = new WebSocket(`${srv.url.replace("http", "ws")}/engine.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`);
    // As the Engine.IO protocol suite requires: the handshake completes, then
    // that WebSocket is closed; the upgraded one carries on.
    const [code, reason] = await once(ws, "close", 5000, { failOn: ["unexpected-response"] });
    assert.equal(code, 1008, "second websocket closed with policy violation");
    assert.equal(String(reason), "session already upgraded");

    // The refusals do not disturb the upgraded session; "4sneaky" was not delivered.
    c.send("still here");
    assert.equal(await c.next(), "still here");
    assert.equal(c.readyState, "open");
  } finally {
    closeAll(c);
  }
});

/**
 * `{"code":3,"message":"Bad request"}` as in EIO4. Extra keys (a server may
 * add a human-readable detail) are tolerated by stock clients; they are
 * reported as a diagnostic, not a failure.
 */
function assertBadRequest(t, body, what) {
  assert.equal(body.code, 3, `${what}: ${JSON.stringify(body)}`);
  assert.equal(body.message, "Bad request", `${what}: ${JSON.stringify(body)}`);
  const extra = Object.keys(body).filter((k) => k !== "code" && k !== "message");
  if (extra.length) t.diagnostic(`${what}: error body has extra keys beyond EIO4's code/message: ${JSON.stringify(body)}`);
}

function readBody(res) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const chunks = [];
      res.on("data", (d) => chunks.push(d));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      res.on("error", reject);
    }),
    5000,
    "reading the refusal body",
  );
}

function show(m) {
  return Buffer.isBuffer(m) ? `bin:${m.toString("hex")}` : m;
}
