//! `enshu_server::fuzz_cases::server_report` under libFuzzer: the property is documented there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    enshu_server::fuzz_cases::server_report(data);
});
