//! Capture replay: the command that plays a `replay` inject into one team's
//! range, built here (pure) and run by the caller.
//!
//! The sender is the `enshu-replay` binary, run as a host program inside
//! the target container's network namespace (the backend's controller exec
//! enters only the network namespace): the trainees' container gets no
//! capability for it, its filesystem is not touched, and the capture never
//! enters the range. Every frame leaves through the target's own interface,
//! where the scenario says the traffic originates, and the command always
//! carries the team's planned networks as `--allow`, so the binary's egress
//! guard refuses any frame addressed outside this team's range. The same
//! command runs unchanged from an ephemeral sidecar sharing the target's
//! network namespace, which is how a Kubernetes backend would run it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use enshu_scenario::model::Replay;
use enshu_scenario::plan::{PlannedInject, TeamPlan};
use serde_json::{Value, json};

use crate::InjectError;

/// Longest a single replay may run, whatever the capture's timing says.
pub const MAX_REPLAY_SECONDS: u32 = 900;

/// Where the replay binary and the scenario's captures are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayTool {
    /// The `enshu-replay` binary on the controller's host.
    pub binary: PathBuf,
    /// The scenario file's directory: capture paths are relative to it.
    pub scenario_dir: PathBuf,
    /// Captures kept elsewhere (`enshu up` copies them into the session's
    /// state), by the path the scenario writes; these win over
    /// `scenario_dir`.
    pub captures: BTreeMap<String, PathBuf>,
}

impl ReplayTool {
    /// `enshu-replay` beside the running executable (both are built into
    /// the same target directory), or `ENSHU_REPLAY_BIN`.
    pub fn beside_current_exe(scenario_dir: &Path) -> Option<ReplayTool> {
        let binary = std::env::var_os("ENSHU_REPLAY_BIN")
            .map(PathBuf::from)
            .or_else(|| {
                let exe = std::env::current_exe().ok()?;
                let directory = exe.parent()?;
                // Test binaries live one level down, in `deps/`.
                [
                    directory.join("enshu-replay"),
                    directory.parent()?.join("enshu-replay"),
                ]
                .into_iter()
                .find(|path| path.is_file())
            })?;
        Some(ReplayTool {
            binary,
            scenario_dir: scenario_dir.to_path_buf(),
            captures: BTreeMap::new(),
        })
    }

    /// The same tool, reading the captures from the copies in `captures`.
    pub fn with_captures(self, captures: BTreeMap<String, PathBuf>) -> ReplayTool {
        ReplayTool { captures, ..self }
    }

    /// Where the capture the scenario writes as `pcap` is read from.
    pub fn capture_path(&self, pcap: &str) -> PathBuf {
        self.captures
            .get(pcap)
            .cloned()
            .unwrap_or_else(|| self.scenario_dir.join(pcap))
    }
}

/// What to run for one replay inject, and what it records as ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayCommand {
    /// The container whose network namespace the command runs in.
    pub container: String,
    pub command: Vec<String>,
    pub ground_truth: Value,
}

/// The command replaying `replay` (the action of `inject`) into `team`.
pub fn command(
    tool: &ReplayTool,
    team: &TeamPlan,
    inject: &PlannedInject,
    replay: &Replay,
) -> Result<ReplayCommand, InjectError> {
    let container = inject
        .target
        .container
        .clone()
        .ok_or_else(|| InjectError::NoSuchHost {
            inject: inject.id.clone(),
            target: inject.target.reference.clone(),
            team: team.name.clone(),
        })?;
    let capture = tool.capture_path(&replay.pcap);
    let mut command: Vec<String> = vec![
        tool.binary.display().to_string(),
        "--interface".into(),
        "eth0".into(),
        "--capture".into(),
        capture.display().to_string(),
        "--loops".into(),
        replay.loops.max(1).to_string(),
        "--max-duration".into(),
        MAX_REPLAY_SECONDS.to_string(),
        "--skip-refused".into(),
        "--output".into(),
        "json".into(),
    ];
    let mut map = serde_json::Map::new();
    for original in replay.map.keys() {
        let Some(resolved) = inject
            .addresses
            .get(original)
            .filter(|resolved| !resolved.is_empty())
        else {
            return Err(InjectError::NoSuchHost {
                inject: inject.id.clone(),
                target: replay.map[original].clone(),
                team: team.name.clone(),
            });
        };
        command.push("--map".into());
        command.push(format!("{original}={resolved}"));
        map.insert(original.clone(), json!(resolved));
    }
    for network in &team.networks {
        command.push("--allow".into());
        command.push(network.subnet.to_string());
    }
    match (replay.pps, replay.speed) {
        (Some(pps), _) => command.extend(["--pps".into(), pps.to_string()]),
        (None, Some(speed)) => command.extend(["--speed".into(), speed.to_string()]),
        (None, None) => {}
    }
    let ground_truth = json!({
        "capture": replay.pcap,
        "map": map,
        "allowed": team.networks.iter().map(|network| network.subnet.to_string()).collect::<Vec<_>>(),
    });
    Ok(ReplayCommand {
        container,
        command,
        ground_truth,
    })
}

#[cfg(test)]
mod tests {
    use enshu_scenario::model::Action;
    use enshu_scenario::{NoFiles, PlanOptions};

    use super::*;

    fn emotet_team() -> TeamPlan {
        let bytes = include_bytes!("../../../scenarios/emotet-beta.yaml");
        let loaded = enshu_scenario::load("emotet-beta.yaml", bytes).unwrap();
        let options = PlanOptions {
            session: "unit".into(),
            teams: 2,
            pool: Some("10.64.0.0/10".parse().unwrap()),
            files: &NoFiles,
        };
        enshu_scenario::plan(&loaded, &options)
            .unwrap()
            .teams
            .remove(1)
    }

    #[test]
    fn the_command_maps_the_capture_into_the_team_and_allows_only_its_networks() {
        let team = emotet_team();
        let inject = team
            .injects
            .iter()
            .find(|inject| matches!(inject.action, Action::Replay(_)))
            .unwrap();
        let Action::Replay(replay) = &inject.action else {
            unreachable!()
        };
        let tool = ReplayTool {
            binary: "/opt/enshu/enshu-replay".into(),
            scenario_dir: "/srv/scenarios".into(),
            captures: BTreeMap::new(),
        };
        let planned = command(&tool, &team, inject, replay).unwrap();
        assert_eq!(Some(&planned.container), inject.target.container.as_ref());
        let joined = planned.command.join(" ");
        assert!(joined.starts_with("/opt/enshu/enshu-replay --interface eth0 --capture /srv/scenarios/../tests/fixtures/pcaps/cryptowall4_c2.pcapng"), "{joined}");
        let pc = inject.addresses["192.168.122.145"].clone();
        assert!(pc.starts_with("10.65."), "team 2's block: {pc}");
        assert!(
            joined.contains(&format!("--map 192.168.122.145={pc}")),
            "{joined}"
        );
        let allowed: Vec<&str> = planned
            .command
            .windows(2)
            .filter(|pair| pair[0] == "--allow")
            .map(|pair| pair[1].as_str())
            .collect();
        assert_eq!(allowed.len(), team.networks.len());
        assert!(
            allowed.iter().all(|network| network.starts_with("10.65.")),
            "{allowed:?}"
        );
        assert_eq!(
            planned.ground_truth["map"]["184.170.149.44"],
            json!(inject.addresses["184.170.149.44"])
        );
    }

    #[test]
    fn a_capture_kept_in_the_session_state_is_read_from_there() {
        let tool = ReplayTool {
            binary: "/opt/enshu/enshu-replay".into(),
            scenario_dir: "/srv/scenarios".into(),
            captures: BTreeMap::from([(
                "../pcaps/scan.pcapng".to_string(),
                PathBuf::from("/var/lib/enshu/sessions/s1.files/1-scan.pcapng"),
            )]),
        };
        assert_eq!(
            tool.capture_path("../pcaps/scan.pcapng"),
            Path::new("/var/lib/enshu/sessions/s1.files/1-scan.pcapng")
        );
        assert_eq!(
            tool.capture_path("other.pcap"),
            Path::new("/srv/scenarios/other.pcap")
        );
    }
}
