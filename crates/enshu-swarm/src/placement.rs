//! Which node runs each team's range. Pure: no I/O, and the same teams,
//! inventory and current assignment always give the same placement.
//!
//! The rules, in order:
//!
//! 1. A team already on a node that is still Ready and not drained stays
//!    there ([`Reason::Kept`]): a placement never moves a running range
//!    for balance.
//! 2. Every other team (new, or on a node that is Down, Drain or gone) goes
//!    to a node that is Ready and Active with room for its memory estimate,
//!    after what is already placed there: [`Strategy::Spread`] the node
//!    with the fewest teams (ties by hostname: round-robin over the nodes
//!    sorted by name), [`Strategy::FreeMemory`] the node with the most
//!    free memory (ties by hostname). Spread places teams in team order,
//!    FreeMemory the largest first (ties in team order), so small teams do
//!    not take the room a large one needed.
//! 3. A team no node has room for is an error naming the team and its
//!    shortfall; every such team is named at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::inventory::{Availability, Inventory, Node, NodeState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Balance the number of teams per node.
    Spread,
    /// Most free memory first.
    FreeMemory,
}

/// A team to place and the memory its range is estimated to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamDemand {
    pub team: u32,
    pub memory_bytes: u64,
}

/// Why a team is where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// It was there and the node still keeps it.
    Kept,
    /// It had no node.
    New,
    /// Its node could no longer keep it.
    Moved {
        from_id: String,
        from_hostname: Option<String>,
        cause: MoveCause,
    },
}

/// Why a team's node could no longer keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveCause {
    /// The manager reports the node in this state (not Ready).
    State(NodeState),
    /// The node is drained.
    Drained,
    /// The node is no longer in the swarm.
    Gone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub team: u32,
    pub node_id: String,
    pub hostname: String,
    pub reason: Reason,
}

/// Every team's node, in team order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub assignments: Vec<Assignment>,
}

impl Placement {
    /// Team → node id: the `current` of the next placement.
    pub fn current(&self) -> BTreeMap<u32, String> {
        self.assignments
            .iter()
            .map(|assignment| (assignment.team, assignment.node_id.clone()))
            .collect()
    }

    /// The teams that had to leave their node.
    pub fn moved(&self) -> impl Iterator<Item = &Assignment> {
        self.assignments
            .iter()
            .filter(|assignment| matches!(assignment.reason, Reason::Moved { .. }))
    }

    /// The teams on a node, in team order.
    pub fn teams_on(&self, node_id: &str) -> Vec<u32> {
        self.assignments
            .iter()
            .filter(|assignment| assignment.node_id == node_id)
            .map(|assignment| assignment.team)
            .collect()
    }
}

/// A team no node had room for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub team: u32,
    pub needed_bytes: u64,
    /// The Ready and Active node with the most free memory then, and that
    /// free memory; none when no node was Ready and Active.
    pub best: Option<(String, u64)>,
}

impl Shortfall {
    /// How much more memory the best node would have needed.
    pub fn short_bytes(&self) -> u64 {
        let free = self.best.as_ref().map_or(0, |(_, free)| *free);
        self.needed_bytes.saturating_sub(free)
    }
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.best {
            None => write!(
                f,
                "team {}: no node is Ready and Active (it needs {})",
                self.team,
                mib(self.needed_bytes)
            ),
            Some((hostname, free)) => write!(
                f,
                "team {}: needs {}, the most free is {} on {hostname} ({} short)",
                self.team,
                mib(self.needed_bytes),
                mib(*free),
                mib(self.short_bytes())
            ),
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1 << 20))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("team {team} is listed twice")]
    DuplicateTeam { team: u32 },
    #[error("no node has room for {} team(s): {}", .0.len(), list(.0))]
    NoRoom(Vec<Shortfall>),
}

fn list(shortfalls: &[Shortfall]) -> String {
    shortfalls
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where each of `teams` runs, given the swarm and where teams run now
/// (`current`: team → node id; teams not in `teams` are ignored).
pub fn place(
    teams: &[TeamDemand],
    inventory: &Inventory,
    current: &BTreeMap<u32, String>,
    strategy: Strategy,
) -> Result<Placement, PlacementError> {
    let mut seen = BTreeSet::new();
    for demand in teams {
        if !seen.insert(demand.team) {
            return Err(PlacementError::DuplicateTeam { team: demand.team });
        }
    }
    // The nodes in name order: the order Spread goes round and ties break in.
    let mut nodes: Vec<&Node> = inventory.nodes.iter().collect();
    nodes.sort_by(|a, b| (&a.hostname, &a.id).cmp(&(&b.hostname, &b.id)));
    let mut used = vec![0u64; nodes.len()];
    let mut count = vec![0usize; nodes.len()];
    let mut placed: BTreeMap<u32, Assignment> = BTreeMap::new();
    let mut to_place: Vec<(TeamDemand, Option<Reason>)> = Vec::new();

    for demand in teams {
        let Some(from_id) = current.get(&demand.team) else {
            to_place.push((*demand, None));
            continue;
        };
        match nodes.iter().position(|node| &node.id == from_id) {
            Some(index) if nodes[index].keeps_its_teams() => {
                used[index] = used[index].saturating_add(demand.memory_bytes);
                count[index] += 1;
                placed.insert(
                    demand.team,
                    Assignment {
                        team: demand.team,
                        node_id: nodes[index].id.clone(),
                        hostname: nodes[index].hostname.clone(),
                        reason: Reason::Kept,
                    },
                );
            }
            found => {
                let from = found.map(|index| nodes[index]);
                let cause = match from {
                    None => MoveCause::Gone,
                    Some(node) if node.state != NodeState::Ready => MoveCause::State(node.state),
                    Some(node) => {
                        debug_assert_eq!(node.availability, Availability::Drain);
                        MoveCause::Drained
                    }
                };
                let reason = Reason::Moved {
                    from_id: from_id.clone(),
                    from_hostname: from.map(|node| node.hostname.clone()),
                    cause,
                };
                to_place.push((*demand, Some(reason)));
            }
        }
    }

    match strategy {
        Strategy::Spread => to_place.sort_by_key(|(demand, _)| demand.team),
        Strategy::FreeMemory => to_place.sort_by(|(a, _), (b, _)| {
            b.memory_bytes
                .cmp(&a.memory_bytes)
                .then(a.team.cmp(&b.team))
        }),
    }

    let mut shortfalls = Vec::new();
    for (demand, reason) in to_place {
        let free = |index: usize| nodes[index].memory_bytes.saturating_sub(used[index]);
        let open = (0..nodes.len()).filter(|&index| nodes[index].takes_new_teams());
        let fitting = open
            .clone()
            .filter(|&index| free(index) >= demand.memory_bytes);
        // min_by_key / max_by_key keep the first / last of equals: ties go to
        // the node first by name either way.
        let chosen = match strategy {
            Strategy::Spread => fitting.min_by_key(|&index| count[index]),
            Strategy::FreeMemory => fitting.rev().max_by_key(|&index| free(index)),
        };
        let Some(index) = chosen else {
            let best = open
                .rev()
                .max_by_key(|&index| free(index))
                .map(|index| (nodes[index].hostname.clone(), free(index)));
            shortfalls.push(Shortfall {
                team: demand.team,
                needed_bytes: demand.memory_bytes,
                best,
            });
            continue;
        };
        used[index] = used[index].saturating_add(demand.memory_bytes);
        count[index] += 1;
        placed.insert(
            demand.team,
            Assignment {
                team: demand.team,
                node_id: nodes[index].id.clone(),
                hostname: nodes[index].hostname.clone(),
                reason: reason.unwrap_or(Reason::New),
            },
        );
    }
    if !shortfalls.is_empty() {
        shortfalls.sort_by_key(|shortfall| shortfall.team);
        return Err(PlacementError::NoRoom(shortfalls));
    }
    Ok(Placement {
        assignments: placed.into_values().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;

    fn node(
        id: &str,
        hostname: &str,
        state: NodeState,
        availability: Availability,
        memory: u64,
    ) -> Node {
        Node {
            id: id.into(),
            hostname: hostname.into(),
            state,
            availability,
            nano_cpus: 2_000_000_000,
            memory_bytes: memory,
            labels: BTreeMap::new(),
            manager: false,
            engine_socket: None,
        }
    }

    fn ready(id: &str, hostname: &str, memory: u64) -> Node {
        node(id, hostname, NodeState::Ready, Availability::Active, memory)
    }

    fn inventory(nodes: Vec<Node>) -> Inventory {
        Inventory {
            observed_at: SystemTime::UNIX_EPOCH,
            manager_id: nodes
                .first()
                .map(|node| node.id.clone())
                .unwrap_or_default(),
            nodes,
        }
    }

    fn teams(count: u32, memory: u64) -> Vec<TeamDemand> {
        (1..=count)
            .map(|team| TeamDemand {
                team,
                memory_bytes: memory,
            })
            .collect()
    }

    fn hostnames(placement: &Placement) -> Vec<(u32, &str)> {
        placement
            .assignments
            .iter()
            .map(|assignment| (assignment.team, assignment.hostname.as_str()))
            .collect()
    }

    #[test]
    fn spread_goes_round_the_nodes_in_name_order() {
        // listed out of order: the order is the hostnames'
        let swarm = inventory(vec![
            ready("c", "n3", 8 * GIB),
            ready("a", "n1", 8 * GIB),
            ready("b", "n2", 8 * GIB),
        ]);
        let placement = place(
            &teams(7, 338 * MIB),
            &swarm,
            &BTreeMap::new(),
            Strategy::Spread,
        )
        .unwrap();
        assert_eq!(
            hostnames(&placement),
            [
                (1, "n1"),
                (2, "n2"),
                (3, "n3"),
                (4, "n1"),
                (5, "n2"),
                (6, "n3"),
                (7, "n1")
            ]
        );
        assert!(
            placement
                .assignments
                .iter()
                .all(|a| a.reason == Reason::New)
        );
        assert_eq!(placement.teams_on("a"), [1, 4, 7]);
    }

    #[test]
    fn spread_fills_the_emptiest_node_first_around_kept_teams() {
        let swarm = inventory(vec![ready("a", "n1", 8 * GIB), ready("b", "n2", 8 * GIB)]);
        let current = BTreeMap::from([(1, "a".to_string()), (2, "a".to_string())]);
        let placement = place(&teams(4, MIB), &swarm, &current, Strategy::Spread).unwrap();
        assert_eq!(
            hostnames(&placement),
            [(1, "n1"), (2, "n1"), (3, "n2"), (4, "n2")]
        );
    }

    #[test]
    fn spread_skips_a_node_without_room() {
        let swarm = inventory(vec![ready("a", "n1", 100 * MIB), ready("b", "n2", 8 * GIB)]);
        let placement = place(
            &teams(3, 338 * MIB),
            &swarm,
            &BTreeMap::new(),
            Strategy::Spread,
        )
        .unwrap();
        assert_eq!(hostnames(&placement), [(1, "n2"), (2, "n2"), (3, "n2")]);
    }

    #[test]
    fn free_memory_takes_the_most_free_first_after_what_is_placed() {
        let swarm = inventory(vec![ready("a", "n1", 4 * GIB), ready("b", "n2", 3 * GIB)]);
        let demands = [
            TeamDemand {
                team: 1,
                memory_bytes: GIB,
            },
            TeamDemand {
                team: 2,
                memory_bytes: GIB,
            },
            TeamDemand {
                team: 3,
                memory_bytes: 2 * GIB,
            },
        ];
        // largest first: 3 → n1 (4 free), then 1 → n2 (3 free vs 2), 2 → n1 (2 vs 2: the first by name)
        let placement = place(&demands, &swarm, &BTreeMap::new(), Strategy::FreeMemory).unwrap();
        assert_eq!(hostnames(&placement), [(1, "n2"), (2, "n1"), (3, "n1")]);
    }

    #[test]
    fn a_team_on_a_ready_node_stays_even_when_another_has_more_room() {
        let swarm = inventory(vec![ready("a", "n1", GIB), ready("b", "n2", 64 * GIB)]);
        let current = BTreeMap::from([(1, "a".to_string())]);
        for strategy in [Strategy::Spread, Strategy::FreeMemory] {
            let placement = place(&teams(1, 900 * MIB), &swarm, &current, strategy).unwrap();
            assert_eq!(placement.assignments[0].hostname, "n1");
            assert_eq!(placement.assignments[0].reason, Reason::Kept);
        }
    }

    #[test]
    fn a_paused_node_keeps_its_teams_and_takes_no_new_one() {
        let swarm = inventory(vec![
            node("a", "n1", NodeState::Ready, Availability::Pause, 8 * GIB),
            ready("b", "n2", 8 * GIB),
        ]);
        let current = BTreeMap::from([(1, "a".to_string())]);
        let placement = place(&teams(3, MIB), &swarm, &current, Strategy::Spread).unwrap();
        assert_eq!(hostnames(&placement), [(1, "n1"), (2, "n2"), (3, "n2")]);
    }

    #[test]
    fn teams_of_a_down_drained_or_gone_node_are_moved_and_said() {
        let swarm = inventory(vec![
            ready("a", "n1", 8 * GIB),
            node("b", "n2", NodeState::Down, Availability::Active, 8 * GIB),
            node("c", "n3", NodeState::Ready, Availability::Drain, 8 * GIB),
            ready("d", "n4", 8 * GIB),
        ]);
        let current = BTreeMap::from([
            (1, "a".to_string()),
            (2, "b".to_string()),
            (3, "c".to_string()),
            (4, "gone".to_string()),
            (5, "d".to_string()),
        ]);
        // 1 kept on n1 and 5 on n4: the others go to the one with fewer, n1 on a tie
        let placement = place(&teams(5, MIB), &swarm, &current, Strategy::Spread).unwrap();
        assert_eq!(
            hostnames(&placement),
            [(1, "n1"), (2, "n1"), (3, "n4"), (4, "n1"), (5, "n4")]
        );
        let moved: Vec<_> = placement
            .moved()
            .map(|a| (a.team, a.reason.clone()))
            .collect();
        assert_eq!(
            moved,
            [
                (
                    2,
                    Reason::Moved {
                        from_id: "b".into(),
                        from_hostname: Some("n2".into()),
                        cause: MoveCause::State(NodeState::Down)
                    }
                ),
                (
                    3,
                    Reason::Moved {
                        from_id: "c".into(),
                        from_hostname: Some("n3".into()),
                        cause: MoveCause::Drained
                    }
                ),
                (
                    4,
                    Reason::Moved {
                        from_id: "gone".into(),
                        from_hostname: None,
                        cause: MoveCause::Gone
                    }
                ),
            ]
        );
    }

    #[test]
    fn no_room_names_every_team_and_its_shortfall() {
        let swarm = inventory(vec![
            ready("a", "n1", 1000 * MIB),
            ready("b", "n2", 600 * MIB),
        ]);
        let demands = [
            TeamDemand {
                team: 1,
                memory_bytes: 700 * MIB,
            },
            TeamDemand {
                team: 2,
                memory_bytes: 700 * MIB,
            },
            TeamDemand {
                team: 3,
                memory_bytes: 500 * MIB,
            },
        ];
        let error = place(&demands, &swarm, &BTreeMap::new(), Strategy::FreeMemory).unwrap_err();
        // 1 → n1 (300 left), 2: n2 has 600 (100 short), 3 → n2
        assert_eq!(
            error,
            PlacementError::NoRoom(vec![Shortfall {
                team: 2,
                needed_bytes: 700 * MIB,
                best: Some(("n2".into(), 600 * MIB)),
            }])
        );
        assert_eq!(
            error.to_string(),
            "no node has room for 1 team(s): team 2: needs 700 MiB, the most free is 600 MiB on n2 (100 MiB short)"
        );

        let none = inventory(vec![node(
            "a",
            "n1",
            NodeState::Down,
            Availability::Active,
            8 * GIB,
        )]);
        let error = place(&teams(1, MIB), &none, &BTreeMap::new(), Strategy::Spread).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no node has room for 1 team(s): team 1: no node is Ready and Active (it needs 1 MiB)"
        );
    }

    #[test]
    fn a_team_listed_twice_is_refused() {
        let swarm = inventory(vec![ready("a", "n1", GIB)]);
        let demands = [
            TeamDemand {
                team: 4,
                memory_bytes: 1,
            },
            TeamDemand {
                team: 4,
                memory_bytes: 1,
            },
        ];
        assert_eq!(
            place(&demands, &swarm, &BTreeMap::new(), Strategy::Spread),
            Err(PlacementError::DuplicateTeam { team: 4 })
        );
    }

    /// xorshift64*: the property test's inputs, reproducible from a seed.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, bound: u64) -> u64 {
            self.next() % bound
        }
    }

    fn random_case(random: &mut Random) -> (Vec<TeamDemand>, Inventory, BTreeMap<u32, String>) {
        let node_count = random.below(7) as usize;
        let nodes = (0..node_count)
            .map(|index| {
                let state = match random.below(6) {
                    0 => NodeState::Down,
                    1 => NodeState::Unknown,
                    2 => NodeState::Disconnected,
                    _ => NodeState::Ready,
                };
                let availability = match random.below(6) {
                    0 => Availability::Pause,
                    1 => Availability::Drain,
                    _ => Availability::Active,
                };
                // ids not in name order, some hostnames shared (a node that joined again)
                node(
                    &format!("id{}", random.below(1000) * 10 + index as u64),
                    &format!("n{}", random.below(node_count as u64 + 1)),
                    state,
                    availability,
                    random.below(16) * GIB,
                )
            })
            .collect::<Vec<_>>();
        let team_count = random.below(40) as u32;
        let demands: Vec<_> = (1..=team_count)
            .map(|team| TeamDemand {
                team: team * 3 % 101,
                memory_bytes: (1 + random.below(1024)) * MIB,
            })
            .collect();
        let mut current = BTreeMap::new();
        for demand in &demands {
            if random.below(3) == 0 && !nodes.is_empty() {
                let index = random.below(nodes.len() as u64 + 1) as usize;
                let id = nodes
                    .get(index)
                    .map_or("gone".to_string(), |node| node.id.clone());
                current.insert(demand.team, id);
            }
        }
        (demands, inventory(nodes), current)
    }

    #[test]
    fn properties_over_many_random_swarms() {
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let (mut placed, mut refused) = (0, 0);
        for case in 0..3000 {
            let (demands, swarm, current) = random_case(&mut random);
            for strategy in [Strategy::Spread, Strategy::FreeMemory] {
                let result = place(&demands, &swarm, &current, strategy);
                assert_eq!(
                    result,
                    place(&demands, &swarm, &current, strategy),
                    "case {case}: not deterministic"
                );
                let placement = match result {
                    Ok(placement) => placement,
                    Err(PlacementError::NoRoom(shortfalls)) => {
                        refused += 1;
                        for shortfall in &shortfalls {
                            assert!(shortfall.short_bytes() > 0, "case {case}: {shortfall}");
                            assert!(demands.iter().any(|d| d.team == shortfall.team));
                        }
                        continue;
                    }
                    Err(error) => panic!("case {case}: {error}"),
                };
                placed += 1;
                // every team exactly once, in team order
                let mut want: Vec<u32> = demands.iter().map(|d| d.team).collect();
                want.sort();
                let got: Vec<u32> = placement.assignments.iter().map(|a| a.team).collect();
                assert_eq!(got, want, "case {case}");
                let mut kept = BTreeMap::<&str, u64>::new();
                let mut total = BTreeMap::<&str, u64>::new();
                let mut new_on = BTreeSet::<&str>::new();
                for assignment in &placement.assignments {
                    let node = swarm
                        .node(&assignment.node_id)
                        .expect("a node of the inventory");
                    let memory = demands
                        .iter()
                        .find(|d| d.team == assignment.team)
                        .unwrap()
                        .memory_bytes;
                    *total.entry(&node.id).or_default() += memory;
                    let was = current.get(&assignment.team);
                    let was_kept = was
                        .and_then(|id| swarm.node(id))
                        .is_some_and(Node::keeps_its_teams);
                    match &assignment.reason {
                        Reason::Kept => {
                            assert!(was_kept, "case {case}");
                            assert_eq!(was, Some(&assignment.node_id));
                            *kept.entry(&node.id).or_default() += memory;
                        }
                        reason => {
                            assert!(
                                !was_kept,
                                "case {case}: team {} left a node that keeps it",
                                assignment.team
                            );
                            assert_eq!(matches!(reason, Reason::New), was.is_none(), "case {case}");
                            assert!(node.takes_new_teams(), "case {case}: new team on {node:?}");
                            new_on.insert(&node.id);
                        }
                    }
                }
                // no node over its memory through a team placed now
                for id in new_on {
                    let node = swarm.node(id).unwrap();
                    assert!(
                        total[id] <= node.memory_bytes,
                        "case {case} {strategy:?}: {id} over capacity"
                    );
                }
                // stable: placed again as it is, nothing moves
                let again = place(&demands, &swarm, &placement.current(), strategy).unwrap();
                assert_eq!(again.current(), placement.current(), "case {case}");
                assert!(
                    again.assignments.iter().all(|a| a.reason == Reason::Kept),
                    "case {case}"
                );
            }
        }
        // the generator reaches both outcomes often
        assert!(
            placed > 1000 && refused > 300,
            "placed {placed}, refused {refused}"
        );
    }

    #[test]
    fn spread_balances_counts_when_memory_is_ample() {
        let mut random = Random(42);
        for _ in 0..500 {
            let node_count = 1 + random.below(8) as usize;
            let nodes = (0..node_count)
                .map(|index| ready(&format!("id{index}"), &format!("n{index}"), 1 << 50))
                .collect();
            let swarm = inventory(nodes);
            let count = random.below(50) as u32;
            let placement = place(
                &teams(count, GIB),
                &swarm,
                &BTreeMap::new(),
                Strategy::Spread,
            )
            .unwrap();
            let per_node: Vec<usize> = swarm
                .nodes
                .iter()
                .map(|n| placement.teams_on(&n.id).len())
                .collect();
            let (min, max) = (
                per_node.iter().min().unwrap(),
                per_node.iter().max().unwrap(),
            );
            assert!(max - min <= 1, "{per_node:?}");
        }
    }
}
