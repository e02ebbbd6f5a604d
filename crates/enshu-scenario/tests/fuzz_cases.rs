//! The fuzz targets' properties (`fuzz/`) over their seed corpus and every
//! saved regression, so `cargo test` checks them with no fuzzer.

#[path = "../../../fuzz/inputs.rs"]
mod inputs;

use inputs::run_each;

#[test]
fn scenario_load_holds_on_its_seed_corpus() {
    let count = run_each(
        "corpus",
        "scenario_load",
        enshu_scenario::fuzz_cases::scenario_load,
    );
    assert!(count >= 20, "only {count} seeds");
}

#[test]
fn scenario_load_holds_on_its_regressions() {
    run_each(
        "regressions",
        "scenario_load",
        enshu_scenario::fuzz_cases::scenario_load,
    );
}
