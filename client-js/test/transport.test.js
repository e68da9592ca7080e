// The transport base (src/transport.js): explicit states and the events a
// transport emits instead of calling into its socket; here on polling with
// a scripted XMLHttpRequest.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { env } = require('./fakes');

let M;
test.before(async () => { M = await import('../src/index.js'); });

function polling() {
  const f = env({ ws: false });
  const ctx = { _env: f.env, _origin: 'ws://example.test', _query: (name, sid) => `http://example.test/e/?EIO=4&transport=${name}` + (sid ? '&sid=' + sid : '') };
  const t = new M.transports.polling(ctx);
  const events = [];
  for (const type of ['start', 'packet', 'drain', 'close', 'error']) t._on(type, (a) => events.push(a === undefined ? type : [type, a]));
  return { f, t, events };
}

test('states and events: start, packet, drain(batch), then close and error on a failure', () => {
  const { f, t, events } = polling();
  assert.equal(t._st, 0, 'T_NEW');
  t._open();
  assert.equal(t._st, 1, 'T_OPENING');
  assert.deepEqual(events, ['start']);
  f.xhrs[0].respond(200, '0{"sid":"S"}\x1e4hi');
  assert.deepEqual(events.slice(1).map((e) => e[0]), ['packet', 'packet']);
  assert.deepEqual(events[2][1], { type: 4, data: 'hi' });
  t._ready('S');
  assert.equal(t._st, 2, 'T_OPEN');
  assert.equal(t._w, true);
  const batch = { n: 2 };
  t._send([{ type: 4, data: 'yo' }], batch);
  assert.equal(t._w, false, 'one POST at a time');
  const post = f.xhrs.find((x) => x.method === 'POST');
  post.respond(200, 'ok');
  assert.deepEqual(events[events.length - 1], ['drain', batch]);
  assert.equal(t._w, true);
  // A failed GET: the transport closes (close), then reports (error), and is silent after.
  const get = f.xhrs.filter((x) => x.method === 'GET').pop();
  get.respond(400, '');
  assert.equal(t._st, 4, 'T_CLOSED');
  assert.deepEqual(events.slice(-2), ['close', ['error', get]], 'error carries the failed request');
  const n = events.length;
  t._close();
  t._emit('packet', {});
  assert.equal(events.length, n);
});

test('pause for an upgrade waits for the GET and the POST in flight; resume reopens', () => {
  const { f, t, events } = polling();
  t._open();
  f.xhrs[0].respond(200, '0{"sid":"S"}');
  t._ready('S');
  t._send([{ type: 4, data: 'x' }], { n: 1 });
  let paused = false;
  t._hold(true);
  t._pause(() => { paused = true; });
  assert.equal(t._st, 3, 'T_PAUSED');
  const [get, post] = [f.xhrs[1], f.xhrs[2]];
  get.respond(200, '6');
  assert.equal(paused, false, 'the POST is still in flight');
  post.respond(200, 'ok');
  assert.equal(paused, true);
  assert.equal(f.xhrs.length, 3, 'no new GET while paused');
  t._hold(false);
  assert.equal(t._st, 2);
  assert.equal(f.xhrs.length, 4, 'receiving again');
  assert.ok(!events.includes('error'));
});
