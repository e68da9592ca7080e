// The stock sockjs-client (npm, 1.6.x) in Node against the SockJS endpoint
// of the echo example (`--sockjs`): on each transport it has in Node, it
// opens, echoes in order, and sees the server's close code and reason.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startServer } from '../browser/support.mjs';

const require = createRequire(import.meta.url);
const SockJS = require('sockjs-client');

const COUNT = 300;
let srv;

before(async () => {
  srv = await startServer(['--sockjs']);
});

after(async () => {
  await srv?.stop();
});

function run(transport) {
  return new Promise((resolve, reject) => {
    const messages = Array.from({ length: COUNT }, (_, i) => `${i} </script> \u2028 ${'x'.repeat(i % 50)}`);
    const got = [];
    let used = null;
    const sock = new SockJS(`${srv.url}/echo`, null, { transports: [transport] });
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length} echoes`)), 30000);
    sock.onopen = () => {
      used = sock.transport;
      for (const m of messages) sock.send(m);
    };
    sock.onmessage = (e) => {
      got.push(e.data);
      if (got.length === COUNT) sock.send('@close 4321 done in node');
    };
    sock.onclose = (e) => {
      clearTimeout(timer);
      resolve({ used, got, messages, code: e.code, reason: e.reason });
    };
  });
}

for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling']) {
  test(`sockjs-client in Node on ${transport}`, async () => {
    const result = await run(transport);
    assert.equal(result.used, transport);
    assert.deepEqual(result.got, result.messages);
    assert.equal(result.code, 4321);
    assert.equal(result.reason, 'done in node');
  });
}

test('sockjs-client in Node: /info as the client reads it', async () => {
  const response = await fetch(`${srv.url}/echo/info`);
  const info = await response.json();
  assert.equal(info.websocket, true);
  assert.equal(info.cookie_needed, false);
  assert.deepEqual(info.origins, ['*:*']);
  assert.equal(typeof info.entropy, 'number');
});
