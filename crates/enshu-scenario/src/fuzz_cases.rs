//! The properties Enshu's fuzz targets check (`fuzz/`), as ordinary code so
//! that the crate's own tests run them over the seed corpus and the saved
//! regressions with no fuzzer (`tests/fuzz_cases.rs`).
//!
//! Each function takes the fuzzer's bytes and panics only when a property
//! is broken; any other outcome (a refused scenario, say) is a pass.

use crate::diagnostic::Diagnostic;
use crate::load::LoadedScenario;
use crate::plan::{PlanError, PlanOptions};
use crate::validate::{Context, NoFiles};

/// The file name the fuzzed bytes are loaded under.
const FILE_NAME: &str = "fuzz.yaml";
/// Teams planned: two, so that per-team addressing is exercised.
const TEAMS: u32 = 2;

/// Scenario bytes through load, validate and plan:
/// - nothing panics;
/// - every diagnostic is located: it names a file the loader read, a line
///   within that file (1-based) and a column from 1, and every diagnostic
///   of validation names the field it is about;
/// - a scenario that validates without errors plans, and plans the same
///   way twice.
pub fn scenario_load(data: &[u8]) {
    let loaded = match crate::load::load(FILE_NAME, data) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty(), "load failed with no diagnostic");
            let main_lines = line_count(&String::from_utf8_lossy(data));
            for diagnostic in &diagnostics {
                assert_eq!(diagnostic.file, FILE_NAME, "{diagnostic:?}");
                assert_located(diagnostic, main_lines);
            }
            return;
        }
    };
    let context = Context {
        teams: Some(TEAMS),
        pool_override: None,
        files: &NoFiles,
    };
    let diagnostics = crate::validate::validate(&loaded, &context);
    for diagnostic in &diagnostics {
        assert_located_in(&loaded, diagnostic);
        assert!(
            !diagnostic.path.is_empty(),
            "validation diagnostic names no field: {diagnostic:?}"
        );
    }
    if diagnostics.iter().any(Diagnostic::is_error) {
        return;
    }
    let options = PlanOptions {
        session: "fuzz".to_owned(),
        teams: TEAMS,
        pool: None,
        files: &NoFiles,
    };
    let first = match crate::plan::plan(&loaded, &options) {
        Ok(plan) => plan,
        Err(PlanError::Invalid(diagnostics)) => {
            panic!("validated without errors, then refused by plan: {diagnostics:#?}")
        }
        Err(other) => panic!("validated without errors, then refused by plan: {other}"),
    };
    let second = crate::plan::plan(&loaded, &options).expect("planned once, then refused");
    assert!(
        first == second,
        "the same scenario planned differently twice"
    );
    // What `enshu plan` prints and writes must render too.
    let _ = first.to_text();
    let _ = first.to_compose();
}

/// Lines as YAML (and an editor) counts them: `\r\n`, a lone `\r` and
/// `\n` each end one.
fn line_count(text: &str) -> u32 {
    text.replace("\r\n", "\n").split(['\n', '\r']).count() as u32
}

fn assert_located_in(loaded: &LoadedScenario, diagnostic: &Diagnostic) {
    let source = loaded
        .sources
        .iter()
        .find(|source| source.name == diagnostic.file)
        .unwrap_or_else(|| panic!("diagnostic names a file not read: {diagnostic:?}"));
    assert_located(diagnostic, line_count(&source.text));
}

fn assert_located(diagnostic: &Diagnostic, lines: u32) {
    assert!(!diagnostic.file.is_empty(), "no file: {diagnostic:?}");
    assert!(
        diagnostic.line >= 1 && diagnostic.line <= lines,
        "line {} outside the file's {lines} lines: {diagnostic:?}",
        diagnostic.line
    );
    assert!(diagnostic.column >= 1, "column 0: {diagnostic:?}");
    assert!(!diagnostic.message.is_empty(), "no message: {diagnostic:?}");
    // The rendering users see must not panic either.
    let _ = diagnostic.to_string();
}
