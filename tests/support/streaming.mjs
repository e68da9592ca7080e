// Parsers for the Polysock streaming transports' response bodies (WIRE.md,
// "xhr-streaming response" and "htmlfile response"), for raw-HTTP tests.

/** The boundary from an xhr-streaming Content-Type header, or throw. */
export function boundaryOf(contentType) {
  const m = /^multipart\/mixed;\s*boundary="([A-Za-z0-9]{32})"$/.exec(contentType || "");
  if (!m) throw new Error(`not an xhr-streaming content type: ${JSON.stringify(contentType)}`);
  return m[1];
}

const PART_HEAD = "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";

/**
 * The encoded packets of the complete parts received so far in an
 * xhr-streaming body (`text`), and whether the closing `--\r\n` arrived.
 * Throws on a malformed preamble or part.
 */
export function xhrPackets(text, boundary) {
  const delim = `\r\n--${boundary}`;
  const first = text.indexOf(delim);
  if (first < 0) return { packets: [], ended: false };
  const preamble = text.slice(0, first);
  if (preamble.length !== 2048 || /[^ ]/.test(preamble)) {
    throw new Error(`bad xhr-streaming preamble: ${preamble.length} bytes, ${JSON.stringify(preamble.slice(0, 40))}...`);
  }
  const pieces = text.slice(first + delim.length).split(delim);
  // Every piece but the last is a complete part; the last is either incomplete,
  // empty (nothing yet after the delimiter) or the closing "--\r\n".
  const last = pieces.pop();
  const packets = pieces.map((part) => {
    if (!part.startsWith(PART_HEAD)) throw new Error(`bad xhr-streaming part: ${JSON.stringify(part.slice(0, 80))}`);
    return part.slice(PART_HEAD.length);
  });
  return { packets, ended: last === "--\r\n" };
}

const SCRIPT = /<script>p\("((?:[^"\\]|\\.)*)"\);<\/script>\n/g;

/** The encoded packets received so far in an htmlfile body, and whether `p(null)` arrived. */
export function htmlfilePackets(text) {
  const packets = [];
  for (const m of text.matchAll(SCRIPT)) packets.push(JSON.parse(`"${m[1]}"`));
  return { packets, ended: text.includes("<script>p(null);</script></body></html>") };
}
