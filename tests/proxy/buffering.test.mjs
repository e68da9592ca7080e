// Issue 5, item 4 (b): nginx with NO Upgrade forwarding (its defaults:
// HTTP/1.0 to the upstream, no Upgrade/Connection headers) and response
// buffering left ON. The stock client still opens (on polling, its websocket
// upgrade failing cleanly) and exchanges messages; the streaming transports
// are not stuck behind the buffer, because the server marks its streams with
// `X-Accel-Buffering: no`. A control run with nginx told to ignore that header
// shows the buffering is really there.

import assert from "node:assert/strict";
import { describe } from "node:test";
import { closeAll, openClient } from "../support/eio-client.mjs";
import { openStream, request } from "../support/http.mjs";
import { nginxVersion } from "../support/nginx.mjs";
import { sharedProxy } from "../support/proxy-fixture.mjs";
import { boundaryOf, htmlfilePackets, xhrPackets } from "../support/streaming.mjs";
import { idle, once } from "../support/wait.mjs";

const ECHO_ARGS = ["--path", "/engine.io", "--test-hooks"];

/** A plain reverse proxy: no Upgrade forwarding, buffering at its default (on). */
function plainProxy(extra = "") {
  return (nginxPort, echoPort) => `
    server {
        listen 127.0.0.1:${nginxPort};
        location /engine.io {
            proxy_pass http://127.0.0.1:${echoPort};
            ${extra}
        }
    }`;
}

const XHR = "/engine.io/?EIO=4&transport=xhr-streaming&ext=1";
const HTMLFILE = "/engine.io/?EIO=4&transport=htmlfile&ext=1";

/** Parse the open packet `0{...}` of an ext session. */
function openPacket(packet) {
  assert.equal(packet[0], "0", `first packet is not open: ${JSON.stringify(packet)}`);
  const h = JSON.parse(packet.slice(1));
  assert.equal(h.ext, 1, `open packet without ext:1: ${packet}`);
  assert.equal(typeof h.sid, "string");
  return h;
}

describe(`through ${nginxVersion()} without Upgrade forwarding, buffering on`, () => {
  const { test } = sharedProxy(ECHO_ARGS, plainProxy());

  test("the server marks streaming responses X-Accel-Buffering: no (direct, no proxy)", async (t, { echo }) => {
    for (const path of [XHR, HTMLFILE]) {
      const s = await openStream(echo.url + path);
      try {
        assert.equal(s.status, 200);
        assert.equal(s.headers["x-accel-buffering"], "no", `${path}: ${JSON.stringify(s.headers)}`);
        assert.equal(s.headers["cache-control"], "no-store, no-cache, no-transform");
        assert.equal(s.headers["x-content-type-options"], "nosniff");
      } finally {
        s.abort();
      }
    }
  });

  test("stock client (polling + websocket) opens on polling, its upgrade fails cleanly, messages flow", async (t, { nginx }) => {
    const c = await openClient(nginx.url, { transports: ["polling", "websocket"] });
    try {
      assert.deepEqual(c.handshake.upgrades, ["websocket"]);
      // The websocket probe reaches the server without Upgrade header: refused,
      // the client reports upgradeError and carries on with polling.
      if (!c.events.includes("upgradeError")) {
        await once(c.socket, "upgradeError", 5000, { failOn: ["upgrade", "close"] });
      }
      t.diagnostic(`upgradeError: ${c.upgradeError && c.upgradeError.message}`);
      assert.equal(c.transport, "polling");
      assert.equal(c.readyState, "open");
      assert.equal(await c.ask("@transport"), "@transport polling");
      const msgs = ["one", Buffer.from([1, 2, 3, 0x1e]), "three ✓"];
      for (const m of msgs) c.send(m);
      const got = await c.take(msgs.length);
      assert.equal(got[0], "one");
      assert.ok(Buffer.isBuffer(got[1]) && got[1].equals(msgs[1]));
      assert.equal(got[2], "three ✓");
      assert.equal(c.events.includes("close"), false);
    } finally {
      closeAll(c);
    }
  });

  test("xhr-streaming: the open packet and later messages arrive while the response is open", async (t, { nginx }) => {
    const s = await openStream(nginx.url + XHR, { ms: 3000 });
    try {
      assert.equal(s.status, 200);
      const boundary = boundaryOf(s.headers["content-type"]);
      const first = await s.waitFor(
        (text) => xhrPackets(text, boundary).packets[0],
        3000,
        "the open packet on the xhr-streaming response (through nginx)",
      );
      assert.equal(s.ended, false, "the response ended; it should stay open");
      const h = openPacket(first);
      assert.deepEqual(h.upgrades, ["websocket"]);

      const post = await request(`${nginx.url}/engine.io/?EIO=4&transport=xhr-streaming&sid=${encodeURIComponent(h.sid)}`, {
        method: "POST",
        body: "4streamed through nginx",
        headers: { "content-type": "text/plain;charset=UTF-8" },
      });
      assert.equal(post.status, 200, post.text);
      assert.equal(post.text, "ok");
      const packets = await s.waitFor(
        (text) => {
          const { packets } = xhrPackets(text, boundary);
          return packets.length >= 2 && packets;
        },
        3000,
        "the echo on the open xhr-streaming response",
      );
      assert.deepEqual(packets.slice(1), ["4streamed through nginx"]);
      assert.equal(s.ended, false);
    } finally {
      s.abort();
    }
  });

  test("htmlfile: the open packet and later messages arrive while the response is open", async (t, { nginx }) => {
    const s = await openStream(nginx.url + HTMLFILE, { ms: 3000 });
    try {
      assert.equal(s.status, 200);
      assert.equal(s.headers["content-type"], "text/html; charset=UTF-8");
      const first = await s.waitFor(
        (text) => htmlfilePackets(text).packets[0],
        3000,
        "the open packet on the htmlfile response (through nginx)",
      );
      assert.equal(s.ended, false);
      const h = openPacket(first);
      const post = await request(`${nginx.url}/engine.io/?EIO=4&transport=htmlfile&sid=${encodeURIComponent(h.sid)}`, {
        method: "POST",
        body: "4<b>html</b> & co",
        headers: { "content-type": "text/plain;charset=UTF-8" },
      });
      assert.equal(post.status, 200, post.text);
      assert.equal(post.text, "ok");
      const packets = await s.waitFor(
        (text) => {
          const { packets } = htmlfilePackets(text);
          return packets.length >= 2 && packets;
        },
        3000,
        "the echo on the open htmlfile response",
      );
      assert.deepEqual(packets.slice(1), ["4<b>html</b> & co"]);
      assert.ok(!s.text.includes("<b>"), "`<` must be escaped inside the script");
      assert.equal(s.ended, false);
    } finally {
      s.abort();
    }
  });
});

describe(`control: ${nginxVersion()} told to ignore X-Accel-Buffering`, () => {
  const { test } = sharedProxy(ECHO_ARGS, plainProxy("proxy_ignore_headers X-Accel-Buffering;"));

  test("the xhr-streaming response is then held in nginx's buffer", async (t, { nginx }) => {
    // Nothing may arrive (not even the response head) while the server keeps
    // the response open: this shows that case (b) above really runs with
    // buffering on, and that the header is what gets the stream through.
    let stream = null;
    const opening = openStream(nginx.url + XHR, { ms: 1500 }).then((s) => (stream = s));
    try {
      await opening.catch(() => {});
      if (stream) {
        // A head got through; it must be the stream's, still with no packet in it.
        assert.equal(stream.status, 200, `status ${stream.status}: ${stream.text}`);
        await idle(1000);
        assert.equal(stream.text.includes("0{"), false, "the open packet got through a buffering nginx");
      }
    } finally {
      if (stream) stream.abort();
    }
  });
});
