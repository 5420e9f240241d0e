//! libFuzzer entry point; the properties checked live in `checks.rs`, which the core
//! crate's test suite also runs over the committed seeds and regressions.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| itau_codigo_fuzz::checks::consulta_request(data));
