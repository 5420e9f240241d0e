//! The properties the fuzz targets check. `checks.rs` has no dependency on libFuzzer, so
//! `crates/itau-codigo/tests/fuzz_corpus.rs` includes it and replays every committed seed
//! and regression input in `cargo test`.

pub mod checks;
