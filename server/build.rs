//! Computes the ETag of the bundled browser client (`assets/polysock.min.js`,
//! inside the crate so that a packaged crate carries it), so the server can
//! serve it without touching the disk. `client-js/build.js` writes that file.

use std::path::Path;
use std::{env, fs};

fn main() {
    let script = Path::new("assets/polysock.min.js");
    println!("cargo:rerun-if-changed={}", script.display());
    let bytes = fs::read(script).unwrap_or_else(|_| {
        println!("cargo:warning=assets/polysock.min.js is missing: /polysock.js will answer 503");
        Vec::new()
    });
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out).join("polysock.js"), &bytes).expect("OUT_DIR is writable");
    fs::write(
        Path::new(&out).join("polysock.js.etag"),
        format!("\"{:016x}\"", fnv1a(&bytes)),
    )
    .expect("OUT_DIR is writable");
}

/// 64-bit FNV-1a: a stable fingerprint of the script for its ETag.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
