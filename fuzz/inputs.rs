//! The fuzz targets' inputs for each crate's `tests/fuzz_cases.rs`:
//! `fuzz/corpus/<target>/` (the seeds) and `fuzz/regressions/<target>/`
//! (every input a run found breaking a property), each run through the
//! crate's `fuzz_cases` function. Included by `#[path]`; the paths are
//! relative to the including crate.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Every input file of `fuzz/<kind>/<target>/`, sorted (its README aside).
pub fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
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

/// Runs `case` on every input of `fuzz/<kind>/<target>/`; their count.
pub fn run_each(kind: &str, target: &str, case: fn(&[u8])) -> usize {
    let files = inputs(kind, target);
    for file in &files {
        let bytes = std::fs::read(file).expect("reading an input");
        let result = std::panic::catch_unwind(|| case(&bytes));
        assert!(result.is_ok(), "{target} fails on {}", file.display());
    }
    files.len()
}
