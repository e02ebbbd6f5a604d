//! Applying the diff: per team its networks, then every container's
//! pipeline (remove → create → start → configure); teams side by side,
//! with one bound on the containers in flight. Each step is timed, so that
//! `up` can say where its time went.
//!
//! A failure never stops the other containers' pipelines; every failure is
//! reported with its team, host and the runtime's own message. The caller
//! decides whether to roll back (`enshu up` does, unless told to keep).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use enshu_backend::{Backend, BackendError, ContainerSpec, ExecPrivilege};
use enshu_scenario::plan::{Plan, labels};

use crate::diff::{Step, diff, with_hash};

/// What the caller hears while `up` runs (for progress bars).
#[derive(Debug, Clone)]
pub enum Progress {
    /// The work each team will do.
    Planned {
        team: String,
        steps: usize,
    },
    StepDone {
        team: String,
        step: Step,
    },
    StepFailed {
        team: String,
        step: Step,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum UpError {
    #[error("observing session {session:?}: {source}")]
    Observe {
        session: String,
        source: BackendError,
    },
    #[error("{} step(s) failed; first: team {} host {}: {}", .failures.len(), .failures[0].team, .failures[0].host, .failures[0].message)]
    Steps { failures: Vec<StepFailure> },
}

#[derive(Debug, Clone)]
pub struct StepFailure {
    pub team: String,
    pub host: String,
    pub step: Step,
    pub message: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UpReport {
    pub steps: Vec<Step>,
    pub seconds: f64,
    /// By step kind (`create_container`, …) plus `observe`.
    pub phases: BTreeMap<&'static str, PhaseTime>,
}

/// Bring the session's ranges to the plan. Re-running converges.
pub async fn up<B: Backend>(
    backend: &B,
    plan: &Plan,
    concurrency: usize,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<UpReport, UpError> {
    let started = Instant::now();
    let observed = backend
        .list(&[(labels::SESSION, plan.session.as_str())])
        .await
        .map_err(|source| UpError::Observe {
            session: plan.session.clone(),
            source,
        })?;
    let mut steps = diff(plan, &observed);
    let held = crate::backup::observe_held(backend, plan, &observed).await;
    steps.extend(crate::backup::backup_steps(plan, &held, &steps));
    let sensors = crate::sensor::observe(backend, plan)
        .await
        .map_err(|source| UpError::Observe {
            session: plan.session.clone(),
            source,
        })?;
    steps.extend(crate::sensor::sensor_steps(plan, sensors.as_ref(), &steps));
    let mut per_team: BTreeMap<&str, usize> = BTreeMap::new();
    for step in &steps {
        *per_team.entry(step.team()).or_default() += 1;
    }
    for (team, count) in &per_team {
        progress(Progress::Planned {
            team: team.to_string(),
            steps: *count,
        });
    }

    let specs: BTreeMap<&str, &ContainerSpec> = plan
        .teams
        .iter()
        .flat_map(|team| team.containers.iter())
        .map(|container| (container.name.as_str(), container))
        .collect();
    let networks: BTreeMap<&str, _> = plan
        .teams
        .iter()
        .flat_map(|team| team.networks.iter())
        .map(|network| (network.name.as_str(), network))
        .collect();
    let nftables: BTreeMap<&str, &str> = plan
        .teams
        .iter()
        .map(|team| (team.name.as_str(), team.firewall.nftables.as_str()))
        .collect();

    let mut failures = Vec::new();
    let mut timings = PhaseTimings::default();
    timings.record("observe", 0.0, started.elapsed().as_secs_f64());
    let mut record = |done: TimedStep, failures: &mut Vec<StepFailure>| {
        timings.record(done.step.kind(), done.started, done.ended);
        match done.result {
            Ok(()) => progress(Progress::StepDone {
                team: done.step.team().to_string(),
                step: done.step.clone(),
            }),
            Err(error) => {
                let message = error.to_string();
                progress(Progress::StepFailed {
                    team: done.step.team().to_string(),
                    step: done.step.clone(),
                    message: message.clone(),
                });
                failures.push(StepFailure {
                    team: done.step.team().to_string(),
                    host: host_of(&done.step, &specs),
                    step: done.step,
                    message,
                });
            }
        }
    };

    // Per team: its networks, one at a time, then its containers' pipelines
    // (remove → create → start → configure), each container in order. Teams
    // run side by side and share one limit of `concurrency` containers in
    // flight, so the first team's containers are being created while later
    // teams' networks still are: network creation (≈70 ms each, 72 for
    // eight Emotet teams) no longer holds back every container.
    let mut per_team_work: BTreeMap<&str, TeamWork> = BTreeMap::new();
    for step in &steps {
        let work = per_team_work.entry(step.team()).or_default();
        match step {
            Step::CreateNetwork { .. } => work.networks.push(step),
            Step::TakeBackup { .. } => work.backups.push(step),
            Step::ConfigureSensor { .. } => work.sensor.push(step),
            Step::RemoveContainer { name, .. }
            | Step::CreateContainer { name, .. }
            | Step::StartContainer { name, .. }
            | Step::ConfigureRouter { name, .. }
            | Step::ConfigureRoute { name, .. } => {
                work.pipelines.entry(name.as_str()).or_default().push(step)
            }
        }
    }
    let containers_in_flight = tokio::sync::Semaphore::new(concurrency.max(1));
    let elapsed = || started.elapsed().as_secs_f64();
    let team_results: Vec<Vec<TimedStep>> =
        futures::future::join_all(per_team_work.into_values().map(|work| {
            let (networks_by_name, specs, nftables, containers_in_flight) =
                (&networks, &specs, &nftables, &containers_in_flight);
            async move {
                let mut done = Vec::new();
                for step in work.networks {
                    let Step::CreateNetwork { name, .. } = step else {
                        unreachable!("only network steps are in `networks`")
                    };
                    let began = elapsed();
                    let result = backend
                        .ensure_network(networks_by_name[name.as_str()])
                        .await;
                    done.push(TimedStep {
                        step: step.clone(),
                        result,
                        started: began,
                        ended: elapsed(),
                    });
                }
                let pipelines = work.pipelines.into_values().map(|pipeline| async move {
                    let _permit = containers_in_flight
                        .acquire()
                        .await
                        .expect("the semaphore is never closed");
                    let mut done = Vec::new();
                    for step in pipeline {
                        let began = elapsed();
                        let result = run_step(backend, step, specs, nftables).await;
                        let failed = result.is_err();
                        done.push(TimedStep {
                            step: step.clone(),
                            result,
                            started: began,
                            ended: elapsed(),
                        });
                        if failed {
                            break;
                        }
                    }
                    done
                });
                done.extend(
                    futures::future::join_all(pipelines)
                        .await
                        .into_iter()
                        .flatten(),
                );
                // The sensor once the team's containers run (their ports
                // exist), unless its analyst workstation did not come up.
                for step in work.sensor {
                    let began = elapsed();
                    let result = run_sensor(backend, plan, step, &done).await;
                    done.push(TimedStep {
                        step: step.clone(),
                        result,
                        started: began,
                        ended: elapsed(),
                    });
                }
                // Backups once the team's containers run: a copy whose
                // source or backup host failed to come up is not tried.
                for step in work.backups {
                    let began = elapsed();
                    let result = run_backup(backend, plan, step, &done).await;
                    done.push(TimedStep {
                        step: step.clone(),
                        result,
                        started: began,
                        ended: elapsed(),
                    });
                }
                done
            }
        }))
        .await;
    for done in team_results.into_iter().flatten() {
        record(done, &mut failures);
    }
    if failures.is_empty() {
        tracing::info!(seconds = elapsed(), phases = ?timings.phases, "up done");
        Ok(UpReport {
            steps,
            seconds: elapsed(),
            phases: timings.phases,
        })
    } else {
        Err(UpError::Steps { failures })
    }
}

/// One team's share of the steps: networks first, then one pipeline per
/// container.
#[derive(Default)]
struct TeamWork<'a> {
    networks: Vec<&'a Step>,
    pipelines: BTreeMap<&'a str, Vec<&'a Step>>,
    /// After every pipeline of the team.
    backups: Vec<&'a Step>,
    /// After every pipeline of the team, before its backups.
    sensor: Vec<&'a Step>,
}

/// A step as it ran: seconds from the start of `up`.
struct TimedStep {
    step: Step,
    result: Result<(), BackendError>,
    started: f64,
    ended: f64,
}

/// Where the time of one kind of step went, in seconds from the start of
/// `up`: phases overlap (containers start while networks are still being
/// created), so each has its own window and its summed step time.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PhaseTime {
    pub steps: usize,
    pub first_started: f64,
    pub last_ended: f64,
    /// Sum of the steps' own durations (more than the window when they overlap).
    pub busy_seconds: f64,
}

#[derive(Default)]
struct PhaseTimings {
    phases: BTreeMap<&'static str, PhaseTime>,
}

impl PhaseTimings {
    fn record(&mut self, kind: &'static str, started: f64, ended: f64) {
        let phase = self.phases.entry(kind).or_insert(PhaseTime {
            first_started: started,
            ..PhaseTime::default()
        });
        phase.steps += 1;
        phase.first_started = phase.first_started.min(started);
        phase.last_ended = phase.last_ended.max(ended);
        phase.busy_seconds += ended - started;
    }
}

fn host_of(step: &Step, specs: &BTreeMap<&str, &ContainerSpec>) -> String {
    match step {
        Step::CreateNetwork { name, .. } => format!("(network {name})"),
        Step::RemoveContainer { name, .. }
        | Step::CreateContainer { name, .. }
        | Step::StartContainer { name, .. }
        | Step::ConfigureRouter { name, .. }
        | Step::ConfigureRoute { name, .. }
        | Step::TakeBackup { name, .. }
        | Step::ConfigureSensor { name, .. } => specs
            .get(name.as_str())
            .map_or_else(|| name.clone(), |spec| spec.hostname.clone()),
    }
}

/// How long a router gets to come up before its rules are loaded.
const ROUTER_READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Loads a router's rules from inside it, where the backend cannot from
/// outside: `$1` the ruleset, base64-encoded.
const LOAD_NFTABLES_SCRIPT: &str = include_str!("../scripts/load-nftables.sh");

async fn run_step<B: Backend>(
    backend: &B,
    step: &Step,
    specs: &BTreeMap<&str, &ContainerSpec>,
    nftables: &BTreeMap<&str, &str>,
) -> Result<(), BackendError> {
    match step {
        Step::CreateNetwork { .. } => unreachable!("networks are created first"),
        Step::TakeBackup { .. } => unreachable!("backups are taken after the pipelines"),
        Step::ConfigureSensor { .. } => {
            unreachable!("the sensor is configured after the pipelines")
        }
        Step::RemoveContainer { name, .. } => match backend.remove_container(name).await {
            Err(BackendError::NotFound { .. }) => Ok(()),
            other => other,
        },
        Step::CreateContainer { name, .. } => {
            let spec = with_hash(specs[name.as_str()]);
            match backend.create_container(&spec).await {
                // A container of this name the observe did not see: an
                // earlier `up`, killed while the engine was creating it,
                // whose create finished late. Its name makes it this
                // session's; its spec is unknown: replaced.
                Err(BackendError::Conflict {
                    object: "container",
                    ..
                }) => {
                    tracing::info!(container = %name, "replacing a container created after the observe");
                    match backend.remove_container(name).await {
                        Ok(()) | Err(BackendError::NotFound { .. }) => {}
                        Err(error) => return Err(error),
                    }
                    backend.create_container(&spec).await
                }
                other => other,
            }
        }
        Step::StartContainer { name, .. } => backend.start_container(name).await,
        Step::ConfigureRouter { team, name } => {
            let ruleset = nftables[team.as_str()];
            // Straight into the router's network namespace where the
            // backend can: no waiting for the router's init, no exec.
            if backend.load_nftables(name, ruleset).await? {
                return Ok(());
            }
            let command = [
                "sh".to_string(),
                "-c".to_string(),
                LOAD_NFTABLES_SCRIPT.to_string(),
                "enshu-nftables".to_string(),
                base64_encode(ruleset.as_bytes()),
            ];
            let deadline = Instant::now() + ROUTER_READY_TIMEOUT;
            loop {
                let output = backend
                    .exec(name, &command, ExecPrivilege::Container)
                    .await?;
                if output.exit_code == 0 {
                    return Ok(());
                }
                if Instant::now() > deadline {
                    return Err(BackendError::Runtime {
                        action: "load firewall rules",
                        name: name.clone(),
                        message: format!(
                            "nft exited {}: {}",
                            output.exit_code,
                            String::from_utf8_lossy(&output.stderr).trim()
                        ),
                    });
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Step::ConfigureRoute { name, .. } => {
            let router = specs[name.as_str()]
                .default_route
                .expect("a ConfigureRoute step has a route");
            backend.set_default_route(name, router).await
        }
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(ALPHABET[(value >> (18 - 6 * index)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Take one backup, unless its source's or backup host's pipeline failed.
async fn run_backup<B: Backend>(
    backend: &B,
    plan: &Plan,
    step: &Step,
    done: &[TimedStep],
) -> Result<(), BackendError> {
    let Step::TakeBackup { name, source, .. } = step else {
        unreachable!("only backup steps are in `backups`")
    };
    let Some((backup, source)) = crate::backup::find_source(plan, name, source) else {
        return Err(BackendError::Runtime {
            action: "take a backup",
            name: name.clone(),
            message: format!("the plan has no backup of {source} on it"),
        });
    };
    let failed_before = done.iter().any(|timed| {
        timed.result.is_err()
            && matches!(host_name(&timed.step), Some(container) if container == backup.container || container == source.container)
    });
    if failed_before {
        return Err(BackendError::Runtime {
            action: "take a backup",
            name: name.clone(),
            message: format!(
                "{} or {} did not come up",
                backup.reference, source.reference
            ),
        });
    }
    crate::backup::take_backup(backend, backup, source).await
}

/// Configure a team's sensor, unless its analyst workstation's pipeline failed.
async fn run_sensor<B: Backend>(
    backend: &B,
    plan: &Plan,
    step: &Step,
    done: &[TimedStep],
) -> Result<(), BackendError> {
    let Step::ConfigureSensor { team, name, .. } = step else {
        unreachable!("only sensor steps are in `sensor`")
    };
    let Some(sensor) = plan
        .teams
        .iter()
        .find(|planned| planned.name == *team)
        .and_then(|planned| planned.sensor.as_ref())
    else {
        return Err(BackendError::Runtime {
            action: "mirror segments",
            name: name.clone(),
            message: format!("team {team} has no sensor in the plan"),
        });
    };
    let failed_before = done
        .iter()
        .any(|timed| timed.result.is_err() && host_name(&timed.step) == Some(name.as_str()));
    if failed_before {
        return Err(BackendError::Runtime {
            action: "mirror segments",
            name: name.clone(),
            message: format!("{} did not come up", sensor.reference),
        });
    }
    crate::sensor::configure_sensor(backend, sensor).await
}

/// The container a container step works on.
fn host_name(step: &Step) -> Option<&str> {
    match step {
        Step::CreateNetwork { .. } => None,
        Step::RemoveContainer { name, .. }
        | Step::CreateContainer { name, .. }
        | Step::StartContainer { name, .. }
        | Step::ConfigureRouter { name, .. }
        | Step::ConfigureRoute { name, .. }
        | Step::TakeBackup { name, .. }
        | Step::ConfigureSensor { name, .. } => Some(name),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(super::base64_encode(b""), "");
        assert_eq!(super::base64_encode(b"f"), "Zg==");
        assert_eq!(super::base64_encode(b"fo"), "Zm8=");
        assert_eq!(super::base64_encode(b"foo"), "Zm9v");
        assert_eq!(super::base64_encode("ルール".as_bytes()), "44Or44O844Or");
    }
}
