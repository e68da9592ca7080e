//! A bounded, deterministic stand-in for the cargo-fuzz targets in
//! `server/fuzz/` that runs on stable in the regular tests: the same checks
//! over inputs built from random bytes and protocol tokens.
//!
//! `POLYSOCK_FUZZ_CASES` sets the inputs per target (default 200,000);
//! `POLYSOCK_FUZZ_SEED` the seed.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::time::Instant;

/// Fragments that steer random inputs towards the decoders' edges.
const TOKENS: &[&[u8]] = &[
    b"0",
    b"1",
    b"2",
    b"3",
    b"4",
    b"5",
    b"6",
    b"7",
    b"b",
    b"\x1e",
    b"{",
    b"}",
    b"{\"code\":1000,\"reason\":\"x\"}",
    b"\"code\":",
    b"probe",
    b"AQID",
    b"AQ==",
    b"=",
    b"==",
    b"+/",
    b"-_",
    b"</script",
    b"</SCRIPT",
    b"<!--",
    b"-->",
    b"<",
    b">",
    b"&",
    b"\\",
    b"\"",
    b"\r\n",
    b"\r\n--",
    b"0123",
    b"\xe2\x80\xa8",
    b"\xe2\x80\xa9",
    b"\xff",
    b"\xc3",
    b"\xf0\x9f\x98\x80",
    b"\x00",
    b"\x7f",
];

/// xorshift64*: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Up to 64 pieces, each a token or a few random bytes.
    fn input(&mut self, out: &mut Vec<u8>) {
        out.clear();
        for _ in 0..self.below(65) {
            if self.below(3) == 0 {
                for _ in 0..self.below(8) + 1 {
                    out.push(self.next() as u8);
                }
            } else {
                out.extend_from_slice(TOKENS[self.below(TOKENS.len())]);
            }
        }
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn run(name: &str, check: fn(&[u8])) {
    let cases = env("POLYSOCK_FUZZ_CASES", 200_000);
    let seed = env("POLYSOCK_FUZZ_SEED", 0x9e37_79b9_7f4a_7c15) | 1;
    let mut rng = Rng(seed ^ name.len() as u64);
    let mut input = Vec::with_capacity(1024);
    let started = Instant::now();
    for _ in 0..cases {
        rng.input(&mut input);
        check(&input);
    }
    println!(
        "fuzz_smoke {name}: {cases} inputs without a finding in {:.2} s (seed {seed:#x})",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn decode_payload() {
    run("decode_payload", checks::decode_payload);
}

#[test]
fn decode_text() {
    run("decode_text", checks::decode_text);
}

#[test]
fn htmlfile_chunk() {
    run("htmlfile_chunk", checks::htmlfile_chunk);
}

#[test]
fn multipart_part() {
    run("multipart_part", checks::multipart_part);
}
