//! `enshu plan FILE --teams N`: exactly what `enshu up` would create.

use std::path::PathBuf;
use std::process::ExitCode;

use enshu_scenario::{PlanError, PlanOptions};

use super::files::{DiskFiles, load_scenario};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario file.
    file: PathBuf,
    /// Number of teams.
    #[arg(long, default_value_t = 1)]
    teams: u32,
    /// Session name (used in container and network names).
    #[arg(long, default_value = "plan")]
    session: String,
    /// Address pool instead of the scenario's own (CIDR).
    #[arg(long)]
    pool: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: PlanOutput,
}

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum, PartialEq, Eq)]
pub enum PlanOutput {
    #[default]
    Text,
    Json,
    /// A Compose file with the same networks and containers.
    Compose,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let pool = match &args.pool {
        Some(text) => Some(
            text.parse()
                .map_err(|message: String| anyhow::anyhow!("--pool: {message}"))?,
        ),
        None => None,
    };
    let loaded = match load_scenario(&args.file) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            diagnostics
                .iter()
                .for_each(|diagnostic| eprint!("{diagnostic}"));
            return Ok(super::scenario_refused(&args.file));
        }
    };
    let files = DiskFiles::beside(&args.file);
    let options = PlanOptions {
        session: args.session.clone(),
        teams: args.teams,
        pool,
        files: &files,
    };
    let plan = match enshu_scenario::plan(&loaded, &options) {
        Ok(plan) => plan,
        Err(PlanError::Invalid(diagnostics)) => {
            diagnostics
                .iter()
                .for_each(|diagnostic| eprint!("{diagnostic}"));
            let errors = diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.is_error())
                .count();
            eprintln!("{errors} error(s): nothing planned");
            return Ok(super::refused());
        }
        Err(other) => return Err(other.into()),
    };
    match args.output {
        PlanOutput::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        PlanOutput::Text => print!("{}", plan.to_text()),
        PlanOutput::Compose => print!("{}", plan.to_compose()),
    }
    Ok(ExitCode::SUCCESS)
}
