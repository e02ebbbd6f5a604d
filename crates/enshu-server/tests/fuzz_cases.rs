//! The fuzz targets' properties (`fuzz/`) over their seed corpus and every
//! saved regression, so `cargo test` checks them with no fuzzer.

#[path = "../../../fuzz/inputs.rs"]
mod inputs;

use inputs::run_each;

#[test]
fn server_report_holds_on_its_seed_corpus() {
    let count = run_each(
        "corpus",
        "server_report",
        enshu_server::fuzz_cases::server_report,
    );
    assert!(count >= 5, "only {count} seeds");
}

#[test]
fn server_report_holds_on_its_regressions() {
    run_each(
        "regressions",
        "server_report",
        enshu_server::fuzz_cases::server_report,
    );
}

#[test]
fn server_firewall_answer_holds_on_its_seed_corpus() {
    let count = run_each(
        "corpus",
        "server_firewall_answer",
        enshu_server::fuzz_cases::server_firewall_answer,
    );
    assert!(count >= 5, "only {count} seeds");
}

#[test]
fn server_firewall_answer_holds_on_its_regressions() {
    run_each(
        "regressions",
        "server_firewall_answer",
        enshu_server::fuzz_cases::server_firewall_answer,
    );
}
