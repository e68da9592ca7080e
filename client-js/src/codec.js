// codec.js: Engine.IO v4 packets and payloads as text
// (protocol-spec/02-packets-and-payloads.md). A packet is
// {type: P_*, data: string | ArrayBuffer}; binary data only ever travels in
// message packets.

import { P_MESSAGE } from './constants.js';
import { utf8Length } from './util.js';
import { b64encode, b64decode } from './base64.js';

export function isBinary(d) {
  var t = Object.prototype.toString.call(d);
  return t === '[object ArrayBuffer]' ||
    (typeof ArrayBuffer !== 'undefined' && !!ArrayBuffer.isView && ArrayBuffer.isView(d));
}

// A view of the bytes of an ArrayBuffer or of a view.
export function bytesOf(d) {
  return d.buffer ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
}

// "<type digit><data>", or "b" + base64 for a binary message (HTTP transports).
export function encodePacket(p) {
  if (isBinary(p.data)) return 'b' + b64encode(bytesOf(p.data));
  return p.type + (p.data == null ? '' : p.data);
}

// Inverse of encodePacket. `ws`: a WebSocket text frame, where "b" is no type.
// `ack`: a resume session, where type 7 (ack) exists too.
export function decodePacket(s, ws, ack) {
  if (s.charAt(0) === 'b' && !ws) return { type: P_MESSAGE, data: b64decode(s.slice(1)) };
  return decodeText(s, ack);
}

// A packet of the form "<type digit><data>" (no "b": the served core, which
// carries websocket only, needs no base64).
export function decodeText(s, ack) {
  var c = s.charAt(0);
  if (c < '0' || c > (ack ? '7' : '6') || s.length === 0) throw new Error('bad packet');
  return { type: +c, data: s.slice(1) };
}

// Polling payload: packets joined by the record separator U+001E.
export function encodePayload(packets) {
  var out = [], i;
  for (i = 0; i < packets.length; i++) out.push(encodePacket(packets[i]));
  return out.join('\x1e');
}

export function decodePayload(s) {
  var parts = s.split('\x1e'), out = [], i;
  for (i = 0; i < parts.length; i++) out.push(decodePacket(parts[i]));
  return out;
}

// UTF-8 bytes a packet takes in a payload, for maxPayload.
export function packetSize(p) {
  if (isBinary(p.data)) return 1 + Math.ceil(p.data.byteLength / 3) * 4;
  return 1 + utf8Length(p.data == null ? '' : String(p.data));
}
