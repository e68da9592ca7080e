// framing.js: Engine.IO v4 packets and the Polysock streaming framings.
//
// A packet is {type: 0..6, data: string | ArrayBuffer}. Types: 0 open, 1 close,
// 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop. Binary data only ever travels
// in message packets.

// Text encoding used by polling, xhr-streaming and htmlfile:
// "<type digit><data>", or "b" + base64 for a binary message.
function encodePacket(p) {
  if (isBinary(p.data)) return 'b' + b64encode(bytesOf(p.data));
  return p.type + (p.data == null ? '' : p.data);
}

// Inverse of encodePacket. `ws`: a WebSocket text frame, where "b" is no type.
function decodePacket(s, ws) {
  var c = s.charAt(0);
  if (c === 'b' && !ws) return { type: 4, data: b64decode(s.slice(1)) };
  if (c < '0' || c > '6' || s.length === 0) throw new Error('bad packet');
  return { type: +c, data: s.slice(1) };
}

// Polling payload: packets joined by the record separator U+001E.
function encodePayload(packets) {
  var out = [], i;
  for (i = 0; i < packets.length; i++) out.push(encodePacket(packets[i]));
  return out.join('\x1e');
}

function decodePayload(s) {
  var parts = s.split('\x1e'), out = [], i;
  for (i = 0; i < parts.length; i++) out.push(decodePacket(parts[i]));
  return out;
}

// Size on the wire of a packet in a payload (UTF-8 bytes), for maxPayload.
function packetSize(p) {
  if (isBinary(p.data)) return 1 + Math.ceil(p.data.byteLength / 3) * 4;
  return 1 + utf8Length(p.data == null ? '' : String(p.data));
}

// The boundary of an xhr-streaming response, from its Content-Type.
function boundaryOf(contentType) {
  var m = /boundary="?([^";\s]+)/i.exec(contentType || '');
  return m ? m[1] : null;
}

// Cuts the growing responseText of one xhr-streaming response into packets.
// Body: preamble, "\r\n--B", then per part "\r\n<headers>\r\n\r\n<packet>\r\n--B",
// and "--\r\n" after the last delimiter. feed() takes the whole text so far and
// returns the encoded packets completed since the last call; `done` turns
// true once the closing delimiter has been seen.
function Multipart(boundary) {
  this.d = '\r\n--' + boundary;
  this.pos = -1; // index just after the last delimiter seen
  this.from = 0; // where the search for the next delimiter may start
  this.done = false;
}

Multipart.prototype.feed = function (text) {
  var d = this.d, out = [], i, part, h;
  while (!this.done) {
    i = text.indexOf(d, this.from);
    if (this.pos >= 0 && text.length >= this.pos + 2 && text.substr(this.pos, 2) === '--') {
      this.done = true;
      break;
    }
    if (i < 0) {
      this.from = Math.max(this.from, text.length - d.length);
      break;
    }
    if (this.pos >= 0) {
      part = text.substring(this.pos, i);
      h = part.indexOf('\r\n\r\n');
      if (h < 0) throw new Error('bad multipart part');
      out.push(part.slice(h + 4));
    }
    this.pos = this.from = i + d.length;
  }
  return out;
};
