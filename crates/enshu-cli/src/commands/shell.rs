//! `enshu shell --session NAME --team N [--host H]`: an instructor's shell
//! in any host of any team (the team's way-in host by default: the analyst
//! workstation unless the scenario names another).

use std::process::ExitCode;

use anyhow::Context as _;

use super::session_state::SessionState;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    session: String,
    /// Team number (1-based).
    #[arg(long)]
    team: u32,
    /// Host name in the scenario (default: the team's way-in host).
    #[arg(long)]
    host: Option<String>,
    /// Command to run instead of an interactive shell.
    #[arg(last = true)]
    command: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let plan = SessionState::load(&args.session)?.plan()?;
    let team = plan
        .teams
        .iter()
        .find(|team| team.index == args.team)
        .with_context(|| format!("session {} has teams 1-{}", args.session, plan.teams.len()))?;
    let container = match &args.host {
        Some(host) => team
            .containers
            .iter()
            .find(|container| &container.hostname == host)
            .with_context(|| {
                let names: Vec<&str> = team
                    .containers
                    .iter()
                    .map(|container| container.hostname.as_str())
                    .collect();
                format!(
                    "team {} has no host {host:?} (hosts: {})",
                    team.name,
                    names.join(", ")
                )
            })?,
        None => team
            .containers
            .iter()
            .find(|container| container.name == team.way_in.container)
            .context("the plan's way-in host is not among the team's containers")?,
    };
    let mut command = std::process::Command::new("docker");
    command.arg("exec");
    if args.command.is_empty() {
        command.args(["-it", &container.name, "bash", "-l"]);
    } else {
        command.arg(&container.name).args(&args.command);
    }
    let status = command
        .status()
        .context("running docker exec (is the docker CLI installed?)")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8)
    })
}
