use enshu_scenario::{NoFiles, PlanOptions};
use enshu_store::{CheckResultKind, SessionId};

use super::*;

fn quickstart_team(index: usize) -> TeamPlan {
    let bytes = include_bytes!("../../../../scenarios/quickstart.yaml");
    let loaded = enshu_scenario::load("quickstart.yaml", bytes).unwrap();
    let options = PlanOptions {
        session: "unit".into(),
        teams: 2,
        pool: Some("10.224.0.0/12".parse().unwrap()),
        files: &NoFiles,
    };
    enshu_scenario::plan(&loaded, &options)
        .unwrap()
        .teams
        .remove(index)
}

fn quickstart_rules() -> Vec<enshu_scoring::ObjectiveRule> {
    let bytes = include_bytes!("../../../../scenarios/quickstart.yaml");
    let loaded = enshu_scenario::load("quickstart.yaml", bytes).unwrap();
    enshu_store::scoring_input::scoring_rules(&loaded.scenario)
}

/// The log of a test, seq 1, 2, 3, ... in the order given.
fn log(kinds: Vec<(Option<u32>, EventKind)>) -> Vec<Event> {
    kinds
        .into_iter()
        .enumerate()
        .map(|(position, (team, kind))| Event {
            session: SessionId(1),
            seq: position as u64 + 1,
            team,
            at_ms: 1_000 * position as i64,
            exercise_ms: Some(1_000 * position as u64),
            actor: "engine".into(),
            kind,
        })
        .collect()
}

fn fired(inject: &str, golden: Option<&str>) -> EventKind {
    EventKind::InjectFired {
        inject: inject.into(),
        target: "office/pc01".into(),
        ground_truth: Box::new(GroundTruth {
            inject: Some(inject.into()),
            golden_sha256: golden.map(str::to_string),
            ..GroundTruth::default()
        }),
    }
}

fn failed(inject: &str, attempt: u32) -> EventKind {
    EventKind::InjectFailed {
        inject: inject.into(),
        attempt,
        error: "could not run".into(),
    }
}

#[test]
fn a_reset_forgets_what_was_fired_before_it_but_not_what_was_held() {
    let team = quickstart_team(0);
    let events = log(vec![
        (Some(1), fired("beacon", None)),
        (Some(1), fired("deface", Some("aaa"))),
        (
            Some(1),
            EventKind::InjectHeld {
                inject: "soc-alert".into(),
            },
        ),
        (Some(1), EventKind::TeamReset { containers: 5 }),
        (Some(1), fired("beacon", None)),
        (Some(2), fired("dropper", None)),
    ]);
    assert_eq!(last_reset_seq(&events, 1), 4);
    assert_eq!(last_reset_seq(&events, 2), 0);
    let state = schedule_state(&events, &team, &ExerciseClock::default(), None);
    assert_eq!(state.fired.keys().collect::<Vec<_>>(), ["beacon"]);
    assert_eq!(state.fired["beacon"], 4_000);
    assert!(state.held.contains("soc-alert"));
    let truth = ground_truth_of(&events, 1);
    assert_eq!(truth.keys().collect::<Vec<_>>(), ["beacon"]);
    assert_eq!(
        ground_truth_of(&events, 2).keys().collect::<Vec<_>>(),
        ["dropper"]
    );
}

#[test]
fn the_ground_truth_of_the_range_carries_the_golden_copy() {
    let events = log(vec![(Some(1), fired("deface", Some("aaa")))]);
    let truth = ground_truth_of(&events, 1);
    assert_eq!(truth["deface"].golden_sha256.as_deref(), Some("aaa"));
}

#[test]
fn failures_count_per_team_and_inject_since_the_last_reset() {
    let events = log(vec![
        (Some(1), failed("beacon", 1)),
        (Some(1), failed("beacon", 2)),
        (Some(1), EventKind::TeamReset { containers: 5 }),
        (Some(1), failed("beacon", 1)),
        (Some(1), failed("deface", 1)),
        (Some(2), failed("beacon", 1)),
        (Some(2), failed("beacon", 2)),
    ]);
    let team_1 = fire_failures(&events, 1);
    assert_eq!(team_1["beacon"], 1);
    assert_eq!(team_1["deface"], 1);
    assert_eq!(fire_failures(&events, 2)["beacon"], 2);
    assert!(fire_failures(&events, 3).is_empty());
}

#[test]
fn the_last_check_result_wins_and_met_objectives_are_in_the_schedule() {
    let team = quickstart_team(0);
    let result = |passed| EventKind::CheckResult {
        objective: "block-c2".into(),
        check: CheckResultKind::Automatic(enshu_scenario::model::CheckKind::NoBeacon),
        passed,
        detail: String::new(),
    };
    let events = log(vec![
        (Some(1), fired("beacon", None)),
        (Some(1), result(false)),
        (Some(1), result(true)),
        (Some(2), result(false)),
    ]);
    let results = last_check_results(&events);
    assert!(results[&(1, "block-c2".to_string())]);
    assert!(!results[&(2, "block-c2".to_string())]);
    let clock = ExerciseClock::default();
    let scores = objective_scores(&events, &quickstart_rules(), &clock, &[1], 0);
    let state = schedule_state(&events, &team, &clock, scores.team(1));
    assert_eq!(state.objectives["block-c2"].met_ms, Some(2_000));
    assert_eq!(state.objectives["block-c2"].missed_ms, None);
    // Session-wide manual fires reach every team; other teams' fires do not.
    let events = log(vec![
        (
            None,
            EventKind::InjectFireRequested {
                inject: "soc-alert".into(),
            },
        ),
        (Some(2), fired("beacon", None)),
    ]);
    let state = schedule_state(&events, &team, &ExerciseClock::default(), None);
    assert!(state.fire_now.contains("soc-alert"));
    assert!(state.fired.is_empty());
}

#[test]
fn objectives_are_missed_at_their_deadline_from_the_injects_actual_fire() {
    use enshu_clock::{ClockAction, ClockChange};
    let team = quickstart_team(0);
    // The beacon fired at exercise second 1 (the log's second event).
    let events = log(vec![
        (Some(2), fired("deface", None)),
        (Some(1), fired("beacon", None)),
    ]);
    let clock = ExerciseClock::new([ClockChange::session(0, ClockAction::Start)]);
    let minute = 60_000;
    let at = |wall_ms: i64| {
        let scores = objective_scores(&events, &quickstart_rules(), &clock, &[1], wall_ms);
        schedule_state(&events, &team, &clock, scores.team(1))
    };
    // find-c2 has 20 minutes from the beacon's fire: not missed at 20:01.
    assert!(!at(20 * minute + 1_000).objectives.contains_key("find-c2"));
    let later = at(26 * minute + 1_000);
    assert_eq!(
        later.objectives["find-c2"].missed_ms,
        Some(20 * 60_000 + 1_000)
    );
    assert_eq!(
        later.objectives["block-c2"].missed_ms,
        Some(25 * 60_000 + 1_000)
    );
    // restore-site waits for the deface, which this team has not had.
    assert!(!later.objectives.contains_key("restore-site"));
    // remove-persistence has neither deadline nor due: never missed.
    let much_later = at(1_000 * minute);
    assert!(!much_later.objectives.contains_key("remove-persistence"));
}
