//! `enshu`: the instructors' command line. `main` parses, dispatches and
//! picks an exit code; each subcommand lives in `commands/`.

#![forbid(unsafe_code)]

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Also in README.md ("Exit codes") and the man page.
const EXIT_CODES: &str = "Exit codes:
  0  ok
  1  error: a file cannot be read, Docker or the served range is unreachable, a step failed
  2  usage: the command line is wrong (unknown option, missing argument)
  3  refused or not isolated: a scenario refused by validation (validate, plan, up),
     isolation not proven (up, verify, reset; serve on a session not proven isolated),
     a request the served range refused with a 4xx (clock, inject, scoreboard, export)
  `shell` exits with the command's own status.";

#[derive(Parser)]
#[command(
    name = "enshu",
    version,
    about = "Cyber-defence exercise range orchestrator (演習)",
    after_help = EXIT_CODES
)]
struct Cli {
    /// Log filter, e.g. `info` or `enshu=debug` (default: ENSHU_LOG, then
    /// RUST_LOG, then `warn`).
    #[arg(long, global = true, env = "ENSHU_LOG")]
    log: Option<String>,
    /// Log lines as text, or as one JSON object a line (for journald or a
    /// log collector).
    #[arg(
        long,
        global = true,
        env = "ENSHU_LOG_FORMAT",
        value_enum,
        default_value_t
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Default, clap::ValueEnum)]
enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check scenario files and report every problem at once.
    Validate(commands::validate::Args),
    /// Print the concrete per-team plan for a scenario.
    Plan(commands::plan::Args),
    /// Provision (or converge) every team's range, then prove it isolated.
    Up(commands::up::Args),
    /// Run the isolation matrix against a running session.
    Verify(commands::verify::Args),
    /// Show every team's hosts and whether they run.
    Status(commands::status::Args),
    /// Open a shell (or run a command) in a team's host.
    Shell(commands::shell::Args),
    /// Run the exercise: scoreboard and portal (HTTPS), the SSH bastion (ways in), clock, injects and checks.
    Serve(commands::serve::Args),
    /// Start, pause, resume or stop the exercise clock (all teams or one).
    Clock(commands::instructor::ClockArgs),
    /// Fire an inject now, or hold it.
    Inject(commands::instructor::InjectArgs),
    /// Print the live scoreboard.
    Scoreboard(commands::instructor::ScoreboardArgs),
    /// Export the session's results (JSON or CSV).
    Export(commands::instructor::ExportArgs),
    /// Put one team's range back to its initial state and re-prove isolation.
    Reset(commands::reset::Args),
    /// Print each team's credentials and the instructor token.
    Credentials(commands::access::CredentialsArgs),
    /// Revoke a team's portal token (a new one replaces it at once).
    Token(commands::token::Args),
    /// Remove every container, network and volume of a session.
    Down(commands::down::Args),
    /// Print the scenario JSON Schema (draft-07) for editors.
    Schema(commands::schema::Args),
    /// Print shell completions.
    Completions(commands::completions::Args),
    /// Write the man pages to a directory (`make install`).
    #[command(hide = true)]
    Man(commands::man::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = cli
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "warn".to_string());
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => subscriber.init(),
        LogFormat::Json => subscriber.json().flatten_event(true).init(),
    }
    // `verify` and `serve` hold many sockets at once (probes, SSE clients).
    enshu_docker::host::netns::raise_open_file_limit();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(args),
        Command::Plan(args) => commands::plan::run(args),
        Command::Up(args) => commands::up::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Status(args) => commands::status::run(args),
        Command::Shell(args) => commands::shell::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Clock(args) => commands::instructor::clock(args),
        Command::Inject(args) => commands::instructor::inject(args),
        Command::Scoreboard(args) => commands::instructor::scoreboard(args),
        Command::Export(args) => commands::instructor::export(args),
        Command::Reset(args) => commands::reset::run(args),
        Command::Credentials(args) => commands::access::credentials(args),
        Command::Token(args) => commands::token::run(args),
        Command::Down(args) => commands::down::run(args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Completions(args) => commands::completions::run::<Cli>(args),
        Command::Man(args) => commands::man::run::<Cli>(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.downcast_ref::<commands::Refused>().is_some() {
                commands::refused()
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
