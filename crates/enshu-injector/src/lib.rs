//! The injector: plays the attack into each team's range and records what
//! it did as ground truth.
//!
//! # Layout
//! - [`schedule`] (pure): which injects are due, from the plan, the fired
//!   and held sets of the log, objective outcomes and the team's exercise
//!   time; a restart neither re-fires nor skips.
//! - [`artefact`]: harmless, reversible host artefacts (file, log line,
//!   process, cron line, user, defaced page with its golden copy, renamed
//!   "encrypted" files) planted through the [`enshu_backend::Backend`].
//! - [`traffic`]: bounded generators run inside the target container with
//!   its own network stack, behind an egress guard.
//! - [`message`]: messages to the team, recorded as rendered; a `mail`
//!   message also delivered into the team's mailbox when the scenario has
//!   a `mail` block.
//! - [`mail`]: mail by SMTP from a host of the range through the relays
//!   into the team's mailbox, followed hop by hop in the mail logs (the
//!   SOC's messages, phishing `mail` injects).
//! - [`replay`] (pure): the `enshu-replay` command that plays a capture from
//!   the target's network namespace, guarded to the team's networks.
//!
//! The pure modules hold the decisions (when, what command, pass or fail)
//! so they are tested without containers; the I/O modules are thin and are
//! tested against the recording fake, then once end to end against Docker
//! (`tests/docker_quickstart.rs`).
//!
//! The exercise clock is `enshu-clock`'s; the automatic checks, which
//! observe the defence rather than play the attack, are `enshu-engine`'s.
//!
//! This crate does not name the store: the caller (`enshu-engine`) turns a
//! [`FiredInject`] into the log's `InjectFired { inject, target, ground_truth }`.

#![forbid(unsafe_code)]

pub mod artefact;
pub mod mail;
pub mod message;
pub mod replay;
pub mod schedule;
pub mod shell;
pub mod traffic;

use std::collections::BTreeMap;

use enshu_backend::Backend;
use enshu_scenario::model::Action;
use enshu_scenario::net::Ipv4Net;
use enshu_scenario::plan::{PlannedInject, TeamPlan};
use serde_json::{Value, json};

pub use schedule::{DueInject, ScheduleState, due};

/// An inject that fired: what the event log records.
#[derive(Debug, Clone, PartialEq)]
pub struct FiredInject {
    pub inject: String,
    /// The reference it was aimed at, e.g. `office/pc01`.
    pub target: String,
    pub ground_truth: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("inject {inject}: {source}")]
    Artefact {
        inject: String,
        // Boxed: an artefact error carries Docker's message and would make
        // every `Result` of this crate large.
        source: Box<artefact::ArtefactError>,
    },
    #[error(transparent)]
    Traffic(#[from] traffic::TrafficError),
    #[error("inject {inject}: target {target} is not a host of team {team}")]
    NoSuchHost {
        inject: String,
        target: String,
        team: String,
    },
    #[error("inject {inject}: {source}")]
    Mail {
        inject: String,
        source: Box<mail::MailError>,
    },
    #[error("inject {inject}: the scenario has no `mail` block to deliver a mail into")]
    NoMailbox { inject: String },
    #[error("inject {inject}: {host} is not a hop of the scenario's mail chain")]
    NotOnTheWay { inject: String, host: String },
    #[error("inject {inject}: capture replay is played by the replay service, not the injector")]
    ReplayNotHere { inject: String },
}

/// Every `segment/host` and `segment` of the team, resolved to its address
/// or subnet: fills `{{...}}` in artefact content and log lines, which the
/// planner resolves only for messages.
pub fn references(team: &TeamPlan) -> BTreeMap<String, String> {
    let mut resolved = BTreeMap::new();
    for container in &team.containers {
        if let Some(address) = container.primary_address() {
            resolved.insert(container.reference.clone(), address.to_string());
        }
    }
    for network in &team.networks {
        resolved.insert(network.segment.clone(), network.subnet.to_string());
    }
    resolved
}

/// The team's planned networks: where its generators may send.
pub fn team_networks(team: &TeamPlan) -> Vec<Ipv4Net> {
    team.networks.iter().map(|network| network.subnet).collect()
}

/// Fire one inject of `team` now; `exercise_ms` is the team's exercise
/// time, recorded in the ground truth, and `speed` its clock's speed
/// (traffic intervals are exercise time).
pub async fn fire<B: Backend>(
    backend: &B,
    team: &TeamPlan,
    inject: &PlannedInject,
    exercise_ms: u64,
    speed: u32,
) -> Result<FiredInject, InjectError> {
    let ground_truth = match &inject.action {
        Action::Artefact(planted) => {
            let host = inject
                .target
                .container
                .as_deref()
                .and_then(|name| {
                    team.containers
                        .iter()
                        .find(|container| container.name == name)
                })
                .ok_or_else(|| InjectError::NoSuchHost {
                    inject: inject.id.clone(),
                    target: inject.target.reference.clone(),
                    team: team.name.clone(),
                })?;
            artefact::plant(backend, &inject.id, planted, host, &references(team))
                .await
                .map_err(|source| InjectError::Artefact {
                    inject: inject.id.clone(),
                    source: Box::new(source),
                })?
        }
        Action::Traffic(traffic) => {
            traffic::start(backend, inject, traffic, &team_networks(team), speed).await?
        }
        Action::Message(message) => message::deliver(backend, team, &inject.id, message)
            .await
            .map_err(|source| InjectError::Mail {
                inject: inject.id.clone(),
                source: Box::new(source),
            })?,
        Action::Mail(planted) => {
            let plan = team.mail.as_ref().ok_or_else(|| InjectError::NoMailbox {
                inject: inject.id.clone(),
            })?;
            let towards;
            let plan = match &planted.to {
                Some(to) => {
                    towards = plan.towards(&to.host, &to.user).ok_or_else(|| {
                        InjectError::NotOnTheWay {
                            inject: inject.id.clone(),
                            host: to.host.clone(),
                        }
                    })?;
                    &towards
                }
                None => plan,
            };
            let outgoing = mail::phishing(&team.name, &inject.id, planted);
            let delivery = mail::deliver(backend, plan, &inject.target, &outgoing)
                .await
                .map_err(|source| InjectError::Mail {
                    inject: inject.id.clone(),
                    source: Box::new(source),
                })?;
            mail::phishing_truth(planted, &outgoing, &delivery)
        }
        Action::Replay(_) => {
            return Err(InjectError::ReplayNotHere {
                inject: inject.id.clone(),
            });
        }
    };
    tracing::info!(inject = %inject.id, team = %team.name, "inject fired");
    Ok(fired(team, inject, exercise_ms, ground_truth))
}

/// What the log records for an inject that fired: the action's own ground
/// truth plus which inject, team, target and exercise time. Every kind of
/// inject goes through here, the replays the caller starts included.
pub fn fired(
    team: &TeamPlan,
    inject: &PlannedInject,
    exercise_ms: u64,
    mut ground_truth: Value,
) -> FiredInject {
    ground_truth["inject"] = json!(inject.id);
    ground_truth["team"] = json!(team.name);
    ground_truth["target"] = json!(inject.target.reference);
    ground_truth["container"] = json!(inject.target.container);
    ground_truth["address"] = json!(inject.target.address.map(|address| address.to_string()));
    ground_truth["exercise_ms"] = json!(exercise_ms);
    FiredInject {
        inject: inject.id.clone(),
        target: inject.target.reference.clone(),
        ground_truth,
    }
}

/// One due inject's result, for the caller to record.
#[derive(Debug)]
pub struct FireAttempt {
    pub due: DueInject,
    pub result: Result<FiredInject, InjectError>,
}

/// Fire everything due for `team` at `exercise_ms`, in order, including
/// chained injects whose predecessor fires in this call and whose delay has
/// already passed (`after: {inject: beacon, delay: 0s}` fires right after
/// the beacon). The caller appends each success to the log as
/// `InjectFired` and records it in its [`ScheduleState`]. A failure is not
/// counted as fired, so it is tried again on the next call (its chain
/// waits); the caller decides whether to hold it instead. `speed` is the
/// team's clock speed (see [`fire`]).
pub async fn fire_due<B: Backend>(
    backend: &B,
    team: &TeamPlan,
    state: &ScheduleState,
    exercise_ms: u64,
    speed: u32,
) -> Vec<FireAttempt> {
    let mut working = state.clone();
    let mut attempts: Vec<FireAttempt> = Vec::new();
    // Each round fires at least one inject or stops: bounded by the plan.
    for _ in 0..=team.injects.len() {
        let due_now: Vec<DueInject> = schedule::due(&team.injects, &working, exercise_ms)
            .into_iter()
            .filter(|due| {
                !attempts
                    .iter()
                    .any(|attempt| attempt.due.inject == due.inject)
            })
            .collect();
        if due_now.is_empty() {
            break;
        }
        for due in due_now {
            let Some(inject) = team.injects.iter().find(|inject| inject.id == due.inject) else {
                continue;
            };
            let result = fire(backend, team, inject, exercise_ms, speed).await;
            match &result {
                Ok(_) => working.record_fired(&inject.id, exercise_ms),
                // The caller's replay service plays captures: not a failure.
                Err(InjectError::ReplayNotHere { .. }) => {}
                Err(error) => {
                    tracing::warn!(inject = %inject.id, team = %team.name, "inject failed: {error}")
                }
            }
            attempts.push(FireAttempt { due, result });
        }
    }
    attempts
}

#[cfg(test)]
mod tests {
    use enshu_backend::ExecOutput;
    use enshu_backend::fake::{Call, ExecScript, FakeBackend};
    use enshu_scenario::{NoFiles, PlanOptions};

    use super::*;

    fn quickstart_team() -> TeamPlan {
        let bytes = include_bytes!("../../../scenarios/quickstart.yaml");
        let loaded = enshu_scenario::load("quickstart.yaml", bytes).unwrap();
        let options = PlanOptions {
            session: "unit".into(),
            teams: 1,
            pool: Some("10.224.0.0/12".parse().unwrap()),
            files: &NoFiles,
        };
        enshu_scenario::plan(&loaded, &options)
            .unwrap()
            .teams
            .remove(0)
    }

    async fn running_range(team: &TeamPlan) -> FakeBackend {
        let backend = FakeBackend::new();
        for network in &team.networks {
            backend.ensure_network(network).await.unwrap();
        }
        for container in &team.containers {
            backend.create_container(container).await.unwrap();
            backend.start_container(&container.name).await.unwrap();
        }
        backend.clear_calls();
        backend
    }

    #[test]
    fn references_cover_every_host_and_segment() {
        let team = quickstart_team();
        let resolved = references(&team);
        assert_eq!(resolved["internet/c2"], "10.224.100.23");
        assert_eq!(resolved["office/pc01"], "10.224.10.101");
        assert_eq!(resolved["dmz"], "10.224.20.0/24");
        assert_eq!(team_networks(&team).len(), 3);
    }

    #[tokio::test]
    async fn the_quickstart_plays_tick_by_tick_without_firing_twice() {
        let team = quickstart_team();
        let backend = running_range(&team).await;
        let mut state = ScheduleState::default();
        let mut fired_order = Vec::new();
        // A controller ticking every 10 s of exercise time, persisting as it goes.
        for tick in 0..=20u64 {
            let now = tick * 10_000;
            for attempt in fire_due(&backend, &team, &state, now, 1).await {
                let fired = attempt
                    .result
                    .unwrap_or_else(|error| panic!("{}: {error}", attempt.due.inject));
                assert_eq!(fired.ground_truth["exercise_ms"], now);
                state.record_fired(&fired.inject, now);
                fired_order.push((fired.inject, now));
            }
        }
        assert_eq!(
            fired_order,
            [
                ("beacon".to_string(), 60_000),
                ("dropper".to_string(), 60_000),
                ("persistence".to_string(), 70_000),
                ("deface".to_string(), 120_000),
                ("deface-log".to_string(), 120_000),
                ("soc-alert".to_string(), 180_000),
            ]
        );
        // One exec starts the beacon, in pc01; nothing is ever fired again.
        let beacon_execs = backend
            .calls()
            .iter()
            .filter(|call| matches!(call, Call::Exec(container, command) if container.ends_with("-pc01") && command[3] == "enshu-launch"))
            .count();
        assert_eq!(beacon_execs, 1);
        backend.clear_calls();
        assert!(
            fire_due(&backend, &team, &state, 10_000_000, 1)
                .await
                .is_empty()
        );
        assert!(backend.calls().is_empty());
    }

    #[tokio::test]
    async fn an_inject_on_a_missing_host_is_an_error() {
        let mut team = quickstart_team();
        team.containers
            .retain(|container| container.hostname != "pc01");
        let backend = FakeBackend::new();
        let dropper = team
            .injects
            .iter()
            .find(|inject| inject.id == "dropper")
            .unwrap()
            .clone();
        let error = fire(&backend, &team, &dropper, 0, 1).await.unwrap_err();
        assert!(matches!(error, InjectError::NoSuchHost { .. }), "{error}");
    }

    fn mail_team() -> TeamPlan {
        let bytes = include_bytes!("../../enshu-scenario/tests/fixtures/valid/mail-alpha.yaml");
        let loaded = enshu_scenario::load("mail-alpha.yaml", bytes).unwrap();
        let options = PlanOptions {
            session: "unit".into(),
            teams: 1,
            pool: Some("10.224.0.0/12".parse().unwrap()),
            files: &NoFiles,
        };
        enshu_scenario::plan(&loaded, &options)
            .unwrap()
            .teams
            .remove(0)
    }

    fn answer(container: &str, program: &str, exit_code: i64, stdout: &str) -> ExecScript {
        ExecScript {
            container: container.to_string(),
            argument: program.to_string(),
            delay: std::time::Duration::ZERO,
            answer: Ok(ExecOutput {
                exit_code,
                stdout: stdout.as_bytes().to_vec(),
                stderr: Vec::new(),
            }),
        }
    }

    const HOPS: [&str; 4] = ["sc-mail", "imail", "san01", "lgmail"];

    fn container_of(team: &TeamPlan, host: &str) -> String {
        team.containers
            .iter()
            .find(|container| container.hostname == host)
            .unwrap()
            .name
            .clone()
    }

    /// With a `mail` block, a mail message is delivered or the inject
    /// fails: a hop whose log never shows it sent is a failure, not a
    /// message left to the portal.
    #[tokio::test]
    async fn a_mail_message_without_a_delivery_line_fails_the_inject() {
        let team = mail_team();
        let backend = running_range(&team).await;
        let soc = team
            .injects
            .iter()
            .find(|inject| inject.id == "soc-alert")
            .unwrap();
        let error = fire(&backend, &team, soc, 300_000, 1).await.unwrap_err();
        assert!(matches!(error, InjectError::Mail { .. }), "{error}");
        assert!(
            error
                .to_string()
                .contains("was not passed on by seccloud/sc-mail"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_mail_goes_from_the_sender_through_every_hop_in_order() {
        let team = mail_team();
        let backend = running_range(&team).await;
        for (index, host) in HOPS.into_iter().enumerate() {
            let line = format!(
                "{host} postfix/smtp[1]: Q{index}: to=<team@city.saida.lg.jp>, status=sent (250 2.0.0 Ok: queued as Q{})",
                index + 1
            );
            backend.script_exec(answer(
                &container_of(&team, host),
                mail::TRACE_PROGRAM,
                0,
                &serde_json::json!({"queue_id": format!("Q{index}"), "status": "sent", "line": line}).to_string(),
            ));
        }
        backend.script_exec(answer(
            &container_of(&team, "attacker"),
            mail::SEND_PROGRAM,
            0,
            r#"{"reply": "250 2.0.0 Ok: queued as Q0", "queue_id": "Q0"}"#,
        ));
        let phish = team
            .injects
            .iter()
            .find(|inject| inject.id == "phish")
            .unwrap();
        let fired = fire(&backend, &team, phish, 60_000, 1).await.unwrap();
        let truth = &fired.ground_truth;
        assert_eq!(truth["delivered"], "mailbox");
        assert_eq!(truth["mail"]["sender"], "internet/attacker");
        assert_eq!(truth["mail"]["accepted"], "250 2.0.0 Ok: queued as Q0");
        assert_eq!(truth["mail"]["hops"].as_array().unwrap().len(), 4);
        assert_eq!(
            truth["attachment"]["sha256"],
            shell::sha256_hex("harmless stand-in\n".as_bytes())
        );
        // Every hop greets first, then one send from the attacker, then
        // the trace through the hops in order.
        let execs: Vec<(String, &str)> = backend
            .calls()
            .into_iter()
            .filter_map(|call| match call {
                Call::Exec(container, command) => {
                    let what = if command.iter().any(|word| word == mail::LISTENING_PROGRAM) {
                        "listening"
                    } else if command.iter().any(|word| word == mail::SEND_PROGRAM) {
                        "send"
                    } else if command.iter().any(|word| word == mail::TRACE_PROGRAM) {
                        "trace"
                    } else {
                        "other"
                    };
                    Some((container, what))
                }
                _ => None,
            })
            .collect();
        let expected: Vec<(String, &str)> = HOPS
            .iter()
            .map(|host| (container_of(&team, host), "listening"))
            .chain([(container_of(&team, "attacker"), "send")])
            .chain(HOPS.iter().map(|host| (container_of(&team, host), "trace")))
            .collect();
        assert_eq!(execs, expected);
    }

    #[tokio::test]
    async fn a_deferring_hop_fails_the_inject_and_loses_its_copy() {
        let team = mail_team();
        let backend = running_range(&team).await;
        backend.script_exec(answer(
            &container_of(&team, "sc-mail"),
            mail::TRACE_PROGRAM,
            0,
            r#"{"queue_id": "Q0", "status": "sent", "line": "sent on"}"#,
        ));
        backend.script_exec(answer(
            &container_of(&team, "imail"),
            mail::TRACE_PROGRAM,
            3,
            r#"{"queue_id": "Q1", "status": "deferred", "line": "Q1: to=<team@city.saida.lg.jp>, status=deferred (connect to 10.224.25.2[10.224.25.2]:25: Connection refused)"}"#,
        ));
        let soc = team
            .injects
            .iter()
            .find(|inject| inject.id == "soc-alert")
            .unwrap();
        let error = fire(&backend, &team, soc, 300_000, 1).await.unwrap_err();
        assert!(
            error.to_string().contains("stopped at inet/imail: status=deferred (connect to 10.224.25.2[10.224.25.2]:25: Connection refused); removed from its queue"),
            "{error}"
        );
        let imail = container_of(&team, "imail");
        assert!(backend.calls().iter().any(|call| matches!(call,
            Call::Exec(container, command) if *container == imail && command.ends_with(&["postsuper".to_string(), "-d".to_string(), "Q1".to_string()]))));
        // Nothing is traced past the hop that stopped it.
        let san01 = container_of(&team, "san01");
        assert!(!backend.calls().iter().any(|call| matches!(call,
            Call::Exec(container, command) if *container == san01 && command.iter().any(|word| word == mail::TRACE_PROGRAM))));
    }
}
