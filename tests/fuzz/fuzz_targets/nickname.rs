#![no_main]
//! cargo-fuzz entry point; the target itself is `parlor_fuzz::nickname::run`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| parlor_fuzz::nickname::run(data));
