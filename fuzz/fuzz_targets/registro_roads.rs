//! libFuzzer entry point: the import's fast and precise roads held against each other;
//! the property lives in `checks.rs`, which the core crate's test suite also runs over
//! the committed seeds and regressions.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| itau_codigo_fuzz::checks::registro_roads(data));
