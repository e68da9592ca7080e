//! HTTP compression of polling and streaming responses (`Content-Encoding:
//! gzip` or `deflate`, as the request's `Accept-Encoding` allows).
//!
//! A polling payload is compressed whole when it reaches the configured
//! threshold (Engine.IO's `httpCompression`: 1 KiB by default). A streaming
//! response cannot wait for its end, so it is encoded chunk by chunk into
//! one deflate stream: each chunk at or above the threshold is compressed by
//! a compressor that lives only while that chunk is encoded and ends with a
//! sync flush (so the client can decode everything sent so far: the stream
//! stays live), a smaller chunk goes out as a stored block (five bytes of
//! framing, no compressor). No compressor outlives a chunk, so an idle
//! stream holds no compression state (a deflate compressor is about 300 KiB);
//! the price is that a chunk's matches cannot reach into earlier chunks.
//!
//! ```text
//! gzip:    1f 8b 08 .. header | deflate blocks, each chunk's ending byte-aligned | 03 00 | crc32 len
//! deflate: 78 01 zlib header  | the same blocks                                  | 03 00 | adler32
//! ```

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use http::{header, HeaderMap, HeaderValue};

use crate::Config;

/// Compressor effort. Level 1: on chat-like JSON it saves within 5-7
/// points of level 6 for a half to a sixth of the CPU (BENCHMARKS.md).
const LEVEL: Compression = Compression::fast();

/// The most bytes a stored deflate block can hold.
const STORED_MAX: usize = u16::MAX as usize;

/// A `Content-Encoding` we produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Gzip,
    Deflate,
}

impl Encoding {
    fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
        })
    }

    /// The encoding to use for a response to `headers`: gzip or deflate,
    /// whichever the client ranks higher (gzip on a tie), none when it
    /// accepts neither (`q=0` refuses; `*` stands for both).
    pub(crate) fn negotiate(headers: &HeaderMap) -> Option<Self> {
        let mut best: Option<(Self, u16)> = None;
        let mut wildcard = None;
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or("").trim();
                let quality = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(parse_quality)
                    .unwrap_or(1000);
                let encoding = if name.eq_ignore_ascii_case("gzip") {
                    Self::Gzip
                } else if name.eq_ignore_ascii_case("deflate") {
                    Self::Deflate
                } else {
                    if name == "*" {
                        wildcard = Some(quality);
                    }
                    continue;
                };
                let better = match best {
                    None => true,
                    Some((held, q)) => {
                        quality > q
                            || (quality == q && encoding == Self::Gzip && held != Self::Gzip)
                    }
                };
                if better {
                    best = Some((encoding, quality));
                }
            }
        }
        match (best, wildcard) {
            (Some((encoding, q)), _) if q > 0 => Some(encoding),
            (None, Some(q)) if q > 0 => Some(Self::Gzip),
            _ => None,
        }
    }
}

/// An RFC 9110 qvalue in thousandths (`0`, `0.5`, `1.000`).
fn parse_quality(text: &str) -> Option<u16> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for (i, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    let quality = whole + thousandths;
    (quality <= 1000).then_some(quality)
}

/// The encoding for a response to `headers` under `config`: none when
/// compression is off.
pub(crate) fn for_request(config: &Config, headers: &HeaderMap) -> Option<Encoding> {
    if config.compression {
        Encoding::negotiate(headers)
    } else {
        None
    }
}

/// Marks a response as encoded; caches must keep one copy per encoding.
pub(crate) fn mark(headers: &mut HeaderMap, encoding: Encoding) {
    headers.insert(header::CONTENT_ENCODING, encoding.header_value());
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
}

/// `body` compressed whole with `encoding`.
pub(crate) fn compress(encoding: Encoding, body: &[u8]) -> Vec<u8> {
    let mut encoder = StreamEncoder::new(encoding, 0);
    let mut out = encoder.chunk(body);
    out.extend_from_slice(&encoder.finish());
    out
}

/// Encodes one response body, chunk by chunk, as a single gzip or zlib
/// stream (see the module docs).
pub(crate) struct StreamEncoder {
    encoding: Encoding,
    threshold: usize,
    started: bool,
    crc: Crc,
    adler: Adler32,
}

impl StreamEncoder {
    /// An encoder that compresses chunks of at least `threshold` bytes and
    /// stores smaller ones.
    pub(crate) fn new(encoding: Encoding, threshold: usize) -> Self {
        Self {
            encoding,
            threshold,
            started: false,
            crc: Crc::new(),
            adler: Adler32::new(),
        }
    }

    /// The encoded form of the next chunk: everything the client needs to
    /// decode it, with nothing held back.
    pub(crate) fn chunk(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len() / 2 + 32);
        self.header(&mut out);
        self.checksum(input);
        if input.is_empty() {
            return out;
        }
        if input.len() >= self.threshold {
            deflate_sync(input, &mut out);
        } else {
            for block in input.chunks(STORED_MAX) {
                // A non-final stored block: BFINAL 0, BTYPE 00, padded to
                // the byte (every chunk ends byte-aligned), LEN and ~LEN.
                let len = block.len() as u16;
                out.push(0);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(block);
            }
        }
        out
    }

    /// The end of the stream: an empty final block and the trailer.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        self.header(&mut out);
        // An empty final block with fixed codes: BFINAL 1, BTYPE 01, then
        // the end-of-block code (seven zero bits).
        out.extend_from_slice(&[0x03, 0x00]);
        match self.encoding {
            Encoding::Gzip => {
                out.extend_from_slice(&self.crc.sum().to_le_bytes());
                out.extend_from_slice(&self.crc.amount().to_le_bytes());
            }
            Encoding::Deflate => out.extend_from_slice(&self.adler.sum().to_be_bytes()),
        }
        out
    }

    fn header(&mut self, out: &mut Vec<u8>) {
        if std::mem::replace(&mut self.started, true) {
            return;
        }
        match self.encoding {
            // ID, CM deflate, no flags, no mtime, XFL 0, OS unknown.
            Encoding::Gzip => out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]),
            // CMF: deflate, 32 KiB window; FLG: fastest, check bits.
            Encoding::Deflate => out.extend_from_slice(&[0x78, 0x01]),
        }
    }

    fn checksum(&mut self, input: &[u8]) {
        match self.encoding {
            Encoding::Gzip => self.crc.update(input),
            Encoding::Deflate => self.adler.update(input),
        }
    }
}

/// Compresses `input` as raw deflate blocks ending in a sync flush (never
/// a final block), appended to `out`.
fn deflate_sync(input: &[u8], out: &mut Vec<u8>) {
    let mut compressor = Compress::new(LEVEL, false);
    loop {
        let consumed = usize::try_from(compressor.total_in()).unwrap_or(input.len());
        let rest = input.get(consumed..).unwrap_or_default();
        out.reserve(rest.len() / 2 + 64);
        let status = compressor.compress_vec(rest, out, FlushCompress::Sync);
        let all_in = usize::try_from(compressor.total_in()).unwrap_or(0) >= input.len();
        // The flush is complete when the compressor stopped with room to
        // spare: it had nothing more to write.
        let done = all_in && out.len() < out.capacity();
        if done || !matches!(status, Ok(Status::Ok)) {
            return;
        }
    }
}

/// The zlib trailer's checksum (RFC 1950 section 8).
struct Adler32 {
    a: u32,
    b: u32,
}

impl Adler32 {
    const MODULUS: u32 = 65_521;
    /// Bytes that can be summed before `b` could overflow a u32.
    const RUN: usize = 5_552;

    fn new() -> Self {
        Self { a: 1, b: 0 }
    }

    fn update(&mut self, input: &[u8]) {
        for run in input.chunks(Self::RUN) {
            for &byte in run {
                self.a += u32::from(byte);
                self.b += self.a;
            }
            self.a %= Self::MODULUS;
            self.b %= Self::MODULUS;
        }
    }

    fn sum(&self) -> u32 {
        (self.b << 16) | self.a
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        headers
    }

    #[test]
    fn negotiation_follows_the_clients_ranking() {
        let pick = |accept: &str| Encoding::negotiate(&headers(accept));
        assert_eq!(pick("gzip, deflate, br"), Some(Encoding::Gzip));
        assert_eq!(pick("deflate, gzip"), Some(Encoding::Gzip));
        assert_eq!(pick("deflate"), Some(Encoding::Deflate));
        assert_eq!(pick("gzip;q=0.5, deflate"), Some(Encoding::Deflate));
        assert_eq!(pick("gzip;q=0, deflate;q=0"), None);
        assert_eq!(pick("identity"), None);
        assert_eq!(pick("br"), None);
        assert_eq!(pick("*"), Some(Encoding::Gzip));
        assert_eq!(pick("*;q=0"), None);
        assert_eq!(pick("GZIP;q=1.000"), Some(Encoding::Gzip));
        assert_eq!(
            pick("gzip;q=2"),
            Some(Encoding::Gzip),
            "a bad qvalue counts as 1"
        );
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), None);
    }

    fn sample(len: usize) -> Vec<u8> {
        let event = br#"42["chat",{"room":"room-2","user":"carol","text":"failed ten my room"}]"#;
        event.iter().copied().cycle().take(len).collect()
    }

    #[test]
    fn whole_bodies_decode_with_the_standard_decoders() {
        let body = sample(5000);
        let gzip = compress(Encoding::Gzip, &body);
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
        assert!(gzip.len() < body.len() / 4, "{} bytes", gzip.len());

        let zlib = compress(Encoding::Deflate, &body);
        let mut decoded = Vec::new();
        flate2::read::ZlibDecoder::new(&zlib[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, body);
    }

    /// Every chunk decodes as soon as it arrives, stored or compressed,
    /// and the whole stream checks out at its end (the trailer is right).
    #[test]
    fn a_stream_decodes_chunk_by_chunk() {
        for encoding in [Encoding::Gzip, Encoding::Deflate] {
            let mut encoder = StreamEncoder::new(encoding, 1024);
            let mut decoded = Vec::new();
            let mut expected = Vec::new();
            match encoding {
                Encoding::Gzip => {
                    let mut decoder = flate2::write::GzDecoder::new(Vec::new());
                    for len in [10, 3000, 0, 200, 70_000, 1] {
                        let input = sample(len);
                        expected.extend_from_slice(&input);
                        decoder.write_all(&encoder.chunk(&input)).unwrap();
                        decoder.flush().unwrap();
                        assert_eq!(decoder.get_ref(), &expected, "chunk of {len} live");
                    }
                    decoder.write_all(&encoder.finish()).unwrap();
                    decoded.extend(decoder.finish().unwrap());
                }
                Encoding::Deflate => {
                    let mut decoder = flate2::write::ZlibDecoder::new(Vec::new());
                    for len in [10, 3000, 0, 200, 70_000, 1] {
                        let input = sample(len);
                        expected.extend_from_slice(&input);
                        decoder.write_all(&encoder.chunk(&input)).unwrap();
                        decoder.flush().unwrap();
                        assert_eq!(decoder.get_ref(), &expected, "chunk of {len} live");
                    }
                    decoder.write_all(&encoder.finish()).unwrap();
                    decoded.extend(decoder.finish().unwrap());
                }
            }
            assert_eq!(decoded, expected);
        }
    }

    #[test]
    fn a_damaged_trailer_is_caught() {
        let mut gzip = compress(Encoding::Gzip, &sample(2000));
        let last = gzip.len() - 5;
        gzip[last] ^= 1;
        let mut decoded = Vec::new();
        assert!(flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut decoded)
            .is_err());
    }

    #[test]
    fn adler32_matches_known_values() {
        let mut adler = Adler32::new();
        adler.update(b"Wikipedia");
        assert_eq!(adler.sum(), 0x11E6_0398);
        let mut long = Adler32::new();
        long.update(&[0xff; 100_000]);
        let mut reference = (1u64, 0u64);
        for _ in 0..100_000 {
            reference.0 = (reference.0 + 0xff) % 65_521;
            reference.1 = (reference.1 + reference.0) % 65_521;
        }
        assert_eq!(long.sum(), ((reference.1 << 16) | reference.0) as u32);
    }
}
