//! Which injects are due: a pure function of the plan, what the log says
//! has happened, and the team's exercise time.
//!
//! The persisted log is the truth. The controller keeps no timers of its
//! own: after a restart it rebuilds [`ScheduleState`] from the log and asks
//! again, so an inject that already fired is never fired twice, and one
//! whose time passed while the controller was down fires at once.
//!
//! A chained inject (`after`) becomes due only once its predecessor has
//! actually fired (is in the fired set), never in the same evaluation as the
//! predecessor: firing is what records the time the chain counts from.

use std::collections::{BTreeMap, BTreeSet};

use enshu_scenario::model::{Outcome, When};
use enshu_scenario::plan::PlannedInject;
use serde::Serialize;

/// When (exercise ms) an objective was met and when it was missed, as far
/// as the scores say yet. An objective met after its deadline has both: it
/// was missed at the deadline and met later.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectiveOutcomes {
    pub met_ms: Option<u64>,
    pub missed_ms: Option<u64>,
}

impl ObjectiveOutcomes {
    /// When the objective reached `outcome`, if it did.
    pub fn at(&self, outcome: Outcome) -> Option<u64> {
        match outcome {
            Outcome::Met => self.met_ms,
            Outcome::Missed => self.missed_ms,
        }
    }
}

/// What the log says so far for one team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleState {
    /// Inject id → exercise ms it fired at.
    pub fired: BTreeMap<String, u64>,
    /// Injects an instructor held: they never fire on their own.
    pub held: BTreeSet<String>,
    /// Injects an instructor asked to fire now, regardless of their time.
    /// A manual fire wins over a hold (it is the later, explicit decision).
    pub fire_now: BTreeSet<String>,
    /// Objective id → when it was met or missed (from the scores: the
    /// caller derives them with the scoring rule, this module only reads
    /// them).
    pub objectives: BTreeMap<String, ObjectiveOutcomes>,
}

impl ScheduleState {
    pub fn record_fired(&mut self, inject: &str, exercise_ms: u64) {
        self.fired.entry(inject.to_string()).or_insert(exercise_ms);
        self.fire_now.remove(inject);
    }

    pub fn hold(&mut self, inject: &str) {
        self.held.insert(inject.to_string());
        self.fire_now.remove(inject);
    }

    pub fn fire_manually(&mut self, inject: &str) {
        self.fire_now.insert(inject.to_string());
    }

    /// The objective reached `outcome` at `exercise_ms`; the first time
    /// recorded for an outcome stays.
    pub fn record_objective(&mut self, objective: &str, outcome: Outcome, exercise_ms: u64) {
        let outcomes = self.objectives.entry(objective.to_string()).or_default();
        let recorded = match outcome {
            Outcome::Met => &mut outcomes.met_ms,
            Outcome::Missed => &mut outcomes.missed_ms,
        };
        recorded.get_or_insert(exercise_ms);
    }
}

/// Why an inject is due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum DueReason {
    /// Its time (`due_ms`, exercise clock) has come.
    Scheduled { due_ms: u64 },
    /// An instructor fired it by hand.
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueInject {
    pub inject: String,
    pub reason: DueReason,
}

/// The exercise time an inject becomes due, if it is known yet.
pub fn due_time(inject: &PlannedInject, state: &ScheduleState) -> Option<u64> {
    match &inject.when {
        When::At(offset) => Some(offset.seconds * 1000),
        When::After(after) => state
            .fired
            .get(&after.inject)
            .map(|fired_ms| fired_ms + after.delay.seconds * 1000),
        When::On(on) => state
            .objectives
            .get(&on.objective)
            .and_then(|outcomes| outcomes.at(on.outcome))
            .map(|reached_ms| reached_ms + on.delay.seconds * 1000),
    }
}

/// The injects to fire now, manual ones first, then by due time and plan
/// order. Never one already fired; never a held one unless fired by hand.
pub fn due(injects: &[PlannedInject], state: &ScheduleState, now_ms: u64) -> Vec<DueInject> {
    let mut manual = Vec::new();
    let mut scheduled: Vec<(u64, usize, DueInject)> = Vec::new();
    for (position, inject) in injects.iter().enumerate() {
        if state.fired.contains_key(&inject.id) {
            continue;
        }
        if state.fire_now.contains(&inject.id) {
            manual.push(DueInject {
                inject: inject.id.clone(),
                reason: DueReason::Manual,
            });
            continue;
        }
        if state.held.contains(&inject.id) {
            continue;
        }
        if let Some(due_ms) = due_time(inject, state).filter(|due_ms| *due_ms <= now_ms) {
            scheduled.push((
                due_ms,
                position,
                DueInject {
                    inject: inject.id.clone(),
                    reason: DueReason::Scheduled { due_ms },
                },
            ));
        }
    }
    scheduled.sort_by_key(|(due_ms, position, _)| (*due_ms, *position));
    manual
        .into_iter()
        .chain(scheduled.into_iter().map(|(_, _, due)| due))
        .collect()
}

/// The earliest exercise time after `now_ms` at which something becomes
/// due, as far as is known now (chains and objectives wait for their
/// trigger): what the controller sleeps until.
pub fn next_due_ms(injects: &[PlannedInject], state: &ScheduleState, now_ms: u64) -> Option<u64> {
    injects
        .iter()
        .filter(|inject| !state.fired.contains_key(&inject.id) && !state.held.contains(&inject.id))
        .filter_map(|inject| due_time(inject, state))
        .filter(|due_ms| *due_ms > now_ms)
        .min()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use enshu_scenario::model::{
        Action, AfterInject, Channel, Duration, Message, OnObjective, Outcome, Text, When,
    };
    use enshu_scenario::plan::{PlannedInject, ResolvedTarget};

    use super::*;

    fn inject(id: &str, when: When) -> PlannedInject {
        PlannedInject {
            id: id.to_string(),
            when,
            target: ResolvedTarget {
                reference: "office".into(),
                container: None,
                address: None,
                subnet: None,
            },
            action: Action::Message(Message {
                channel: Channel::Phone,
                from: Text::default(),
                subject: Text::default(),
                body: Text::default(),
            }),
            addresses: BTreeMap::new(),
        }
    }

    fn at(seconds: u64) -> When {
        When::At(Duration::from_secs(seconds))
    }

    fn after(inject: &str, seconds: u64) -> When {
        When::After(AfterInject {
            inject: inject.to_string(),
            delay: Duration::from_secs(seconds),
        })
    }

    fn on(objective: &str, outcome: Outcome, seconds: u64) -> When {
        When::On(OnObjective {
            objective: objective.to_string(),
            outcome,
            delay: Duration::from_secs(seconds),
        })
    }

    fn ids(due: &[DueInject]) -> Vec<&str> {
        due.iter().map(|due| due.inject.as_str()).collect()
    }

    /// The quickstart's schedule.
    fn quickstart() -> Vec<PlannedInject> {
        vec![
            inject("beacon", at(60)),
            inject("dropper", after("beacon", 0)),
            inject("persistence", after("dropper", 10)),
            inject("deface", at(120)),
            inject("soc-alert", at(180)),
        ]
    }

    #[test]
    fn at_injects_are_due_once_their_time_has_come() {
        let plan = quickstart();
        let state = ScheduleState::default();
        assert!(due(&plan, &state, 59_999).is_empty());
        assert_eq!(
            due(&plan, &state, 60_000),
            [DueInject {
                inject: "beacon".into(),
                reason: DueReason::Scheduled { due_ms: 60_000 }
            }]
        );
        assert_eq!(next_due_ms(&plan, &state, 0), Some(60_000));
    }

    #[test]
    fn chains_follow_the_actual_fire_time() {
        let plan = quickstart();
        let mut state = ScheduleState::default();
        // The beacon fired late (at 65 s): the dropper follows it, not its plan.
        state.record_fired("beacon", 65_000);
        assert_eq!(ids(&due(&plan, &state, 65_000)), ["dropper"]);
        // Persistence waits until the dropper has fired.
        assert_eq!(next_due_ms(&plan, &state, 65_000), Some(120_000));
        state.record_fired("dropper", 66_000);
        assert!(due(&plan, &state, 75_999).is_empty());
        assert_eq!(
            due(&plan, &state, 76_000),
            [DueInject {
                inject: "persistence".into(),
                reason: DueReason::Scheduled { due_ms: 76_000 }
            }]
        );
    }

    #[test]
    fn a_restart_neither_refires_nor_skips() {
        let plan = quickstart();
        // The log says beacon and dropper fired; the controller was down
        // from 70 s to 200 s of exercise time.
        let mut state = ScheduleState::default();
        state.record_fired("beacon", 60_000);
        state.record_fired("dropper", 60_100);
        let due_after_restart = due(&plan, &state, 200_000);
        assert_eq!(
            ids(&due_after_restart),
            ["persistence", "deface", "soc-alert"]
        );
        assert!(!ids(&due_after_restart).contains(&"beacon"));
        // They fire; asking again (or restarting again) gives nothing.
        for (offset, due) in due_after_restart.iter().enumerate() {
            state.record_fired(&due.inject, 200_000 + offset as u64);
        }
        assert!(due(&plan, &state, 200_500).is_empty());
        assert!(due(&plan, &state, 10_000_000).is_empty());
        assert_eq!(next_due_ms(&plan, &state, 200_500), None);
    }

    #[test]
    fn recording_a_fire_twice_keeps_the_first_time() {
        let mut state = ScheduleState::default();
        state.record_fired("beacon", 60_000);
        state.record_fired("beacon", 90_000);
        assert_eq!(state.fired["beacon"], 60_000);
    }

    #[test]
    fn paused_exercise_time_holds_injects_back() {
        use enshu_clock::{ClockAction, ClockChange, ExerciseClock};
        let plan = quickstart();
        let state = ScheduleState::default();
        let clock = ExerciseClock::new([
            ClockChange::session(0, ClockAction::Start),
            ClockChange::session(30_000, ClockAction::Pause),
            ClockChange::session(600_000, ClockAction::Resume),
        ]);
        // Ten wall minutes later, only 30 s of exercise time have passed.
        assert!(due(&plan, &state, clock.exercise_ms_at(Some(1), 600_000)).is_empty());
        assert_eq!(
            ids(&due(&plan, &state, clock.exercise_ms_at(Some(1), 630_000))),
            ["beacon"]
        );
    }

    #[test]
    fn held_injects_never_fire_and_manual_ones_fire_at_once() {
        let plan = quickstart();
        let mut state = ScheduleState::default();
        state.hold("deface");
        state.fire_manually("soc-alert");
        let now = due(&plan, &state, 1_000);
        assert_eq!(
            now,
            [DueInject {
                inject: "soc-alert".into(),
                reason: DueReason::Manual
            }]
        );
        state.record_fired("soc-alert", 1_000);
        assert!(state.fire_now.is_empty());
        assert_eq!(ids(&due(&plan, &state, 3_600_000)), ["beacon"]);
        assert_eq!(next_due_ms(&plan, &state, 1_000), Some(60_000));
        // A held inject can still be fired by hand; a fired one never again.
        state.fire_manually("deface");
        assert_eq!(ids(&due(&plan, &state, 3_600_000)), ["deface", "beacon"]);
        state.fire_manually("soc-alert");
        assert!(!ids(&due(&plan, &state, 3_600_000)).contains(&"soc-alert"));
    }

    #[test]
    fn a_held_predecessor_holds_its_chain() {
        let plan = quickstart();
        let mut state = ScheduleState::default();
        state.hold("beacon");
        assert_eq!(ids(&due(&plan, &state, 3_600_000)), ["deface", "soc-alert"]);
    }

    #[test]
    fn objective_triggers_wait_for_the_right_outcome() {
        let plan = vec![
            inject("escalate", on("block-c2", Outcome::Missed, 30)),
            inject("praise", on("block-c2", Outcome::Met, 0)),
        ];
        let mut state = ScheduleState::default();
        assert!(due(&plan, &state, 10_000_000).is_empty());
        state.record_objective("block-c2", Outcome::Missed, 1_500_000);
        assert!(due(&plan, &state, 1_529_999).is_empty());
        assert_eq!(ids(&due(&plan, &state, 1_530_000)), ["escalate"]);
        assert_eq!(next_due_ms(&plan, &state, 1_500_000), Some(1_530_000));
    }

    #[test]
    fn an_objective_met_late_triggers_both_missed_and_met() {
        let plan = vec![
            inject("escalate", on("block-c2", Outcome::Missed, 0)),
            inject("praise", on("block-c2", Outcome::Met, 0)),
        ];
        let mut state = ScheduleState::default();
        state.record_objective("block-c2", Outcome::Missed, 1_500_000);
        state.record_objective("block-c2", Outcome::Met, 1_700_000);
        state.record_objective("block-c2", Outcome::Met, 1_900_000);
        assert_eq!(ids(&due(&plan, &state, 1_600_000)), ["escalate"]);
        assert_eq!(ids(&due(&plan, &state, 1_700_000)), ["escalate", "praise"]);
        assert_eq!(state.objectives["block-c2"].met_ms, Some(1_700_000));
    }

    #[test]
    fn due_injects_come_in_time_order_then_plan_order() {
        let plan = vec![
            inject("late", at(100)),
            inject("early", at(10)),
            inject("same", at(100)),
        ];
        let state = ScheduleState::default();
        assert_eq!(
            ids(&due(&plan, &state, 1_000_000)),
            ["early", "late", "same"]
        );
    }
}
