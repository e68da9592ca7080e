//! The properties the fuzz targets check, shared with the bounded run in
//! `server/tests/fuzz_smoke.rs` (which includes `checks.rs` by path).

pub mod checks;
