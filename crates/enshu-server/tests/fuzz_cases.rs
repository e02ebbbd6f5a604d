//! The fuzz targets' properties (`fuzz/`) over their seed corpus and every
//! saved regression, so `cargo test` checks them with no fuzzer.

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file() && path.file_name().is_some_and(|name| name != "README.md"))
        .collect();
    files.sort();
    files
}

fn run_each(kind: &str, target: &str, case: fn(&[u8])) -> usize {
    let files = inputs(kind, target);
    for file in &files {
        let bytes = std::fs::read(file).expect("reading an input");
        let result = std::panic::catch_unwind(|| case(&bytes));
        assert!(result.is_ok(), "{target} fails on {}", file.display());
    }
    files.len()
}

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
