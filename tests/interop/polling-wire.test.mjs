// The polling payload on the wire, byte for byte, as a stock client would
// produce it: several packets (text and binary) in one POST, echoed back in
// GET payloads with the record separator and `b`+base64.

import assert from "node:assert/strict";
import { sharedEchoServer } from "../support/echo-server.mjs";
import { request } from "../support/http.mjs";

const { test } = sharedEchoServer(["--path", "/engine.io", "--test-hooks"]);

const RS = "\x1e";

test("several packets in one POST payload come back in order, byte for byte", async (t, srv) => {
  const base = `${srv.url}/engine.io/?EIO=4&transport=polling`;
  const open = await request(base);
  assert.equal(open.status, 200, open.text);
  assert.equal(open.text[0], "0", `handshake body ${JSON.stringify(open.text)}`);
  const handshake = JSON.parse(open.text.slice(1));
  assert.deepEqual(Object.keys(handshake).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
  assert.deepEqual(handshake.upgrades, ["websocket"]);
  const url = `${base}&sid=${encodeURIComponent(handshake.sid)}`;

  const packets = [
    "4hello",
    `b${Buffer.from([0, 1, 2, 0x1e, 0xff]).toString("base64")}`,
    "4wörld ✓",
    "b", // empty binary message
    "4", // empty text message
    `4${"y".repeat(3000)}`,
    `b${Buffer.from("binary!").toString("base64")}`,
  ];
  const post = await request(url, {
    method: "POST",
    body: packets.join(RS),
    headers: { "content-type": "text/plain;charset=UTF-8" },
  });
  assert.equal(post.status, 200, post.text);
  assert.equal(post.text, "ok");
  assert.equal(post.headers["content-type"], "text/plain; charset=UTF-8");

  // The echoes may be spread over several GETs (the echo task races our GET);
  // each response is a well-formed payload and together they are the packets sent.
  const got = [];
  const responses = [];
  while (got.length < packets.length) {
    const res = await request(url);
    assert.equal(res.status, 200, res.text);
    responses.push(res.text.split(RS).length);
    for (const p of res.text.split(RS)) {
      if (p === "2") continue; // a ping may slip in; answer-free here (interval 25 s)
      got.push(p);
    }
  }
  t.diagnostic(`echoes arrived in ${responses.length} GET payload(s) of ${JSON.stringify(responses)} packets`);
  assert.deepEqual(got, packets);

  // Close from our side with a bare close packet.
  const close = await request(url, { method: "POST", body: "1", headers: { "content-type": "text/plain;charset=UTF-8" } });
  assert.equal(close.status, 200);
  assert.equal(close.text, "ok");
});
