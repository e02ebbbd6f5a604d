//! `enshu`: the instructors' command line. `main` parses, dispatches and
//! picks an exit code; each subcommand lives in `commands/`.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "enshu", version, about = "Cyber-defence exercise range orchestrator (演習)")]
struct Cli {
    /// Log filter, e.g. `info` or `enshu=debug` (or set RUST_LOG).
    #[arg(long, global = true, env = "ENSHU_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check scenario files and report every problem at once.
    Validate(commands::validate::Args),
    /// Print the concrete per-team plan for a scenario.
    Plan(commands::plan::Args),
    /// Print the scenario JSON Schema (draft-07) for editors.
    Schema(commands::schema::Args),
    /// Print shell completions.
    Completions(commands::completions::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Plan(args) => commands::plan::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Completions(args) => commands::completions::run::<Cli>(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
