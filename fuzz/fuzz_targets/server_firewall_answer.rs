//! `enshu_server::fuzz_cases::server_firewall_answer` under libFuzzer: the property is documented there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    enshu_server::fuzz_cases::server_firewall_answer(data);
});
