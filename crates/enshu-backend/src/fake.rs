//! A recording, in-memory backend for the controller's and the engine's
//! unit tests. Clones share one state, so a test keeps a handle on what
//! the code under test was given.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::*;

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    EnsureNetwork(String),
    RemoveNetwork(String),
    Create(String),
    Start(String),
    Stop(String),
    Remove(String),
    RemoveVolume(String),
    List,
    Exec(String, Vec<String>),
    CopyIn(String, String),
    /// A look at the machine's sensors.
    ObserveSensors,
    /// A team's sensor fixed: its container and the fixes' reasons.
    FixSensor(String, String),
    RemoveSensors(String),
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    networks: BTreeMap<String, NetworkSpec>,
    containers: BTreeMap<String, (ContainerSpec, bool)>,
    files: BTreeMap<(String, String), Vec<u8>>,
    /// Container names whose creation fails, to test partial failure.
    fail_create: Vec<String>,
    /// Container names an earlier, killed controller's create makes
    /// appear (a stale spec) just as this create is asked for.
    late_create: Vec<String>,
    /// Answers for exec, by container name; default exit 0 and no output.
    exec_answers: BTreeMap<String, ExecOutput>,
    /// Scripted execs, the latest first: they win over `exec_answers`.
    exec_scripts: Vec<ExecScript>,
    /// Taps by host end: the container their other end is in, and their
    /// alias. A container's removal takes its taps with it.
    taps: BTreeMap<String, (String, String)>,
}

/// How the fake answers the execs in `container` whose command has
/// `argument` as one of its words: after `delay`, with `answer` (`Err`: the
/// exec itself fails with that message).
#[derive(Debug, Clone)]
pub struct ExecScript {
    pub container: String,
    pub argument: String,
    pub delay: Duration,
    pub answer: std::result::Result<ExecOutput, String>,
}

impl ExecScript {
    fn matches(&self, container: &str, command: &[String]) -> bool {
        self.container == container && command.contains(&self.argument)
    }
}

/// Behaves like a runtime that never loses anything, records every call.
#[derive(Default, Clone)]
pub struct FakeBackend {
    state: Arc<Mutex<State>>,
}

impl FakeBackend {
    pub fn new() -> FakeBackend {
        FakeBackend::default()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    pub fn clear_calls(&self) {
        self.state.lock().unwrap().calls.clear();
    }

    pub fn fail_create(&self, name: &str) {
        self.state
            .lock()
            .unwrap()
            .fail_create
            .push(name.to_string());
    }

    /// The next create of `name` finds a container of that name the
    /// engine made after the observe (an earlier `up`'s create, finished
    /// after that `up` was killed): it is there, with an older spec.
    pub fn late_create(&self, name: &str) {
        self.state
            .lock()
            .unwrap()
            .late_create
            .push(name.to_string());
    }

    pub fn heal(&self) {
        self.state.lock().unwrap().fail_create.clear();
    }

    pub fn answer_exec(&self, container: &str, output: ExecOutput) {
        self.state
            .lock()
            .unwrap()
            .exec_answers
            .insert(container.to_string(), output);
    }

    /// Answer matching execs as the script says (see [`ExecScript`]).
    pub fn script_exec(&self, script: ExecScript) {
        self.state.lock().unwrap().exec_scripts.insert(0, script);
    }

    /// Forget every [`ExecScript`].
    pub fn clear_exec_scripts(&self) {
        self.state.lock().unwrap().exec_scripts.clear();
    }

    pub fn container_names(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .containers
            .keys()
            .cloned()
            .collect()
    }

    pub fn network_names(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .networks
            .keys()
            .cloned()
            .collect()
    }

    pub fn running(&self, name: &str) -> bool {
        self.state
            .lock()
            .unwrap()
            .containers
            .get(name)
            .is_some_and(|(_, running)| *running)
    }

    /// Host ends of the taps that exist.
    pub fn tap_names(&self) -> Vec<String> {
        self.state.lock().unwrap().taps.keys().cloned().collect()
    }

    pub fn file(&self, container: &str, path: &str) -> Option<Vec<u8>> {
        self.state
            .lock()
            .unwrap()
            .files
            .get(&(container.to_string(), path.to_string()))
            .cloned()
    }
}

fn matches(labels: &BTreeMap<String, String>, wanted: &[(&str, &str)]) -> bool {
    wanted
        .iter()
        .all(|(key, value)| labels.get(*key).is_some_and(|found| found == value))
}

impl Backend for FakeBackend {
    async fn ensure_network(&self, spec: &NetworkSpec) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::EnsureNetwork(spec.name.clone()));
        state
            .networks
            .entry(spec.name.clone())
            .or_insert_with(|| spec.clone());
        Ok(())
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::RemoveNetwork(name.to_string()));
        let attached = state.containers.values().any(|(spec, _)| {
            spec.networks
                .iter()
                .any(|attachment| attachment.network == name)
        });
        if attached {
            return Err(BackendError::Runtime {
                action: "remove network",
                name: name.to_string(),
                message: "has active endpoints".into(),
            });
        }
        state
            .networks
            .remove(name)
            .map(|_| ())
            .ok_or(BackendError::NotFound {
                object: "network",
                name: name.to_string(),
            })
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::Create(spec.name.clone()));
        if state.fail_create.contains(&spec.name) {
            return Err(BackendError::Runtime {
                action: "create container",
                name: spec.name.clone(),
                message: "injected failure".into(),
            });
        }
        if let Some(at) = state.late_create.iter().position(|name| *name == spec.name) {
            state.late_create.remove(at);
            let mut stale = spec.clone();
            stale.labels.insert("enshu.stale".into(), "true".into());
            state.containers.insert(spec.name.clone(), (stale, false));
        }
        if state.containers.contains_key(&spec.name) {
            return Err(BackendError::Conflict {
                object: "container",
                name: spec.name.clone(),
            });
        }
        for attachment in &spec.networks {
            if !state.networks.contains_key(&attachment.network) {
                return Err(BackendError::NotFound {
                    object: "network",
                    name: attachment.network.clone(),
                });
            }
        }
        state
            .containers
            .insert(spec.name.clone(), (spec.clone(), false));
        Ok(())
    }

    async fn start_container(&self, name: &str) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::Start(name.to_string()));
        let entry = state
            .containers
            .get_mut(name)
            .ok_or(BackendError::NotFound {
                object: "container",
                name: name.to_string(),
            })?;
        entry.1 = true;
        Ok(())
    }

    async fn stop_container(&self, name: &str) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::Stop(name.to_string()));
        let entry = state
            .containers
            .get_mut(name)
            .ok_or(BackendError::NotFound {
                object: "container",
                name: name.to_string(),
            })?;
        entry.1 = false;
        Ok(())
    }

    async fn remove_container(&self, name: &str) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::Remove(name.to_string()));
        state.files.retain(|(container, _), _| container != name);
        state.taps.retain(|_, (container, _)| container != name);
        state
            .containers
            .remove(name)
            .map(|_| ())
            .ok_or(BackendError::NotFound {
                object: "container",
                name: name.to_string(),
            })
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.state
            .lock()
            .unwrap()
            .calls
            .push(Call::RemoveVolume(name.to_string()));
        Ok(())
    }

    async fn list(&self, labels: &[(&str, &str)]) -> Result<Observed> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::List);
        let containers = state
            .containers
            .values()
            .filter(|(spec, _)| matches(&spec.labels, labels))
            .map(|(spec, running)| ObservedContainer {
                name: spec.name.clone(),
                labels: spec.labels.clone(),
                running: *running,
                image: spec.image.clone(),
                networks: {
                    let mut names: Vec<String> = spec
                        .networks
                        .iter()
                        .map(|attachment| attachment.network.clone())
                        .collect();
                    names.sort();
                    names
                },
            })
            .collect();
        let networks = state
            .networks
            .values()
            .filter(|spec| matches(&spec.labels, labels))
            .map(|spec| ObservedNetwork {
                name: spec.name.clone(),
                labels: spec.labels.clone(),
            })
            .collect();
        Ok(Observed {
            containers,
            networks,
            volumes: Vec::new(),
        })
    }

    async fn exec(
        &self,
        name: &str,
        command: &[String],
        _privilege: ExecPrivilege,
    ) -> Result<ExecOutput> {
        let script = {
            let mut state = self.state.lock().unwrap();
            state
                .calls
                .push(Call::Exec(name.to_string(), command.to_vec()));
            if !state
                .containers
                .get(name)
                .is_some_and(|(_, running)| *running)
            {
                return Err(BackendError::Runtime {
                    action: "exec",
                    name: name.to_string(),
                    message: "container is not running".into(),
                });
            }
            match state
                .exec_scripts
                .iter()
                .find(|script| script.matches(name, command))
            {
                Some(script) => script.clone(),
                None => return Ok(state.exec_answers.get(name).cloned().unwrap_or_default()),
            }
        };
        if !script.delay.is_zero() {
            tokio::time::sleep(script.delay).await;
        }
        script.answer.map_err(|message| BackendError::Runtime {
            action: "exec",
            name: name.to_string(),
            message,
        })
    }

    async fn observe_sensors(&self) -> Result<Option<ObservedSensors>> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::ObserveSensors);
        let taps = state
            .taps
            .iter()
            .map(|(host_end, (_, alias))| {
                let tap = crate::sensor::ObservedTap {
                    alias: alias.clone(),
                    sealed: true,
                    mirrored: true,
                };
                (host_end.clone(), tap)
            })
            .collect();
        Ok(Some(ObservedSensors {
            taps,
            bridges: BTreeMap::new(),
        }))
    }

    async fn fix_sensor(&self, sensor: &SensorPlan, fixes: &[Fix]) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::FixSensor(
            sensor.container.clone(),
            crate::sensor::reasons(fixes),
        ));
        if !state
            .containers
            .get(&sensor.container)
            .is_some_and(|(_, running)| *running)
        {
            return Err(BackendError::Runtime {
                action: "mirror segments",
                name: sensor.container.clone(),
                message: "container is not running".into(),
            });
        }
        for fix in fixes {
            let tap = fix.tap();
            state.taps.insert(
                tap.host_end.clone(),
                (sensor.container.clone(), tap.alias.clone()),
            );
        }
        Ok(())
    }

    async fn remove_sensors(&self, session: &str) -> Result<usize> {
        let mut state = self.state.lock().unwrap();
        state.calls.push(Call::RemoveSensors(session.to_string()));
        let prefix = enshu_scenario::sensor::session_alias_prefix(session);
        let before = state.taps.len();
        state
            .taps
            .retain(|_, (_, alias)| !alias.starts_with(&prefix));
        Ok(before - state.taps.len())
    }

    async fn copy_in(&self, name: &str, path: &str, contents: &[u8], _mode: u32) -> Result<()> {
        let mut state = self.state.lock().unwrap();
        state
            .calls
            .push(Call::CopyIn(name.to_string(), path.to_string()));
        if !state.containers.contains_key(name) {
            return Err(BackendError::NotFound {
                object: "container",
                name: name.to_string(),
            });
        }
        state
            .files
            .insert((name.to_string(), path.to_string()), contents.to_vec());
        Ok(())
    }
}
