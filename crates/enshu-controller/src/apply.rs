//! Applying the diff: networks, then every container's pipeline (remove →
//! create → start → configure) with bounded concurrency.
//!
//! A failure never stops the other containers' pipelines; every failure is
//! reported with its team, host and the runtime's own message. The caller
//! decides whether to roll back (`enshu up` does, unless told to keep).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use enshu_backend::{Backend, BackendError, ContainerSpec, ExecPrivilege};
use enshu_scenario::plan::{Plan, labels};
use futures::stream::{self, StreamExt};

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
    let steps = diff(plan, &observed);
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
    let record = |step: &Step,
                  result: Result<(), BackendError>,
                  failures: &mut Vec<StepFailure>| match result {
        Ok(()) => progress(Progress::StepDone {
            team: step.team().to_string(),
            step: step.clone(),
        }),
        Err(error) => {
            let message = error.to_string();
            progress(Progress::StepFailed {
                team: step.team().to_string(),
                step: step.clone(),
                message: message.clone(),
            });
            failures.push(StepFailure {
                team: step.team().to_string(),
                host: host_of(step, &specs),
                step: step.clone(),
                message,
            });
        }
    };

    // Networks first, one at a time: creation is quick and the engine
    // serialises it anyway.
    for step in steps
        .iter()
        .filter(|step| matches!(step, Step::CreateNetwork { .. }))
    {
        let Step::CreateNetwork { name, .. } = step else {
            unreachable!()
        };
        let result = backend.ensure_network(networks[name.as_str()]).await;
        record(step, result, &mut failures);
    }

    // Then each container's steps in order, containers concurrently.
    let mut pipelines: BTreeMap<&str, Vec<&Step>> = BTreeMap::new();
    for step in steps
        .iter()
        .filter(|step| !matches!(step, Step::CreateNetwork { .. }))
    {
        let name = match step {
            Step::RemoveContainer { name, .. }
            | Step::CreateContainer { name, .. }
            | Step::StartContainer { name, .. }
            | Step::ConfigureRouter { name, .. }
            | Step::ConfigureRoute { name, .. } => name.as_str(),
            Step::CreateNetwork { .. } => unreachable!(),
        };
        pipelines.entry(name).or_default().push(step);
    }
    let results: Vec<Vec<(Step, Result<(), BackendError>)>> = stream::iter(pipelines.into_values())
        .map(|pipeline| {
            let specs = &specs;
            let nftables = &nftables;
            async move {
                let mut done = Vec::new();
                for step in pipeline {
                    let result = run_step(backend, step, specs, nftables).await;
                    let failed = result.is_err();
                    done.push((step.clone(), result));
                    if failed {
                        break;
                    }
                }
                done
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for (step, result) in results.into_iter().flatten() {
        record(&step, result, &mut failures);
    }
    if failures.is_empty() {
        Ok(UpReport {
            steps,
            seconds: started.elapsed().as_secs_f64(),
        })
    } else {
        Err(UpError::Steps { failures })
    }
}

fn host_of(step: &Step, specs: &BTreeMap<&str, &ContainerSpec>) -> String {
    match step {
        Step::CreateNetwork { name, .. } => format!("(network {name})"),
        Step::RemoveContainer { name, .. }
        | Step::CreateContainer { name, .. }
        | Step::StartContainer { name, .. }
        | Step::ConfigureRouter { name, .. }
        | Step::ConfigureRoute { name, .. } => specs
            .get(name.as_str())
            .map_or_else(|| name.clone(), |spec| spec.hostname.clone()),
    }
}

/// How long a router gets to come up before its rules are loaded.
const ROUTER_READY_TIMEOUT: Duration = Duration::from_secs(20);

async fn run_step<B: Backend>(
    backend: &B,
    step: &Step,
    specs: &BTreeMap<&str, &ContainerSpec>,
    nftables: &BTreeMap<&str, &str>,
) -> Result<(), BackendError> {
    match step {
        Step::CreateNetwork { .. } => unreachable!("networks are created first"),
        Step::RemoveContainer { name, .. } => match backend.remove_container(name).await {
            Err(BackendError::NotFound { .. }) => Ok(()),
            other => other,
        },
        Step::CreateContainer { name, .. } => {
            let spec = with_hash(specs[name.as_str()]);
            backend.create_container(&spec).await
        }
        Step::StartContainer { name, .. } => backend.start_container(name).await,
        Step::ConfigureRouter { team, name } => {
            let ruleset = nftables[team.as_str()];
            let script = format!(
                "set -e; mkdir -p /etc/enshu; printf '%s' '{}' | base64 -d > /etc/enshu/rules.nft; nft -f /etc/enshu/rules.nft",
                base64_encode(ruleset.as_bytes())
            );
            let command = vec!["sh".to_string(), "-c".to_string(), script];
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
            let spec = specs[name.as_str()];
            let router = spec
                .default_route
                .expect("a ConfigureRoute step has a route");
            let command: Vec<String> = [
                "ip",
                "route",
                "replace",
                "default",
                "via",
                &router.to_string(),
            ]
            .iter()
            .map(|part| part.to_string())
            .collect();
            let output = backend
                .exec(name, &command, ExecPrivilege::Controller)
                .await?;
            if output.exit_code == 0 {
                Ok(())
            } else {
                Err(BackendError::Runtime {
                    action: "set default route",
                    name: name.clone(),
                    message: format!(
                        "ip route exited {}: {}",
                        output.exit_code,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ),
                })
            }
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
