//! `enshu_scenario::fuzz_cases::scenario_load` under libFuzzer: the property is documented there.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    enshu_scenario::fuzz_cases::scenario_load(data);
});
