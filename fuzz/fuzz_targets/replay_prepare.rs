//! `enshu_replay::fuzz_cases::replay_prepare` under libFuzzer: the property is documented there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    enshu_replay::fuzz_cases::replay_prepare(data);
});
