//! Every diagnostic has a fixture: `fixtures/invalid/NAME.yaml` and, beside
//! it, `NAME.expected` with the headlines (`file:line:col: message`) the
//! validator must print, in order. `UPDATE_EXPECT=1 cargo test` rewrites the
//! expected files; review the diff before committing it.

use std::path::{Path, PathBuf};

use enshu_scenario::validate::{Context, Files};

struct FixtureFiles {
    base: PathBuf,
}

impl Files for FixtureFiles {
    fn check_capture(&self, path: &str) -> Result<(), String> {
        let bytes = std::fs::read(self.base.join(path))
            .map_err(|error| format!("cannot read it: {error}"))?;
        let magic: [u8; 4] = bytes
            .get(..4)
            .and_then(|slice| slice.try_into().ok())
            .ok_or("file is shorter than a capture header")?;
        let known = [
            [0xd4, 0xc3, 0xb2, 0xa1],
            [0xa1, 0xb2, 0xc3, 0xd4],
            [0x4d, 0x3c, 0xb2, 0xa1],
            [0xa1, 0xb2, 0x3c, 0x4d],
            [0x0a, 0x0d, 0x0d, 0x0a],
        ];
        if known.contains(&magic) {
            Ok(())
        } else {
            Err("neither a pcap nor a pcapng file".to_string())
        }
    }
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("fixtures directory")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {}", directory.display());
    paths
}

/// Headlines of every diagnostic for a fixture, as `enshu validate` prints them.
fn headlines(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let bytes = std::fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let teams = text
        .lines()
        .find_map(|line| line.strip_prefix("# teams: "))
        .map(|value| value.trim().parse().unwrap());
    let files = FixtureFiles {
        base: path.parent().unwrap().to_path_buf(),
    };
    let diagnostics = match enshu_scenario::load(&name, &bytes) {
        Err(diagnostics) => diagnostics,
        Ok(loaded) => enshu_scenario::validate(
            &loaded,
            &Context {
                teams,
                pool_override: None,
                files: &files,
            },
        ),
    };
    diagnostics
        .iter()
        .map(|diagnostic| diagnostic.headline())
        .collect()
}

#[test]
fn every_invalid_fixture_reports_exactly_its_expected_diagnostics() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut mismatches = Vec::new();
    for path in fixtures("invalid") {
        let actual = headlines(&path);
        assert!(
            actual
                .iter()
                .any(|headline| !headline.contains(": warning: ")),
            "{} produced no error at all: {actual:#?}",
            path.display()
        );
        let expected_path = path.with_extension("expected");
        let actual_text = actual.join("\n") + "\n";
        if update {
            std::fs::write(&expected_path, &actual_text).unwrap();
            continue;
        }
        let expected_text = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected_text != actual_text {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected_text}--- actual\n{actual_text}",
                path.display()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "diagnostics differ (UPDATE_EXPECT=1 to accept):\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn valid_fixtures_have_no_errors() {
    for path in fixtures("valid") {
        let errors: Vec<String> = headlines(&path)
            .into_iter()
            .filter(|headline| !headline.contains(": warning: "))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }
}

#[test]
fn reference_scenarios_validate_without_errors_or_warnings() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut checked = 0;
    for entry in std::fs::read_dir(&directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=./schema.json\n"),
            "{} must start with the yaml-language-server schema line",
            path.display()
        );
        let found = headlines(&path);
        assert!(found.is_empty(), "{}: {found:#?}", path.display());
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the three reference scenarios, found {checked}"
    );
}

#[test]
fn a_diagnostic_shows_the_offending_line_and_field_path() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/unknown-segment.yaml");
    let bytes = std::fs::read(&path).unwrap();
    let loaded = enshu_scenario::load("unknown-segment.yaml", &bytes).unwrap();
    let diagnostics = enshu_scenario::validate(&loaded, &Context::default());
    let rendered = diagnostics[0].to_string();
    assert!(rendered.contains("field: hosts[3].segment"), "{rendered}");
    assert!(
        rendered.contains("  - {name: pc02, segment: offise, address: 102, image: workstation}"),
        "{rendered}"
    );
    let caret_line = rendered.lines().last().unwrap();
    let source_line = rendered.lines().rev().nth(1).unwrap();
    let caret = caret_line.find('^').unwrap();
    assert_eq!(&source_line[caret..caret + 6], "offise", "{rendered}");
}

/// A file saved with old Mac line breaks (a lone `\r`) or Windows ones:
/// the diagnostic names the line an editor shows and quotes it (the
/// fuzzer found a lone `\r` numbered as a line the quote could not find).
#[test]
fn a_diagnostic_in_a_file_with_cr_or_crlf_line_breaks_names_and_quotes_its_line() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/unknown-segment.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let expected = enshu_scenario::validate(
        &enshu_scenario::load("unknown-segment.yaml", text.as_bytes()).unwrap(),
        &Context::default(),
    )[0]
    .clone();
    for (breaks, line_break) in [("CR", "\r"), ("CRLF", "\r\n")] {
        let bytes = text.replace('\n', line_break).into_bytes();
        let loaded = enshu_scenario::load("unknown-segment.yaml", &bytes).unwrap();
        let diagnostic = enshu_scenario::validate(&loaded, &Context::default())[0].clone();
        assert_eq!(
            (diagnostic.line, diagnostic.column, &diagnostic.path),
            (expected.line, expected.column, &expected.path),
            "{breaks}: {diagnostic:?}"
        );
        assert_eq!(
            diagnostic.source_line.as_deref(),
            Some("  - {name: pc02, segment: offise, address: 102, image: workstation}"),
            "{breaks}"
        );
    }
}

/// The case seen at run time: a `user` artefact on the directory host (dns
/// role), held after three failures although `validate` said ok.
#[test]
fn an_artefact_the_role_cannot_take_names_the_field_and_what_the_role_takes() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/role-support.yaml");
    let bytes = std::fs::read(&path).unwrap();
    let loaded = enshu_scenario::load("role-support.yaml", &bytes).unwrap();
    let diagnostics = enshu_scenario::validate(&loaded, &Context::default());
    let rendered = diagnostics[0].to_string();
    assert!(
        rendered.starts_with("role-support.yaml:23:24: host lgwan/dc01 (role dns) cannot take a user artefact; it takes file, log, process, encrypt\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains("field: injects[0].action.artefact.kind"),
        "{rendered}"
    );
    assert!(
        rendered.contains("      artefact: {kind: user, name: svc-backup}"),
        "{rendered}"
    );
}
