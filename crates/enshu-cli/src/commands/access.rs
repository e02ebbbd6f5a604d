//! `enshu access --session NAME`: each team's one way in. Host port
//! `base + team - 1` forwards to SSH on the team's way-in host (the plan's
//! `way_in`: the analyst workstation unless the scenario names another),
//! through a
//! connection opened inside that container's own network namespace (the
//! host has no route into any range). Prints every team's credentials.

use std::process::ExitCode;

use anyhow::Context as _;
use enshu_docker::DockerBackend;

use super::Output;
use super::range;
use super::session_state::SessionState;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    session: String,
    /// Address to listen on (the venue's network).
    #[arg(long, default_value = "0.0.0.0")]
    bind: String,
    /// Port of team 1; team N listens on base + N - 1.
    #[arg(long, default_value_t = 2201)]
    base_port: u16,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

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
    #[serde(skip)]
    pub container: String,
    /// The port sshd listens on in the way-in container.
    #[serde(skip)]
    pub inside_port: u16,
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
            container: team.way_in.container.clone(),
            inside_port: team.way_in.port,
        })
        .collect())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let state = SessionState::load(&args.session)?;
    let entries = entries(&state, args.base_port)?;
    range::runtime()?.block_on(async {
        let backend = range::docker().await?;
        let mut listeners = Vec::new();
        for entry in &entries {
            let listener = tokio::net::TcpListener::bind((args.bind.as_str(), entry.port))
                .await
                .with_context(|| {
                    format!(
                        "listening on {}:{} for team {}",
                        args.bind, entry.port, entry.team
                    )
                })?;
            listeners.push((listener, entry.clone()));
        }
        match args.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
            Output::Text => {
                println!("team  way in                     user     password");
                for entry in &entries {
                    println!(
                        "{:<5} ssh -p {:<5} {}@<this host>  {:<8} {}",
                        entry.team, entry.port, entry.user, entry.user, entry.password
                    );
                }
                println!("forwarding; Ctrl-C to stop");
            }
        }
        let fair_share =
            std::sync::Arc::new(enshu_server::fair_share::FairShare::new(Default::default()));
        serve_access(backend, listeners, fair_share, std::future::pending()).await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Forward every accepted connection to sshd on the team's way-in host
/// until `shutdown` completes. Each connection first takes its place in
/// the team's way in (`FairShare::admit_way_in`: a cap on connections
/// open at once per client address and in all, and a rate of new ones per
/// address), so no client, another team's included, can take every place;
/// a refused one is closed at once and counted for the instructor.
pub async fn serve_access(
    backend: DockerBackend,
    listeners: Vec<(tokio::net::TcpListener, Entry)>,
    fair_share: std::sync::Arc<enshu_server::fair_share::FairShare>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (listener, entry) in listeners {
        let backend = backend.clone();
        let fair_share = fair_share.clone();
        tasks.spawn(async move {
            loop {
                let Ok((mut client, peer)) = listener.accept().await else {
                    // Out of descriptors or the like: do not spin.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let permit = match fair_share.admit_way_in(entry.index, peer.ip()) {
                    Ok(permit) => permit,
                    Err(refusal) => {
                        tracing::debug!(team = %entry.team, %peer, ?refusal, "way-in connection refused");
                        drop(client);
                        continue;
                    }
                };
                let backend = backend.clone();
                let entry = entry.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match backend.connect_inside(&entry.container, entry.inside_port).await {
                        Ok(mut inside) => {
                            tracing::info!(team = %entry.team, %peer, "trainee connected");
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut inside).await;
                        }
                        Err(error) => tracing::warn!(team = %entry.team, %peer, "cannot reach the way-in host: {error}"),
                    }
                });
            }
        });
    }
    shutdown.await;
    tasks.abort_all();
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
            let keys = host_keys.as_ref().and_then(|keys| keys.get(&team.index));
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
