//! Embeds the bundled browser client (`client-js/dist/`) into the crate and
//! computes its ETag, so the server can serve it without touching the disk.

use std::path::Path;
use std::{env, fs};

fn main() {
    let dist = Path::new("../client-js/dist");
    let minified = dist.join("polysock.min.js");
    let readable = dist.join("polysock.js");
    println!("cargo:rerun-if-changed={}", minified.display());
    println!("cargo:rerun-if-changed={}", readable.display());
    let script = fs::read_to_string(&minified)
        .or_else(|_| fs::read_to_string(&readable))
        .unwrap_or_else(|_| {
            println!("cargo:warning=client-js/dist is missing: /polysock.js will answer 503");
            String::new()
        });
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out).join("polysock.js"), &script).expect("OUT_DIR is writable");
    fs::write(
        Path::new(&out).join("polysock.js.etag"),
        format!("\"{:016x}\"", fnv1a(script.as_bytes())),
    )
    .expect("OUT_DIR is writable");
}

/// 64-bit FNV-1a: a stable fingerprint of the script for its ETag.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
