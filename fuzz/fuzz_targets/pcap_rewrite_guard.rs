//! `enshu_pcap::fuzz_cases::pcap_rewrite_guard` under libFuzzer: the property is documented there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    enshu_pcap::fuzz_cases::pcap_rewrite_guard(data);
});
