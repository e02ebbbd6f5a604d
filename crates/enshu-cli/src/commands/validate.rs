//! `enshu validate FILE...`: every problem in every file, then a summary.

use std::path::PathBuf;
use std::process::ExitCode;

use enshu_scenario::{Context, Diagnostic};

use super::Output;
use super::files::{DiskFiles, load_scenario};

#[derive(clap::Args)]
pub struct Args {
    /// Scenario files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Also check that the address pool holds this many teams.
    #[arg(long)]
    teams: Option<u32>,
    /// Address pool to check instead of the scenario's own (CIDR).
    #[arg(long)]
    pool: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let pool_override = match &args.pool {
        Some(text) => Some(
            text.parse()
                .map_err(|message: String| anyhow::anyhow!("--pool: {message}"))?,
        ),
        None => None,
    };
    let mut all: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    for path in &args.files {
        let diagnostics = match load_scenario(path) {
            Err(diagnostics) => diagnostics,
            Ok(loaded) => {
                let files = DiskFiles::beside(path);
                let context = Context {
                    teams: args.teams,
                    pool_override,
                    files: &files,
                };
                enshu_scenario::validate(&loaded, &context)
            }
        };
        all.push((path.display().to_string(), diagnostics));
    }
    let errors: usize = all
        .iter()
        .map(|(_, list)| list.iter().filter(|d| d.is_error()).count())
        .sum();
    let warnings: usize = all
        .iter()
        .map(|(_, list)| list.iter().filter(|d| !d.is_error()).count())
        .sum();
    match args.output {
        Output::Json => {
            let files: Vec<serde_json::Value> = all
                .iter()
                .map(|(file, diagnostics)| {
                    serde_json::json!({
                        "file": file,
                        "ok": !diagnostics.iter().any(Diagnostic::is_error),
                        "diagnostics": diagnostics,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({ "errors": errors, "warnings": warnings, "files": files })
                )?
            );
        }
        Output::Text => {
            for (file, diagnostics) in &all {
                for diagnostic in diagnostics {
                    eprint!("{diagnostic}");
                }
                if !diagnostics.iter().any(Diagnostic::is_error) {
                    println!("{file}: ok");
                }
            }
            if errors > 0 || warnings > 0 {
                eprintln!(
                    "{errors} error(s), {warnings} warning(s) in {} file(s)",
                    all.len()
                );
            }
        }
    }
    // A file that cannot be read is an error (1); one read and refused, 3.
    Ok(
        if args
            .files
            .iter()
            .any(|path| std::fs::File::open(path).is_err())
        {
            ExitCode::FAILURE
        } else if errors > 0 {
            super::refused()
        } else {
            ExitCode::SUCCESS
        },
    )
}
