//! Embeds the bundled browser client (`assets/polysock.min.js`, served as
//! `<mount>/polysock.js`, and `assets/polysock-http.min.js`, served as
//! `<mount>/polysock-http.js`; inside the crate so that a packaged crate
//! carries them) and computes their ETags, so the server can serve them
//! without touching the disk. `client-js/build.js` writes both files.

use std::path::Path;
use std::{env, fs};

fn main() {
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (asset, served) in [
        ("polysock.min.js", "polysock.js"),
        ("polysock-http.min.js", "polysock-http.js"),
    ] {
        let script = Path::new("assets").join(asset);
        println!("cargo:rerun-if-changed={}", script.display());
        let bytes = fs::read(&script).unwrap_or_else(|_| {
            println!("cargo:warning=assets/{asset} is missing: /{served} will answer 503");
            Vec::new()
        });
        fs::write(Path::new(&out).join(served), &bytes).expect("OUT_DIR is writable");
        fs::write(
            Path::new(&out).join(format!("{served}.etag")),
            format!("\"{:016x}\"", fnv1a(&bytes)),
        )
        .expect("OUT_DIR is writable");
    }
}

/// 64-bit FNV-1a: a stable fingerprint of a script for its ETag.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
