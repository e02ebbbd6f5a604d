//! `enshu down --session NAME`: remove every container, network and volume
//! of the session, and nothing else.

use std::process::ExitCode;

use super::Output;
use super::range::{self, CONCURRENCY};
use super::session_state::SessionState;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    session: String,
    /// Containers removed at once.
    #[arg(long, default_value_t = CONCURRENCY)]
    concurrency: usize,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    range::require_root("down")?;
    range::runtime()?.block_on(async {
        let backend = range::docker().await?;
        let report = enshu_controller::down(&backend, &args.session, args.concurrency).await?;
        SessionState::forget(&args.session);
        // The host guard stays: its rules match only range bridges, so it
        // costs nothing when none exist, and removing it here would race
        // with another session coming up.
        match args.output {
            Output::Json => println!(
                "{}",
                serde_json::json!({"session": args.session, "removed": report})
            ),
            Output::Text => println!(
                "session {}: removed {} containers, {} networks, {} volumes in {:.1}s",
                args.session, report.containers, report.networks, report.volumes, report.seconds
            ),
        }
        Ok(ExitCode::SUCCESS)
    })
}
