//! Each team's one way in, as `serve` opens it and `credentials` prints
//! it: host port `base + team - 1` is the team's door in Enshu's SSH
//! bastion (`enshu_server::bastion`), which opens the session on the
//! team's way-in host (the plan's `way_in`: the analyst workstation unless
//! the scenario names another) with the way-in user and the team's
//! password.

use std::process::ExitCode;

use super::Output;
use super::range;
use super::session_state::SessionState;

/// One team's way in.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub team: String,
    pub port: u16,
    pub host: String,
    pub user: String,
    pub password: String,
    #[serde(skip)]
    pub index: u32,
}

pub fn entries(state: &SessionState, base_port: u16) -> anyhow::Result<Vec<Entry>> {
    let plan = state.plan()?;
    Ok(plan
        .teams
        .iter()
        .map(|team| Entry {
            team: team.name.clone(),
            port: base_port + team.index as u16 - 1,
            host: team.way_in.hostname.clone(),
            user: team.way_in.user.clone(),
            password: state.team_password(&team.name),
            index: team.index,
        })
        .collect())
}

#[derive(clap::Args)]
pub struct CredentialsArgs {
    #[arg(long)]
    session: String,
    #[arg(long, default_value_t = 2201)]
    base_port: u16,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

/// `enshu credentials --session NAME`: what to hand each team (SSH port,
/// user and password, portal token, the SSH host keys' fingerprints of its
/// way in and of every host it may log in to) and the instructor's token.
/// Without Docker the fingerprints are left out, with a warning.
pub fn credentials(args: CredentialsArgs) -> anyhow::Result<ExitCode> {
    let state = SessionState::load(&args.session)?;
    let entries = entries(&state, args.base_port)?;
    let plan = state.plan()?;
    // What a trainee's `ssh -p PORT` sees first: the bastion's key.
    let bastion_key = enshu_server::bastion::kept_host_key(
        &super::session_state::bastion_host_key(&args.session),
    )?;
    let bastion_key = serde_json::json!({
        "host": "bastion",
        "algorithm": bastion_key.algorithm().as_str(),
        "fingerprint": enshu_server::bastion::host_key_fingerprint(&bastion_key),
    });
    let host_keys = range::runtime()?.block_on(async {
        match range::docker().await {
            Ok(backend) => Some(super::host_keys::team_host_keys(&backend, &plan).await),
            Err(error) => {
                eprintln!("warning: no SSH host-key fingerprints: {error:#}");
                None
            }
        }
    });
    let teams: Vec<serde_json::Value> = entries
        .iter()
        .zip(&plan.teams)
        .map(|(entry, team)| {
            let mut keys = vec![bastion_key.clone()];
            if let Some(found) = host_keys.as_ref().and_then(|keys| keys.get(&team.index)) {
                keys.extend(found.iter().map(|key| serde_json::json!(key)));
            }
            serde_json::json!({
                "team": entry.team, "ssh_port": entry.port, "user": entry.user,
                "password": entry.password, "portal_token": state.portal_token(&entry.team),
                "host_keys": keys,
            })
        })
        .collect();
    match args.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"instructor_token": state.derive("instructor", ""), "teams": teams})
            )?
        ),
        Output::Text => {
            println!("instructor token: {}", state.derive("instructor", ""));
            for team in &teams {
                println!(
                    "{}  ssh -p {} {}@<host>  password {}  portal token {}",
                    team["team"].as_str().unwrap_or_default(),
                    team["ssh_port"],
                    team["user"].as_str().unwrap_or_default(),
                    team["password"].as_str().unwrap_or_default(),
                    team["portal_token"].as_str().unwrap_or_default()
                );
                for key in team["host_keys"].as_array().into_iter().flatten() {
                    println!(
                        "    host key {:<20} {:<20} {}",
                        key["host"].as_str().unwrap_or_default(),
                        key["algorithm"].as_str().unwrap_or_default(),
                        key["fingerprint"].as_str().unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
