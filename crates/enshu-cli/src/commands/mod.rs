pub mod access;
pub mod completions;
pub mod down;
pub mod files;
pub mod host_keys;
pub mod instructor;
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
