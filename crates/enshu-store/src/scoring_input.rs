//! Stored events → `enshu-scoring` input.
//!
//! The scoring engine has its own small event type so that it never
//! depends on this crate or on sqlx. This module is the one place that maps
//! the stored vocabulary onto it:
//!
//! - `check_result` becomes objective evidence, `submission` an answer
//!   (whose attempts and cost the rules carry);
//! - a `report_submitted` carries over with its seq, so a grade of it
//!   counts from its submission time;
//! - hints, adjustments and report grades carry over; a grade names its
//!   report by `report_seq` (older logs kept it only in the rubric) and the
//!   judged objective it was graded for, if any;
//! - a session-wide `inject_fired` becomes one fire per team, each at that
//!   team's exercise-clock offset (a team paused alone fires later on its
//!   own clock);
//! - everything else (notes, held injects, clock changes) does not score
//!   directly; clock changes are used to compute
//!   exercise-clock offsets for events that were stored without one.
//!
//! The scenario's objectives become the engine's rules here too
//! ([`scoring_rules`]), so the scoreboard and the exercise engine (which
//! fires `on: {objective, outcome}` triggers from the same scores) read one
//! rule.

use enshu_clock::{ClockChange, ExerciseClock};
use enshu_scenario::model::{Evidence, Phase as ScenarioPhase, Scenario};
use enshu_scoring::{DeadlineAnchor, ObjectiveRule, Phase, ScoringEvent, ScoringEventKind};

#[cfg(test)]
use crate::event::ClockAction;
use crate::event::{Event, EventKind};

/// The scoring half of the scenario's objectives.
///
/// An objective that names an inject is timed from that inject's actual
/// fire time for the team, with or without a `deadline` (and is pending
/// until it fired); one without is timed from the exercise start. `due`
/// closes it at that time from the start. Judged objectives are met by an
/// instructor's grade; hints carry their penalties. A question (answer
/// evidence) takes the scenario's `scoring`: its attempts and the cost of
/// a wrong answer.
pub fn scoring_rules(scenario: &Scenario) -> Vec<ObjectiveRule> {
    scenario
        .objectives
        .iter()
        .map(|objective| {
            let answers = matches!(objective.evidence, Evidence::Answer(_));
            let limits = scenario.scoring_of(objective);
            ObjectiveRule {
                id: objective.id.clone(),
                phase: scoring_phase(objective.phase),
                points: objective.points,
                anchor: match &objective.inject {
                    Some(inject) => DeadlineAnchor::Inject(inject.clone()),
                    None => DeadlineAnchor::Start,
                },
                deadline_ms: objective.deadline.map(|within| within.seconds * 1000),
                due_ms: objective.due.map(|due| due.seconds * 1000),
                judged: matches!(objective.evidence, Evidence::Judged(_)),
                time_bonus: None,
                hint_penalties: objective.hints.iter().map(|hint| hint.penalty).collect(),
                late_credit_percent: 0,
                max_wrong_answers: answers.then_some(limits.attempts),
                wrong_answer_cost: if answers { limits.wrong_answer_cost } else { 0 },
            }
        })
        .collect()
}

/// The scenario's phase as the scoring engine names it.
pub fn scoring_phase(phase: ScenarioPhase) -> Phase {
    match phase {
        ScenarioPhase::Detection => Phase::Detection,
        ScenarioPhase::Response => Phase::Response,
        ScenarioPhase::Reporting => Phase::Reporting,
        ScenarioPhase::Recovery => Phase::Recovery,
    }
}

/// The exercise clocks described by the clock changes in `events`.
pub fn exercise_clocks(events: &[Event]) -> ExerciseClock {
    ExerciseClock::new(events.iter().filter_map(|event| match &event.kind {
        EventKind::ClockChanged {
            action,
            team,
            speed,
        } => Some(ClockChange {
            wall_ms: event.at_ms,
            action: *action,
            team: team.or(event.team),
            speed: *speed,
        }),
        _ => None,
    }))
}

/// Converts a session's log (in seq order) for scoring teams `team_indices`.
pub fn scoring_events(events: &[Event], team_indices: &[u32]) -> Vec<ScoringEvent> {
    let clocks = exercise_clocks(events);
    let exercise_ms_for = |event: &Event, team: Option<u32>| {
        event
            .exercise_ms
            .unwrap_or_else(|| clocks.exercise_ms_at(team, event.at_ms))
    };
    let mut converted = Vec::new();
    for event in events {
        let scoring_kind = match &event.kind {
            EventKind::InjectFired { inject, .. } => {
                let kind = ScoringEventKind::InjectFired {
                    inject: inject.clone(),
                };
                if event.team.is_none() {
                    for team in team_indices {
                        converted.push(ScoringEvent {
                            seq: event.seq,
                            team: Some(*team),
                            exercise_ms: exercise_ms_for(event, Some(*team)),
                            kind: kind.clone(),
                        });
                    }
                    continue;
                }
                kind
            }
            EventKind::CheckResult {
                objective, passed, ..
            } => ScoringEventKind::ObjectiveEvidence {
                objective: objective.clone(),
                satisfied: *passed,
            },
            EventKind::Submission {
                objective, correct, ..
            } => ScoringEventKind::AnswerSubmitted {
                objective: objective.clone(),
                correct: *correct,
            },
            EventKind::HintTaken {
                objective,
                hint_index,
                penalty,
            } => ScoringEventKind::HintTaken {
                objective: objective.clone(),
                hint_index: *hint_index,
                penalty: *penalty,
            },
            EventKind::Adjustment {
                objective,
                points,
                reason,
                author,
            } => ScoringEventKind::Adjustment {
                objective: objective.clone(),
                points: *points,
                reason: reason.clone(),
                author: author.clone(),
            },
            EventKind::ReportSubmitted { form, .. } => {
                ScoringEventKind::ReportSubmitted { form: form.clone() }
            }
            EventKind::ReportGraded {
                report_seq,
                objective,
                form,
                points,
                rubric,
                author,
            } => ScoringEventKind::ReportGraded {
                report_seq: report_seq
                    .or_else(|| rubric.get("report_seq").and_then(serde_json::Value::as_u64)),
                objective: objective.clone(),
                form: form.clone(),
                points: *points,
                author: author.clone(),
            },
            EventKind::InjectHeld { .. }
            | EventKind::InjectFailed { .. }
            | EventKind::InstructorNote { .. }
            | EventKind::InjectFireRequested { .. }
            | EventKind::FirewallChanged { .. }
            | EventKind::TeamReset { .. }
            | EventKind::TerminalCommand { .. }
            | EventKind::MessagesRead { .. }
            | EventKind::ClockChanged { .. } => continue,
        };
        converted.push(ScoringEvent {
            seq: event.seq,
            team: event.team,
            exercise_ms: exercise_ms_for(event, event.team),
            kind: scoring_kind,
        });
    }
    converted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionId;

    const MINUTE: i64 = 60_000;
    const WALL_START: i64 = 1_750_000_000_000;

    fn event(seq: u64, team: Option<u32>, minute: i64, kind: EventKind) -> Event {
        Event {
            session: SessionId(1),
            seq,
            team,
            at_ms: WALL_START + minute * MINUTE,
            exercise_ms: None,
            actor: "test".to_owned(),
            kind,
        }
    }

    #[test]
    fn session_wide_inject_fires_per_team_on_each_teams_clock() {
        let events = [
            event(
                1,
                None,
                0,
                EventKind::ClockChanged {
                    action: ClockAction::Start,
                    team: None,
                    speed: None,
                },
            ),
            event(
                2,
                None,
                10,
                EventKind::ClockChanged {
                    action: ClockAction::Pause,
                    team: Some(2),
                    speed: None,
                },
            ),
            event(
                3,
                None,
                20,
                EventKind::ClockChanged {
                    action: ClockAction::Resume,
                    team: Some(2),
                    speed: None,
                },
            ),
            event(
                4,
                None,
                30,
                EventKind::InjectFired {
                    inject: "beacon".to_owned(),
                    target: "inet/pc-net02".to_owned(),
                    ground_truth: Box::default(),
                },
            ),
            event(
                5,
                Some(2),
                35,
                EventKind::CheckResult {
                    objective: "block-c2".to_owned(),
                    check: crate::CheckResultKind::Automatic(
                        enshu_scenario::model::CheckKind::NoBeacon,
                    ),
                    passed: true,
                    detail: String::new(),
                },
            ),
            event(
                6,
                Some(1),
                36,
                EventKind::InstructorNote {
                    text: "ok".to_owned(),
                },
            ),
        ];
        let converted = scoring_events(&events, &[1, 2]);
        assert_eq!(
            converted,
            vec![
                ScoringEvent {
                    seq: 4,
                    team: Some(1),
                    exercise_ms: 30 * MINUTE as u64,
                    kind: ScoringEventKind::InjectFired {
                        inject: "beacon".to_owned()
                    },
                },
                ScoringEvent {
                    seq: 4,
                    team: Some(2),
                    exercise_ms: 20 * MINUTE as u64,
                    kind: ScoringEventKind::InjectFired {
                        inject: "beacon".to_owned()
                    },
                },
                ScoringEvent {
                    seq: 5,
                    team: Some(2),
                    exercise_ms: 25 * MINUTE as u64,
                    kind: ScoringEventKind::ObjectiveEvidence {
                        objective: "block-c2".to_owned(),
                        satisfied: true
                    },
                },
            ]
        );
    }

    #[test]
    fn recorded_exercise_offset_wins_over_the_clock() {
        let mut submission = event(
            1,
            Some(1),
            50,
            EventKind::Submission {
                objective: "identify-c2".to_owned(),
                answer: "x".to_owned(),
                correct: false,
            },
        );
        submission.exercise_ms = Some(1234);
        let converted = scoring_events(&[submission], &[1]);
        assert_eq!(converted[0].exercise_ms, 1234);
    }

    #[test]
    fn reports_and_their_grades_carry_the_report_and_the_objective() {
        let events = [
            event(
                1,
                Some(1),
                10,
                EventKind::ReportSubmitted {
                    form: "final-report".to_owned(),
                    fields: serde_json::json!({"summary": "..."}),
                },
            ),
            event(
                2,
                Some(1),
                20,
                EventKind::ReportGraded {
                    report_seq: Some(1),
                    objective: Some("spoofing-notice".to_owned()),
                    form: "final-report".to_owned(),
                    points: 40,
                    rubric: serde_json::json!({"report_seq": 1, "criteria": []}),
                    author: "sato".to_owned(),
                },
            ),
            // Written before grades named their report: the rubric has it.
            event(
                3,
                Some(1),
                30,
                EventKind::ReportGraded {
                    report_seq: None,
                    objective: None,
                    form: "final-report".to_owned(),
                    points: 12,
                    rubric: serde_json::json!({"report_seq": 1, "criteria": []}),
                    author: "sato".to_owned(),
                },
            ),
        ];
        let kinds: Vec<ScoringEventKind> = scoring_events(&events, &[1])
            .into_iter()
            .map(|converted| converted.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                ScoringEventKind::ReportSubmitted {
                    form: "final-report".to_owned()
                },
                ScoringEventKind::ReportGraded {
                    report_seq: Some(1),
                    objective: Some("spoofing-notice".to_owned()),
                    form: "final-report".to_owned(),
                    points: 40,
                    author: "sato".to_owned(),
                },
                ScoringEventKind::ReportGraded {
                    report_seq: Some(1),
                    objective: None,
                    form: "final-report".to_owned(),
                    points: 12,
                    author: "sato".to_owned(),
                },
            ]
        );
    }
}
