//! The teams' own firewall changes (`FirewallChanged`, from the portal)
//! applied to their routers' `team_blocked` set.

use enshu_backend::{Backend, ExecPrivilege};
use enshu_scenario::plan::{FIREWALL_FAMILY, FIREWALL_TABLE, ROUTER_HOST, TEAM_BLOCKED_SET};
use enshu_store::{Event, EventKind};

use crate::fire::FireState;
use crate::{EngineError, Shared};

/// The `nft` command that adds (`block`) or deletes `address` in the
/// router's set of the team's blocks.
pub fn firewall_command(block: bool, address: &str) -> Vec<String> {
    let verb = if block { "add" } else { "delete" };
    [
        "nft",
        verb,
        "element",
        FIREWALL_FAMILY,
        FIREWALL_TABLE,
        TEAM_BLOCKED_SET,
        &format!("{{ {address} }}"),
    ]
    .iter()
    .map(|part| part.to_string())
    .collect()
}

/// The team's blocks go into a set in its router; adding an element twice
/// is harmless, so the whole history is safe to replay.
pub(crate) async fn apply_firewall<B: Backend>(
    shared: &Shared<B>,
    state: &mut FireState,
    events: &[Event],
) -> Result<(), EngineError> {
    let applied = state.firewall_applied_seq;
    for event in events.iter().filter(|event| event.seq > applied) {
        if let (EventKind::FirewallChanged { block, address }, Some(team_index)) =
            (&event.kind, event.team)
            && let Some(team) = shared
                .plan
                .teams
                .iter()
                .find(|team| team.index == team_index)
            && let Some(router) = team
                .containers
                .iter()
                .find(|container| container.hostname == ROUTER_HOST)
        {
            let command = firewall_command(*block, address);
            let output = shared
                .backend
                .exec(&router.name, &command, ExecPrivilege::Container)
                .await?;
            if output.exit_code != 0 && *block {
                tracing::warn!(team = %team.name, "firewall {} {address}: {}", command[1], String::from_utf8_lossy(&output.stderr).trim());
            }
        }
        state.firewall_applied_seq = state.firewall_applied_seq.max(event.seq);
    }
    Ok(())
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
        assert_eq!(firewall_command(false, "10.64.100.23")[1], "delete");
    }
}
