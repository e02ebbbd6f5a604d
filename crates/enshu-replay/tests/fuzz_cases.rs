//! The fuzz targets' properties (`fuzz/`) over their seed corpus and every
//! saved regression, so `cargo test` checks them with no fuzzer.

#[path = "../../../fuzz/inputs.rs"]
mod inputs;

use inputs::run_each;

#[test]
fn replay_prepare_holds_on_its_seed_corpus() {
    let count = run_each(
        "corpus",
        "replay_prepare",
        enshu_replay::fuzz_cases::replay_prepare,
    );
    assert!(count >= 8, "only {count} seeds");
}

#[test]
fn replay_prepare_holds_on_its_regressions() {
    run_each(
        "regressions",
        "replay_prepare",
        enshu_replay::fuzz_cases::replay_prepare,
    );
}
