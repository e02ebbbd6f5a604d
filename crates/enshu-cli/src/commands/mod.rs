pub mod completions;
pub mod files;
pub mod plan;
pub mod schema;
pub mod validate;

/// Output format for commands a script may read.
#[derive(Clone, Copy, Debug, Default, clap::ValueEnum, PartialEq, Eq)]
pub enum Output {
    #[default]
    Text,
    Json,
}
