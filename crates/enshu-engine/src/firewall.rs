//! The teams' own firewall changes (`FirewallChanged`, from the portal)
//! applied to their routers' `team_blocked` set: batched per router, off
//! the fire loop.
//!
//! Each round, every team whose router has changes it has not applied yet
//! (and no apply still running) gets one task that applies them all in
//! one `nft` run, the last change per address winning. The round never
//! waits for it: a router that is slow or stalled (the exec is bounded by
//! the backend) delays only its own team's blocks, never an inject. An
//! apply whose exec could not run is retried from the same point the next
//! round; one `nft` refused is logged and not retried (as a single change
//! that fails would not be). A restart replays the whole history in one
//! batch per team, which is harmless: adding an element twice is no error.

use std::collections::{BTreeMap, HashMap, HashSet};

use enshu_backend::{Backend, BackendError, ExecOutput, ExecPrivilege};
use enshu_scenario::plan::{FIREWALL_FAMILY, FIREWALL_TABLE, ROUTER_HOST, TEAM_BLOCKED_SET};
use enshu_store::{Event, EventKind};
use tokio::task::JoinSet;

use crate::Shared;

/// The `nft` command that adds (`block`) or deletes `address` in the
/// router's set of the team's blocks.
pub fn firewall_command(block: bool, address: &str) -> Vec<String> {
    firewall_batch_command(&[(block, address.to_owned())]).unwrap_or_default()
}

/// One `nft` run for a batch of changes in log order: the last change per
/// address wins; blocked addresses are added, unblocked ones added and then
/// deleted, so an unblock of an address that was never blocked is no error
/// (one error would abort the whole batch, which `nft` applies atomically).
/// `None` for no changes.
pub fn firewall_batch_command(changes: &[(bool, String)]) -> Option<Vec<String>> {
    let mut last: BTreeMap<&str, bool> = BTreeMap::new();
    for (block, address) in changes {
        last.insert(address.as_str(), *block);
    }
    if last.is_empty() {
        return None;
    }
    let every: Vec<&str> = last.keys().copied().collect();
    let unblocked: Vec<&str> = last
        .iter()
        .filter(|(_, block)| !**block)
        .map(|(address, _)| *address)
        .collect();
    let element = |verb: &str, addresses: &[&str]| -> Vec<String> {
        [
            verb,
            "element",
            FIREWALL_FAMILY,
            FIREWALL_TABLE,
            TEAM_BLOCKED_SET,
            &format!("{{ {} }}", addresses.join(", ")),
        ]
        .iter()
        .map(|part| part.to_string())
        .collect()
    };
    let mut command = vec!["nft".to_owned()];
    command.extend(element("add", &every));
    if !unblocked.is_empty() {
        command.push(";".to_owned());
        command.extend(element("delete", &unblocked));
    }
    Some(command)
}

/// One router's apply: its team, the last seq it covers, how it went.
type Applied = (u32, u64, Result<ExecOutput, BackendError>);

/// How far each team's changes are applied, and the applies running.
#[derive(Debug, Default)]
pub(crate) struct FirewallState {
    applied: HashMap<u32, u64>,
    in_flight: JoinSet<Applied>,
    busy: HashSet<u32>,
}

impl FirewallState {
    /// How many routers' applies are still running.
    pub(crate) fn in_flight(&self) -> usize {
        self.busy.len()
    }

    fn landed(&mut self, (team, seq, result): Applied) {
        self.busy.remove(&team);
        match result {
            Ok(output) => {
                if output.exit_code != 0 {
                    tracing::warn!(
                        team,
                        "firewall changes up to #{seq}: {}",
                        String::from_utf8_lossy(&output.stderr).trim()
                    );
                }
                let applied = self.applied.entry(team).or_default();
                *applied = (*applied).max(seq);
            }
            Err(error) => {
                tracing::warn!(
                    team,
                    "firewall changes up to #{seq}, retried next round: {error}"
                );
            }
        }
    }
}

/// Records the applies that ended, then starts one for every router with
/// changes not yet applied and none running. Never waits for an exec.
pub(crate) fn apply_firewall<B: Backend + Clone + Send + Sync + 'static>(
    shared: &Shared<B>,
    state: &mut FirewallState,
    events: &[Event],
) {
    while let Some(done) = state.in_flight.try_join_next() {
        match done {
            Ok(applied) => state.landed(applied),
            Err(error) => {
                // A panicked apply: free every router it might be (retried).
                tracing::error!("a firewall apply failed: {error}");
                state.busy.clear();
            }
        }
    }
    let mut pending: BTreeMap<u32, (u64, Vec<(bool, String)>)> = BTreeMap::new();
    for event in events {
        if let (EventKind::FirewallChanged { block, address }, Some(team)) =
            (&event.kind, event.team)
            && event.seq > state.applied.get(&team).copied().unwrap_or(0)
            && !state.busy.contains(&team)
        {
            let (last, changes) = pending.entry(team).or_default();
            *last = event.seq;
            changes.push((*block, address.clone()));
        }
    }
    for (team_index, (last_seq, changes)) in pending {
        let Some(router) = shared
            .plan
            .teams
            .iter()
            .find(|team| team.index == team_index)
            .and_then(|team| {
                team.containers
                    .iter()
                    .find(|container| container.hostname == ROUTER_HOST)
            })
        else {
            state.applied.insert(team_index, last_seq);
            continue;
        };
        let Some(command) = firewall_batch_command(&changes) else {
            continue;
        };
        let (backend, router) = (shared.backend.clone(), router.name.clone());
        state.busy.insert(team_index);
        state.in_flight.spawn(async move {
            let result = backend
                .exec(&router, &command, ExecPrivilege::Container)
                .await;
            (team_index, last_seq, result)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_go_into_the_set_the_plan_renders() {
        assert_eq!(
            firewall_command(true, "10.64.100.23"),
            [
                "nft",
                "add",
                "element",
                "inet",
                "enshu",
                "team_blocked",
                "{ 10.64.100.23 }"
            ]
        );
        assert_eq!(
            firewall_command(false, "10.64.100.23").join(" "),
            "nft add element inet enshu team_blocked { 10.64.100.23 } ; \
             delete element inet enshu team_blocked { 10.64.100.23 }"
        );
    }

    #[test]
    fn a_batch_is_one_run_where_the_last_change_per_address_wins() {
        let changes: Vec<(bool, String)> = [
            (true, "10.64.100.23"),
            (true, "10.64.100.24"),
            (false, "10.64.100.23"),
            (false, "10.64.100.25"),
            (true, "10.64.100.25"),
            (true, "10.64.100.24"),
        ]
        .iter()
        .map(|(block, address)| (*block, address.to_string()))
        .collect();
        assert_eq!(
            firewall_batch_command(&changes).unwrap().join(" "),
            "nft add element inet enshu team_blocked { 10.64.100.23, 10.64.100.24, 10.64.100.25 } ; \
             delete element inet enshu team_blocked { 10.64.100.23 }"
        );
        assert_eq!(firewall_batch_command(&[]), None);
    }
}
