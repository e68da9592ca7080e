// Compiled by types.test.js with tsc --noEmit: what a user of the package
// writes must type-check, and the mistakes marked @ts-expect-error must not.
import Polysock = require('polysock-client');

const s = new Polysock('/engine.io', ['chat'], { transports: ['websocket', 'polling'], timeout: 1000 });
const t = new Polysock('wss://example.test/engine.io', { remember: false, resume: false, reconnect: 5 });
new Polysock('/engine.io', { reconnect: true, resumeBuffer: 65536 });
s.binaryType = 'arraybuffer';
s.onmessage = function (ev) {
  const d: string | ArrayBuffer | Blob = ev.data;
  const o: string = ev.origin;
  if (typeof d === 'string') this.send(d.toUpperCase() + o);
};
s.onclose = (ev) => console.log(ev.code, ev.reason, ev.wasClean);
s.addEventListener('open', () => s.send(new Uint8Array([1, 2])), { once: true });
s.addEventListener('message', { handleEvent(ev) { console.log(ev.data); } });
s.removeEventListener('open', () => {});
const state: 0 | 1 | 2 | 3 = s.readyState;
const name: Polysock.TransportName | null = s.transport;
const ok: boolean = s.dispatchEvent({ type: 'custom' });
console.log(state, name, ok, Polysock.OPEN, Polysock.version, s.bufferedAmount, s.url, s.protocol, s.extensions);
t.close(4000, 'bye');

// @ts-expect-error readyState is read-only
s.readyState = 3;
// @ts-expect-error send takes one argument
s.send();
// @ts-expect-error binaryType has two values
s.binaryType = 'bogus';
// @ts-expect-error reconnect is a boolean or a number of tries
new Polysock('/engine.io', { reconnect: 'yes' });
// @ts-expect-error no such transport
new Polysock('/engine.io', [], { transports: ['carrier-pigeon'] });
