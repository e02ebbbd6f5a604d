pub mod access;
pub mod completions;
pub mod down;
pub mod files;
pub mod host_keys;
pub mod instructor;
pub mod man;
pub mod plan;
pub mod range;
pub mod reset;
pub mod schema;
pub mod serve;
pub mod session_state;
pub mod shell;
pub mod status;
pub mod token;
pub mod up;
pub mod validate;
pub mod verify;

/// Output format for commands a script may read.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum, PartialEq, Eq)]
pub enum Output {
    #[default]
    Text,
    Json,
}

/// Exit code 3: Enshu checked and said no (README "Exit codes"): the
/// scenario is refused, the range is not proven isolated, or the served
/// range refused the request. 1 stays for "could not do it" (a file that
/// cannot be read, Docker or the server unreachable, a step that failed).
pub const REFUSED: u8 = 3;

pub fn refused() -> std::process::ExitCode {
    std::process::ExitCode::from(REFUSED)
}

/// An error that exits with [`REFUSED`] instead of 1.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The exit code for a scenario that did not load: 1 when the file cannot
/// be read at all, [`REFUSED`] when it was read and found wanting.
pub fn scenario_refused(path: &std::path::Path) -> std::process::ExitCode {
    if std::fs::File::open(path).is_ok() {
        refused()
    } else {
        std::process::ExitCode::FAILURE
    }
}
