// Checks the Polysock test vectors: their shape and their internal consistency.
//
//   node protocol-spec/vectors/check.mjs
//
// This file carries a small, independent reference codec written straight from
// the spec (chapters 02, 07, 08 and 11). Every vector is checked against it, so a
// typo in the data fails here before it misleads the Rust or the JS tests.
// Exit status 0 when every check passes, 1 otherwise.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = dirname(fileURLToPath(import.meta.url));
function load(f) {
  try {
    return JSON.parse(readFileSync(join(DIR, f), 'utf8'));
  } catch (e) {
    console.error('FAIL: ' + f + ' does not load: ' + e.message);
    process.exit(1);
  }
}

const TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
const RS = '\u001e';
const ERRORS = ['empty_payload', 'unknown_packet_type', 'empty_packet', 'invalid_base64', 'invalid_utf8', 'too_large'];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

let failures = 0;
let checks = 0;
function ok(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.error('FAIL: ' + what);
  }
}
const show = (s) => JSON.stringify(s);

// ---- reference codec (chapter 02) ----

class DecodeError extends Error {
  constructor(kind) {
    super(kind);
    this.kind = kind;
  }
}

function strictBase64(s) {
  if (!BASE64.test(s)) throw new DecodeError('invalid_base64');
  const bytes = Buffer.from(s, 'base64');
  // canonical: unused trailing bits must be zero, so re-encoding gives s back
  if (bytes.toString('base64') !== s) throw new DecodeError('invalid_base64');
  return bytes;
}

function encodePacket(p) {
  if (p.binary_base64 !== undefined) return 'b' + p.binary_base64;
  return String(TYPES.indexOf(p.type)) + (p.text === undefined ? '' : p.text);
}

function decodePacket(s) {
  if (s.length === 0) throw new DecodeError('empty_packet');
  const c = s.charAt(0);
  if (c === 'b') return { type: 'message', binary_base64: strictBase64(s.slice(1)).toString('base64') };
  if (c >= '0' && c <= '6') {
    const p = { type: TYPES[c.charCodeAt(0) - 48] };
    if (s.length > 1) p.text = s.slice(1);
    return p;
  }
  throw new DecodeError('unknown_packet_type');
}

function decodePayload(bytes, maxPayload) {
  if (bytes.length > maxPayload) throw new DecodeError('too_large');
  if (bytes.length === 0) throw new DecodeError('empty_payload');
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw new DecodeError('invalid_utf8');
  }
  return text.split(RS).map(decodePacket);
}

// a packet object with an empty "text" means the same as one without it
function samePacket(a, b) {
  const norm = (p) => ({ type: p.type, text: p.text || '', bin: p.binary_base64 });
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

function checkPacketShape(p, where) {
  ok(p && typeof p === 'object', where + ': packet is an object');
  if (!p || typeof p !== 'object') return;
  ok(TYPES.includes(p.type), where + ': packet.type is one of ' + TYPES.join('|'));
  const keys = Object.keys(p).filter((k) => k !== 'type');
  ok(keys.every((k) => k === 'text' || k === 'binary_base64'), where + ': only text or binary_base64 beside type');
  ok(!(p.text !== undefined && p.binary_base64 !== undefined), where + ': not both text and binary_base64');
  if (p.text !== undefined) ok(typeof p.text === 'string', where + ': text is a string');
  if (p.binary_base64 !== undefined) {
    ok(p.type === 'message', where + ': binary packets are messages');
    let canonical = true;
    try {
      strictBase64(p.binary_base64);
    } catch (e) {
      canonical = false;
    }
    ok(canonical, where + ': binary_base64 is canonical padded base64');
  }
}

// ---- packets.json ----

function checkPackets() {
  const packets = load('packets.json');
  ok(Array.isArray(packets) && packets.length >= 12, 'packets.json: an array of at least 12 cases');
  const names = new Set();
  for (const c of packets) {
    const w = 'packets.json ' + show(c.name);
    ok(typeof c.name === 'string' && c.name.length > 0 && !names.has(c.name), w + ': unique name');
    names.add(c.name);
    checkPacketShape(c.packet, w);
    const enc = encodePacket(c.packet);
    ok(c.polling === enc, w + ': polling element is ' + show(enc));
    if (c.packet.binary_base64 !== undefined) {
      ok(c.ws && c.ws.binary_base64 === c.packet.binary_base64 && c.ws.text === undefined, w + ': binary message is a binary frame of the raw bytes');
    } else {
      ok(c.ws && c.ws.text === enc && c.ws.binary_base64 === undefined, w + ': text frame equals the encoded packet');
    }
    let back;
    try {
      back = decodePacket(c.polling);
    } catch (e) {
      back = null;
    }
    ok(back && samePacket(back, c.packet), w + ': polling element decodes back to the packet');
  }
  const has = (pred, what) => ok(packets.some((c) => pred(c.packet)), 'packets.json: has a case for ' + what);
  has((p) => p.type === 'message' && p.text === '', 'the empty text message');
  has((p) => p.binary_base64 === '', 'the empty binary message');
  has((p) => p.binary_base64 && p.binary_base64.length > 0, 'a non-empty binary message');
  has((p) => p.type === 'ping' && p.text === 'probe', 'the ping probe');
  has((p) => p.type === 'close' && p.text && JSON.parse(p.text).code === 4001, 'the ext close body');
  has((p) => p.text && /[\u{10000}-\u{10FFFF}]/u.test(p.text), 'an emoji');
  for (const t of TYPES) has((p) => p.type === t, 'type ' + t);
  for (const c of packets) {
    if (c.packet.type === 'open') {
      const o = JSON.parse(c.packet.text);
      const stock = ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload'];
      const keys = Object.keys(o);
      ok(stock.every((k) => keys.includes(k)), 'packets.json ' + show(c.name) + ': open packet has the five EIO4 keys');
      ok(keys.every((k) => stock.includes(k) || k === 'ext' || k === 'protocol'), 'packets.json ' + show(c.name) + ': open packet has no unknown keys');
      ok(('ext' in o) === ('protocol' in o), 'packets.json ' + show(c.name) + ': ext and protocol come together');
    }
    if (c.packet.type === 'close' && c.packet.text) {
      const b = JSON.parse(c.packet.text);
      ok(Number.isInteger(b.code) && b.code >= 1000 && b.code <= 4999 && ![1005, 1006, 1015].includes(b.code), 'packets.json ' + show(c.name) + ': close code is sendable');
      ok(typeof b.reason === 'string' && Buffer.byteLength(b.reason) <= 123, 'packets.json ' + show(c.name) + ': reason at most 123 bytes');
    }
  }
  return packets;
}

// ---- payloads.json ----

function checkPayloads() {
  const doc = load('payloads.json');
  const max = doc.max_payload_default;
  ok(max === 1000000, 'payloads.json: max_payload_default is 1000000');
  ok(Array.isArray(doc.valid) && doc.valid.length > 0, 'payloads.json: valid cases');
  ok(Array.isArray(doc.invalid) && doc.invalid.length > 0, 'payloads.json: invalid cases');
  for (const c of doc.valid) {
    const w = 'payloads.json valid ' + show(c.name);
    ok(typeof c.payload === 'string' && Array.isArray(c.packets) && c.packets.length > 0, w + ': has payload and packets');
    c.packets.forEach((p, i) => checkPacketShape(p, w + ' packet ' + i));
    ok(c.payload === c.packets.map(encodePacket).join(RS), w + ': payload is exactly the encoded packets joined with \\x1e');
    let got;
    try {
      got = decodePayload(Buffer.from(c.payload, 'utf8'), max);
    } catch (e) {
      got = e;
    }
    ok(Array.isArray(got) && got.length === c.packets.length && got.every((p, i) => samePacket(p, c.packets[i])), w + ': decodes to the packets');
  }
  const seen = new Set();
  for (const c of doc.invalid) {
    const w = 'payloads.json invalid ' + show(c.name);
    ok(ERRORS.includes(c.error), w + ': error is one of ' + ERRORS.join(', '));
    ok(typeof c.payload_base64 === 'string' && BASE64.test(c.payload_base64), w + ': payload_base64 is base64');
    seen.add(c.error);
    const limit = c.max_payload === undefined ? max : c.max_payload;
    let kind = 'no error';
    try {
      decodePayload(Buffer.from(c.payload_base64, 'base64'), limit);
    } catch (e) {
      kind = e instanceof DecodeError ? e.kind : 'exception ' + e;
    }
    ok(kind === c.error, w + ': decoding fails with ' + c.error + ' (got ' + kind + ')');
  }
  for (const e of ERRORS) ok(seen.has(e), 'payloads.json: an invalid case for ' + e);
}

// ---- htmlfile.json (chapter 08) ----

// The client names only an index into the server's fixed registry.
const validCallback = (c) => /^[0-9]{1,9}$/.test(c);

function jsEscape(s) {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    const short = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' }[ch];
    if (short) out += short;
    else if (c < 0x20 || c === 0x7f || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out;
}
const htmlChunk = (p) => '<script>p("' + jsEscape(encodePacket(p)) + '");</script>\n';
function htmlPreamble(cb) {
  const head = '<!DOCTYPE html><html><head><meta charset="utf-8"><script>var p=parent._polysock_cb.c' + Number(cb) + ';</script></head><body>';
  return head + ' '.repeat(Math.max(0, 1024 - Buffer.byteLength(head))) + '\n';
}

// The literal inside p("..."), evaluated the way a browser would.
function evalChunk(chunk) {
  const m = /^<script>p\("(.*)"\);<\/script>\n$/s.exec(chunk);
  if (!m) return null;
  let got = null;
  try {
    // eslint-disable-next-line no-new-func
    new Function('p', 'p("' + m[1] + '");')((v) => {
      got = v;
    });
  } catch (e) {
    return null;
  }
  return { literal: m[1], value: got };
}

function checkSafeChunk(chunk, w) {
  const lower = chunk.toLowerCase();
  ok(lower.indexOf('</script') === lower.length - '</script>\n'.length, w + ': no </script (any case) before the framing one');
  ok(lower.indexOf('<script') === 0 && lower.indexOf('<script', 1) === -1, w + ': no <script beyond the framing one');
  ok(!chunk.includes('<!--') && !chunk.includes('-->'), w + ': no <!-- or -->');
  ok(!/[\u2028\u2029]/.test(chunk), w + ': no raw U+2028/U+2029');
  const lit = evalChunk(chunk);
  ok(lit && !/[<>&\u0000-\u001f\u007f]/.test(lit.literal), w + ': no raw < > & DEL or C0 control inside the literal');
  return lit;
}

function checkHtmlfile() {
  const doc = load('htmlfile.json');
  ok(doc.default_callback_id === 0, 'htmlfile.json: default_callback_id');
  for (const c of doc.callbacks.valid) ok(validCallback(c), 'htmlfile.json: callback ' + show(c) + ' is valid');
  for (const c of doc.callbacks.invalid) ok(!validCallback(c), 'htmlfile.json: callback ' + show(c) + ' is invalid');
  for (const pr of doc.preambles) {
    ok(validCallback(pr.callback), 'htmlfile.json preamble ' + show(pr.callback) + ': callback valid');
    ok(pr.bytes === htmlPreamble(pr.callback), 'htmlfile.json preamble ' + show(pr.callback) + ': exact bytes');
    ok(Buffer.byteLength(pr.bytes) === 1025, 'htmlfile.json preamble ' + show(pr.callback) + ': 1025 bytes');
  }
  ok(doc.end === '<script>p(null);</script></body></html>', 'htmlfile.json: end marker');
  for (const c of doc.cases) {
    const w = 'htmlfile.json case ' + show(c.name);
    checkPacketShape(c.packet, w);
    ok(c.callback === '0', w + ': callback');
    ok(c.chunk === htmlChunk(c.packet), w + ': chunk bytes');
    const lit = checkSafeChunk(c.chunk, w);
    ok(lit && lit.value === encodePacket(c.packet), w + ': literal evaluates to the encoded packet');
  }
  ok(Array.isArray(doc.hostile) && doc.hostile.length >= 10, 'htmlfile.json: hostile strings');
  for (const h of doc.hostile) {
    const w = 'htmlfile.json hostile ' + show(h.name);
    ok(h.chunk === htmlChunk({ type: 'message', text: h.text }), w + ': chunk bytes');
    const lit = checkSafeChunk(h.chunk, w);
    ok(lit && lit.value === '4' + h.text, w + ': literal evaluates to the original text');
  }
  const ex = doc.example_body;
  ok(ex.bytes === htmlPreamble(ex.callback) + ex.packets.map(htmlChunk).join('') + doc.end, 'htmlfile.json: example body');
}

// ---- xhr-streaming.json (chapter 07) ----

const PART = '\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n';
const xhrChunk = (p, b) => PART + encodePacket(p) + '\r\n--' + b;
const xhrPreamble = (b) => ' '.repeat(2048) + '\r\n--' + b;

// How a client cuts a body: split at each "\r\n--B", drop the part headers.
function cutBody(body, b) {
  const delim = '\r\n--' + b;
  const pieces = body.split(delim);
  const out = { preamble: pieces[0], packets: [], end: pieces[pieces.length - 1] };
  for (const part of pieces.slice(1, -1)) out.packets.push(part.slice(part.indexOf('\r\n\r\n') + 4));
  return out;
}

function checkXhr() {
  const doc = load('xhr-streaming.json');
  const bpat = new RegExp(doc.boundary_pattern);
  ok(doc.padding_bytes === 2048, 'xhr-streaming.json: padding_bytes');
  ok(doc.part_header === PART, 'xhr-streaming.json: part_header');
  ok(doc.end === '--\r\n', 'xhr-streaming.json: end');
  ok(bpat.test(doc.preamble_example.boundary) && doc.preamble_example.bytes === xhrPreamble(doc.preamble_example.boundary), 'xhr-streaming.json: preamble bytes');
  for (const c of doc.cases) {
    const w = 'xhr-streaming.json case ' + show(c.name);
    checkPacketShape(c.packet, w);
    ok(bpat.test(c.boundary), w + ': boundary matches the pattern');
    ok(c.chunk === xhrChunk(c.packet, c.boundary), w + ': chunk bytes');
    ok(!encodePacket(c.packet).includes('\r\n--' + c.boundary), w + ': packet does not contain the delimiter');
  }
  for (const c of doc.collisions) ok(encodePacket(c.packet).includes('\r\n--' + c.boundary), 'xhr-streaming.json collision ' + show(c.name) + ': contains the delimiter');
  for (const c of doc.harmless) {
    const w = 'xhr-streaming.json harmless ' + show(c.name);
    ok(c.chunk === xhrChunk(c.packet, c.boundary), w + ': chunk bytes');
    const cut = cutBody(xhrPreamble(c.boundary) + c.chunk + doc.end, c.boundary);
    ok(cut.packets.length === 1 && cut.packets[0] === encodePacket(c.packet), w + ': cuts back to the packet');
  }
  const ex = doc.example_body;
  ok(ex.bytes === xhrPreamble(ex.boundary) + ex.packets.map((p) => xhrChunk(p, ex.boundary)).join('') + doc.end, 'xhr-streaming.json: example body bytes');
  const cut = cutBody(ex.bytes, ex.boundary);
  ok(cut.preamble === ' '.repeat(2048) && cut.end === doc.end, 'xhr-streaming.json: example body preamble and end');
  ok(JSON.stringify(cut.packets) === JSON.stringify(ex.packets.map(encodePacket)), 'xhr-streaming.json: example body cuts back to its packets');
}

// ---- resume.json (chapter 11) ----

const U64_MAX = 18446744073709551615n;

// The ack packet's count (chapter 11 §11.3), or a DecodeError.
function decodeAck(s) {
  const data = s.slice(1);
  const wellFormed = /^(0|[1-9][0-9]{0,19})$/.test(data);
  if (s.charAt(0) !== '7' || !wellFormed || BigInt(data) > U64_MAX) throw new DecodeError('invalid_ack');
  return data;
}

// A payload element of a resume session: acks beside the packets of chapter 02.
function decodeResumePacket(s) {
  if (s.charAt(0) === '7') return { type: 'ack', count: decodeAck(s) };
  return decodePacket(s);
}

function encodeResumePacket(p) {
  return p.type === 'ack' ? '7' + p.count : encodePacket(p);
}

function sameResumePacket(a, b) {
  if (a.type === 'ack' || b.type === 'ack') return a.type === b.type && a.count === b.count;
  return samePacket(a, b);
}

function checkResume() {
  const doc = load('resume.json');
  const acks = doc.ack_packets;
  ok(acks.error === 'invalid_ack' && acks.stock_error === 'unknown_packet_type', 'resume.json: error kinds');
  for (const v of acks.valid) {
    let got;
    try {
      got = decodeAck(v.text);
    } catch (e) {
      got = e.kind;
    }
    ok(got === v.count, 'resume.json: ack ' + show(v.text) + ' decodes to ' + v.count + ', got ' + got);
    ok('7' + v.count === v.text, 'resume.json: ack ' + show(v.text) + ' re-encodes to itself');
    let stock;
    try {
      decodePacket(v.text);
    } catch (e) {
      stock = e.kind;
    }
    ok(stock === acks.stock_error, 'resume.json: ' + show(v.text) + ' is unknown to a stock session');
  }
  for (const v of acks.invalid) {
    let kind;
    try {
      decodeAck(v.text);
    } catch (e) {
      kind = e.kind;
    }
    ok(kind === acks.error, 'resume.json: ack ' + show(v.text) + ' (' + v.why + ') is refused');
  }
  for (const c of doc.payloads) {
    const elements = c.payload.split(RS);
    if (c.error) {
      let kind;
      try {
        elements.map(decodeResumePacket);
      } catch (e) {
        kind = e.kind;
      }
      ok(kind === c.error, 'resume.json: ' + c.name + ' fails with ' + c.error + ', got ' + kind);
      continue;
    }
    let got;
    try {
      got = elements.map(decodeResumePacket);
    } catch (e) {
      ok(false, 'resume.json: ' + c.name + ' decodes: ' + e.kind);
      continue;
    }
    ok(got.length === c.packets.length && got.every((p, i) => sameResumePacket(p, c.packets[i])), 'resume.json: ' + c.name + ' decodes to its packets');
    ok(c.packets.map(encodeResumePacket).join(RS) === c.payload, 'resume.json: ' + c.name + ' encodes to its payload');
  }
  // The exchanges: well-formed steps, and the numbering they show adds up.
  for (const ex of doc.exchanges) {
    const w = 'resume.json: ' + ex.name;
    ok(Array.isArray(ex.steps) && ex.steps.length > 0, w + ': has steps');
    ok(ex.steps[0].request && ex.steps[0].response.open && ex.steps[0].response.open.resume, w + ': opens a resume session first');
    if (ex.config !== undefined) {
      const keys = Object.keys(ex.config);
      ok(keys.length > 0 && keys.every((k) => (k === 'resume_buffer_messages' || k === 'resume_buffer_bytes') && Number.isInteger(ex.config[k]) && ex.config[k] > 0), w + ': config holds positive retention bounds only');
    }
    let sent = 0; // server messages the application queued
    let received = 0; // client messages the server took
    let closed = false;
    for (const [i, step] of ex.steps.entries()) {
      const sw = w + ' step ' + i;
      if (step.app_send) {
        sent += step.app_send.length;
        continue;
      }
      if (step.app_receives) {
        ok(step.app_receives.length === received || step.app_receives.length > 0, sw + ': app_receives lists messages');
        continue;
      }
      ok(step.request && step.response, sw + ': a request/response pair or an application step');
      const { method, query, body } = step.request;
      ok(method === 'GET' || method === 'POST', sw + ': method');
      ok(typeof query === 'string' && query.startsWith('EIO=4&'), sw + ': query');
      const res = step.response;
      ok(Number.isInteger(res.status), sw + ': status');
      if (res.status !== 200) {
        ok(Number.isInteger(res.code) && typeof res.detail === 'string', sw + ': error code and detail');
        continue;
      }
      ok(!closed, sw + ': a closed session answers nothing');
      if (res.open) continue;
      if (method === 'POST') {
        const seq = Number(/[?&]?seq=(\d+)/.exec(query)[1]);
        const messages = body.split(RS).map(decodeResumePacket).filter((p) => p.type === 'message').length;
        ok(seq <= received + 1, sw + ': seq leaves no gap');
        received = Math.max(received, seq + messages - 1);
        ok(res.body === 'ok', sw + ': POST answered ok');
        continue;
      }
      const ack = Number(/[?&]ack=(\d+)/.exec(query)[1]);
      const packets = res.body.split(RS).map(decodeResumePacket);
      const messages = packets.filter((p) => p.type === 'message');
      ok(messages.length <= sent - ack, sw + ': no more than was sent after the ack');
      ok(messages.every((p, k) => p.text === 'm' + (ack + k + 1)), sw + ': the messages after the ack, in order');
      const acks = packets.filter((p) => p.type === 'ack');
      ok(acks.every((p) => p === packets[0] && Number(p.count) === received), sw + ': an ack comes first and says the received count');
    }
  }
}

checkPackets();
checkPayloads();
checkHtmlfile();
checkXhr();
checkResume();
if (failures) {
  console.error(failures + ' of ' + checks + ' checks failed');
  process.exit(1);
}
console.log('vectors ok: ' + checks + ' checks passed');
