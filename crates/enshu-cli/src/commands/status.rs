//! `enshu status [--session NAME]`: every team's hosts and whether they run.

use std::collections::BTreeMap;
use std::process::ExitCode;

use enshu_backend::Backend;
use enshu_scenario::plan::labels;

use super::Output;
use super::range;

#[derive(clap::Args)]
pub struct Args {
    /// Only this session (default: every Enshu session on this engine).
    #[arg(long)]
    session: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    range::runtime()?.block_on(async {
        let backend = range::docker().await?;
        let mut filter = vec![(labels::MANAGED, "true")];
        if let Some(session) = &args.session {
            filter.push((labels::SESSION, session.as_str()));
        }
        let observed = backend.list(&filter).await?;
        // session → team → [(host, running)]
        let mut tree: BTreeMap<String, BTreeMap<String, Vec<(String, bool)>>> = BTreeMap::new();
        for container in &observed.containers {
            let label = |key: &str| container.labels.get(key).cloned().unwrap_or_default();
            tree.entry(label(labels::SESSION))
                .or_default()
                .entry(label(labels::TEAM))
                .or_default()
                .push((label(labels::HOST), container.running));
        }
        match args.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&tree)?),
            Output::Text => {
                if tree.is_empty() {
                    println!("no Enshu ranges on this engine");
                }
                for (session, teams) in &tree {
                    println!("session {session}");
                    for (team, hosts) in teams {
                        let running = hosts.iter().filter(|(_, running)| *running).count();
                        let stopped: Vec<&str> = hosts
                            .iter()
                            .filter(|(_, running)| !running)
                            .map(|(host, _)| host.as_str())
                            .collect();
                        let detail = if stopped.is_empty() {
                            String::new()
                        } else {
                            format!(" — stopped: {}", stopped.join(", "))
                        };
                        println!("  {team}: {running}/{} hosts running{detail}", hosts.len());
                    }
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
