//! `enshu token revoke --session NAME --team N`: the instructor revokes a
//! team's portal token (a token that leaked to another team, a trainee who
//! left). The session state counts the revocation, so the team's token is
//! derived anew and the old one never returns; a running `enshu serve`
//! replaces it in its store through the instructor API at once and ends
//! the team's logins, and one started later replaces it at its start.

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::json;

use super::Output;
use super::instructor::Client;
use super::range;
use super::session_state::SessionState;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TokenVerb {
    /// Replace the team's portal token with a new one and end its logins.
    Revoke,
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    action: TokenVerb,
    #[arg(long)]
    session: String,
    /// The team (1, 2, …) whose token is revoked.
    #[arg(long)]
    team: u32,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let TokenVerb::Revoke = args.action;
    let mut state = SessionState::load(&args.session)?;
    let plan = state.plan()?;
    let team = plan
        .teams
        .iter()
        .find(|team| team.index == args.team)
        .with_context(|| {
            format!(
                "session {:?} has no team {} (it has {})",
                args.session,
                args.team,
                plan.teams.len()
            )
        })?;
    *state
        .token_revocations
        .entry(team.name.clone())
        .or_insert(0) += 1;
    state.save()?;
    let token = state.portal_token(&team.name);
    // A server that runs takes the new token now; without one, `serve`
    // takes it when it starts.
    let applied = match Client::for_session(&args.session) {
        Ok(client) => range::runtime()?
            .block_on(client.post(
                &format!("/api/instructor/teams/{}/token", team.index),
                json!({ "token": token }),
            ))
            .map(|_| ())
            .map_err(|error| format!("{error:#}")),
        Err(error) => Err(format!("{error:#}")),
    };
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "team": team.name,
                "portal_token": token,
                "server_updated": applied.is_ok(),
            }))?
        ),
        Output::Text => {
            println!(
                "team {}: the old portal token is revoked; new portal token {token}",
                team.name
            );
            match &applied {
                Ok(()) => println!("the running server took it: the team's logins ended"),
                Err(reason) => println!(
                    "no running server took it ({reason}); `enshu serve` takes it when it starts"
                ),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
