//! The man pages `make install` places, generated from the command line
//! (`enshu man DIR`): one a subcommand, each naming its options.

use std::process::Command;

#[test]
fn the_man_page_of_up_names_its_options_and_enshu_1_its_exit_codes() {
    let directory = std::env::temp_dir().join(format!("enshu-man-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let status = Command::new(env!("CARGO_BIN_EXE_enshu"))
        .arg("man")
        .arg(&directory)
        .status()
        .unwrap();
    assert!(status.success());
    let page = |name: &str| {
        std::fs::read_to_string(directory.join(name))
            .unwrap_or_else(|error| panic!("{name}: {error}"))
    };
    let up = page("enshu-up.1");
    assert!(
        up.starts_with(".ie") || up.contains(".TH enshu-up 1"),
        "{up}"
    );
    // roff escapes the dashes of an option: `\-\-teams`.
    for option in [
        "teams",
        "session",
        "pool",
        "no\\-verify",
        "dry\\-run",
        "keep\\-on\\-failure",
    ] {
        assert!(
            up.contains(&format!("\\-\\-{option}")),
            "enshu-up.1 lacks --{option}:\n{up}"
        );
    }
    assert!(
        up.contains("prove it isolated"),
        "the command's summary:\n{up}"
    );
    let enshu = page("enshu.1");
    assert!(enshu.contains("refused or not isolated"), "{enshu}");
    for subcommand in ["enshu-serve.1", "enshu-verify.1", "enshu-completions.1"] {
        assert!(directory.join(subcommand).exists(), "no {subcommand}");
    }
    // The hidden generator itself has no page.
    assert!(!directory.join("enshu-man.1").exists());
    std::fs::remove_dir_all(&directory).unwrap();
}
