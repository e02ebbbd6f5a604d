//! `enshu status [--session NAME]`: every team's hosts and whether they
//! run, and what the server refused each team (fair share), by kind, from
//! the counts it keeps in the session's store.

use std::collections::BTreeMap;
use std::process::ExitCode;

use enshu_backend::Backend;
use enshu_scenario::plan::labels;
use enshu_store::{RefusalTally, Team};
use serde::Serialize;

use super::Output;
use super::range;

#[derive(clap::Args)]
pub struct Args {
    /// Only this session (default: every Enshu session on this engine).
    #[arg(long)]
    session: Option<String>,
    /// Database URL (default: each session's SQLite file in the state directory).
    #[arg(long, env = "ENSHU_DATABASE_URL")]
    database: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

/// Refusals by kind, then reason (`rate`, `quota`, `concurrent`, ...).
type Refused = BTreeMap<String, BTreeMap<String, u64>>;

#[derive(Debug, Default, PartialEq, Serialize)]
struct SessionStatus {
    teams: BTreeMap<String, TeamStatus>,
    /// Refused before a team was known (portal connections over their
    /// cap, logins from a blocked address).
    refused_without_team: Refused,
}

#[derive(Debug, Default, PartialEq, Serialize)]
struct TeamStatus {
    /// (host, running)
    hosts: Vec<(String, bool)>,
    refused: Refused,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    range::runtime()?.block_on(async {
        let backend = range::docker().await?;
        let mut filter = vec![(labels::MANAGED, "true")];
        if let Some(session) = &args.session {
            filter.push((labels::SESSION, session.as_str()));
        }
        let observed = backend.list(&filter).await?;
        let mut sessions: BTreeMap<String, SessionStatus> = BTreeMap::new();
        for container in &observed.containers {
            let label = |key: &str| container.labels.get(key).cloned().unwrap_or_default();
            sessions
                .entry(label(labels::SESSION))
                .or_default()
                .teams
                .entry(label(labels::TEAM))
                .or_default()
                .hosts
                .push((label(labels::HOST), container.running));
        }
        for (name, status) in &mut sessions {
            match stored_refusals(name, args.database.as_deref()).await {
                Ok(Some((teams, tallies))) => add_refusals(status, &teams, &tallies),
                Ok(None) => {}
                Err(error) => eprintln!("session {name}: refusal counts not read: {error:#}"),
            }
        }
        match args.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&sessions)?),
            Output::Text => print!("{}", render(&sessions)),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The session's teams and refusal counts, or none when it has no store yet.
async fn stored_refusals(
    session: &str,
    database: Option<&str>,
) -> anyhow::Result<Option<(Vec<Team>, Vec<RefusalTally>)>> {
    let Some(store) = super::serve::open_existing_store(session, database).await? else {
        return Ok(None);
    };
    let Some(stored) = store.session_by_name(session).await? else {
        store.close().await;
        return Ok(None);
    };
    let teams = store.teams(stored.id).await?;
    let tallies = store.refusals(stored.id).await?;
    store.close().await;
    Ok(Some((teams, tallies)))
}

/// Puts each count under its team's name (as the containers are labelled).
fn add_refusals(status: &mut SessionStatus, teams: &[Team], tallies: &[RefusalTally]) {
    for tally in tallies {
        let refused = match tally
            .team
            .and_then(|index| teams.iter().find(|team| team.team_index == index))
        {
            Some(team) => &mut status.teams.entry(team.name.clone()).or_default().refused,
            None => &mut status.refused_without_team,
        };
        *refused
            .entry(tally.kind.clone())
            .or_default()
            .entry(tally.reason.clone())
            .or_default() += tally.count;
    }
}

fn render(sessions: &BTreeMap<String, SessionStatus>) -> String {
    use std::fmt::Write as _;
    let mut text = String::new();
    if sessions.is_empty() {
        text.push_str("no Enshu ranges on this engine\n");
    }
    for (session, status) in sessions {
        let _ = writeln!(text, "session {session}");
        for (team, team_status) in &status.teams {
            let hosts = &team_status.hosts;
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
            let _ = writeln!(
                text,
                "  {team}: {running}/{} hosts running{detail}",
                hosts.len()
            );
            if !team_status.refused.is_empty() {
                let _ = writeln!(text, "    refused: {}", refused_line(&team_status.refused));
            }
        }
        if !status.refused_without_team.is_empty() {
            let _ = writeln!(
                text,
                "  refused before a team was known: {}",
                refused_line(&status.refused_without_team)
            );
        }
    }
    text
}

/// `answer 42 (rate 40, quota 2), read 3 (rate 3)`
fn refused_line(refused: &Refused) -> String {
    refused
        .iter()
        .map(|(kind, reasons)| {
            let total: u64 = reasons.values().sum();
            let detail: Vec<String> = reasons
                .iter()
                .map(|(reason, count)| format!("{reason} {count}"))
                .collect();
            format!("{kind} {total} ({})", detail.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(team: Option<u32>, kind: &str, reason: &str, count: u64) -> RefusalTally {
        RefusalTally {
            team,
            kind: kind.to_owned(),
            reason: reason.to_owned(),
            count,
        }
    }

    fn team(index: u32, name: &str) -> Team {
        Team {
            session: enshu_store::SessionId(1),
            team_index: index,
            name: name.to_owned(),
            token_hash: "0".repeat(64),
        }
    }

    #[test]
    fn each_teams_refusals_are_shown_by_kind_under_its_hosts() {
        let mut sessions = BTreeMap::new();
        let mut status = SessionStatus::default();
        for (team_name, host, running) in [("t01", "dc01", true), ("t02", "dc01", false)] {
            status
                .teams
                .entry(team_name.to_owned())
                .or_default()
                .hosts
                .push((host.to_owned(), running));
        }
        add_refusals(
            &mut status,
            &[team(1, "t01"), team(2, "t02")],
            &[
                tally(None, "portal_connection", "per_address", 7),
                tally(Some(1), "answer", "quota", 2),
                tally(Some(1), "answer", "rate", 40),
                tally(Some(1), "read", "rate", 3),
            ],
        );
        sessions.insert("s1".to_owned(), status);
        assert_eq!(
            render(&sessions),
            "session s1\n  t01: 1/1 hosts running\n    refused: answer 42 (quota 2, rate 40), read 3 (rate 3)\n  \
             t02: 0/1 hosts running — stopped: dc01\n  refused before a team was known: portal_connection 7 (per_address 7)\n"
        );
        let json = serde_json::to_value(&sessions).unwrap();
        assert_eq!(json["s1"]["teams"]["t01"]["refused"]["answer"]["rate"], 40);
        assert_eq!(json["s1"]["teams"]["t01"]["hosts"][0][0], "dc01");
        assert_eq!(json["s1"]["teams"]["t02"]["refused"], serde_json::json!({}));
        assert_eq!(
            json["s1"]["refused_without_team"]["portal_connection"]["per_address"],
            7
        );
    }
}
