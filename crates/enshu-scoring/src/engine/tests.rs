use super::*;
use crate::rules::TimeBonus;
use enshu_clock::{ClockAction, ClockChange, ExerciseClock};

const MINUTE: u64 = 60_000;

fn rule(id: &str, phase: Phase, points: u32) -> ObjectiveRule {
    ObjectiveRule {
        id: id.to_owned(),
        phase,
        points,
        anchor: DeadlineAnchor::Start,
        deadline_ms: None,
        due_ms: None,
        judged: false,
        time_bonus: None,
        hint_penalties: Vec::new(),
        late_credit_percent: 0,
        max_wrong_answers: None,
        wrong_answer_cost: 0,
    }
}

fn with_inject_deadline(
    mut objective_rule: ObjectiveRule,
    inject: &str,
    within_minutes: u64,
) -> ObjectiveRule {
    objective_rule.anchor = DeadlineAnchor::Inject(inject.to_owned());
    objective_rule.deadline_ms = Some(within_minutes * MINUTE);
    objective_rule
}

fn with_start_deadline(mut objective_rule: ObjectiveRule, within_minutes: u64) -> ObjectiveRule {
    objective_rule.deadline_ms = Some(within_minutes * MINUTE);
    objective_rule
}

/// Builds a log with increasing seq numbers.
#[derive(Default)]
struct Log {
    events: Vec<ScoringEvent>,
}

impl Log {
    fn push(&mut self, team: Option<u32>, minute: u64, kind: ScoringEventKind) -> &mut Log {
        let seq = self.events.len() as u64 + 1;
        self.events.push(ScoringEvent {
            seq,
            team,
            exercise_ms: minute * MINUTE,
            kind,
        });
        self
    }

    fn fired(&mut self, team: Option<u32>, minute: u64, inject: &str) -> &mut Log {
        self.push(
            team,
            minute,
            ScoringEventKind::InjectFired {
                inject: inject.to_owned(),
            },
        )
    }

    fn evidence(&mut self, team: u32, minute: u64, objective: &str, satisfied: bool) -> &mut Log {
        self.push(
            Some(team),
            minute,
            ScoringEventKind::ObjectiveEvidence {
                objective: objective.to_owned(),
                satisfied,
            },
        )
    }

    fn hint(
        &mut self,
        team: u32,
        minute: u64,
        objective: &str,
        hint_index: u32,
        penalty: u32,
    ) -> &mut Log {
        self.push(
            Some(team),
            minute,
            ScoringEventKind::HintTaken {
                objective: objective.to_owned(),
                hint_index,
                penalty,
            },
        )
    }

    fn answer(&mut self, team: u32, minute: u64, objective: &str, correct: bool) -> &mut Log {
        self.push(
            Some(team),
            minute,
            ScoringEventKind::AnswerSubmitted {
                objective: objective.to_owned(),
                correct,
            },
        )
    }

    fn adjustment(
        &mut self,
        team: u32,
        minute: u64,
        objective: Option<&str>,
        points: i64,
    ) -> &mut Log {
        self.push(
            Some(team),
            minute,
            ScoringEventKind::Adjustment {
                objective: objective.map(str::to_owned),
                points,
                reason: "checker false negative".to_owned(),
                author: "instructor-sato".to_owned(),
            },
        )
    }
}

fn one_team_at(now_minute: u64) -> [TeamClock; 1] {
    [TeamClock {
        team: 1,
        now_exercise_ms: now_minute * MINUTE,
    }]
}

fn score_one(rules: &[ObjectiveRule], log: &Log, now_minute: u64) -> TeamScore {
    score(rules, &one_team_at(now_minute), &log.events)
        .teams
        .remove(0)
}

#[test]
fn objective_met_before_its_deadline_earns_full_points() {
    let rules = [with_inject_deadline(
        rule("identify-patient-zero", Phase::Detection, 100),
        "phish-mail",
        30,
    )];
    let mut log = Log::default();
    log.fired(Some(1), 0, "phish-mail")
        .evidence(1, 20, "identify-patient-zero", true);

    let team = score_one(&rules, &log, 60);
    let objective = &team.objectives[0];
    assert_eq!(
        objective.status,
        ObjectiveStatus::Met {
            at_exercise_ms: 20 * MINUTE
        }
    );
    assert_eq!(objective.points_awarded, 100);
    assert_eq!(objective.time_to_meet_ms, Some(20 * MINUTE));
    assert_eq!(objective.met_by_seq, Some(2));
    assert_eq!(team.total, 100);
}

#[test]
fn meeting_exactly_at_the_deadline_is_on_time() {
    let rules = [with_inject_deadline(
        rule("identify-c2", Phase::Detection, 50),
        "beacon",
        10,
    )];
    let mut log = Log::default();
    log.fired(Some(1), 5, "beacon")
        .evidence(1, 15, "identify-c2", true);
    let team = score_one(&rules, &log, 30);
    assert_eq!(
        team.objectives[0].status,
        ObjectiveStatus::Met {
            at_exercise_ms: 15 * MINUTE
        }
    );
}

#[test]
fn deadline_counts_from_the_actual_fire_time_not_the_schedule() {
    // Scheduled at minute 0, but the instructor held the inject until 30.
    let rules = [with_inject_deadline(
        rule("identify-c2", Phase::Detection, 50),
        "beacon",
        10,
    )];
    let mut log = Log::default();
    log.fired(Some(1), 30, "beacon")
        .evidence(1, 35, "identify-c2", true);

    let team = score_one(&rules, &log, 60);
    let objective = &team.objectives[0];
    assert_eq!(objective.anchor_exercise_ms, Some(30 * MINUTE));
    assert_eq!(objective.deadline_exercise_ms, Some(40 * MINUTE));
    assert_eq!(
        objective.status,
        ObjectiveStatus::Met {
            at_exercise_ms: 35 * MINUTE
        }
    );
    assert_eq!(objective.time_to_meet_ms, Some(5 * MINUTE));
    assert_eq!(team.time_to_detect_ms(), Some(5 * MINUTE));
}

#[test]
fn each_team_is_timed_from_its_own_fire_time() {
    let rules = [with_inject_deadline(
        rule("identify-c2", Phase::Detection, 50),
        "beacon",
        10,
    )];
    let mut log = Log::default();
    log.fired(Some(1), 0, "beacon")
        .fired(Some(2), 20, "beacon")
        .evidence(1, 15, "identify-c2", true)
        .evidence(2, 25, "identify-c2", true);
    let teams = [
        TeamClock {
            team: 1,
            now_exercise_ms: 60 * MINUTE,
        },
        TeamClock {
            team: 2,
            now_exercise_ms: 60 * MINUTE,
        },
    ];
    let board = score(&rules, &teams, &log.events);
    assert_eq!(
        board.team(1).unwrap().objectives[0].status,
        ObjectiveStatus::Late {
            at_exercise_ms: 15 * MINUTE
        }
    );
    assert_eq!(
        board.team(2).unwrap().objectives[0].status,
        ObjectiveStatus::Met {
            at_exercise_ms: 25 * MINUTE
        }
    );
    assert_eq!(
        board.team(2).unwrap().objectives[0].time_to_meet_ms,
        Some(5 * MINUTE)
    );
}

#[test]
fn session_wide_inject_starts_every_teams_clock() {
    let rules = [with_inject_deadline(
        rule("identify-c2", Phase::Detection, 50),
        "beacon",
        10,
    )];
    let mut log = Log::default();
    log.fired(None, 4, "beacon");
    let team = score_one(&rules, &log, 15);
    assert_eq!(team.objectives[0].status, ObjectiveStatus::Missed);
    assert_eq!(team.objectives[0].anchor_exercise_ms, Some(4 * MINUTE));
}

#[test]
fn objective_met_after_its_deadline_is_late_with_late_credit_only() {
    let mut late_rule = with_inject_deadline(rule("block-c2", Phase::Response, 80), "beacon", 10);
    late_rule.late_credit_percent = 25;
    late_rule.time_bonus = Some(TimeBonus {
        max_bonus_points: 20,
        full_bonus_until_ms: 0,
        zero_bonus_at_ms: 60 * MINUTE,
    });
    let rules = [
        late_rule,
        with_inject_deadline(rule("isolate-host", Phase::Response, 80), "beacon", 10),
    ];
    let mut log = Log::default();
    log.fired(Some(1), 0, "beacon")
        .evidence(1, 11, "block-c2", true)
        .evidence(1, 12, "isolate-host", true);

    let team = score_one(&rules, &log, 60);
    assert_eq!(
        team.objectives[0].status,
        ObjectiveStatus::Late {
            at_exercise_ms: 11 * MINUTE
        }
    );
    assert_eq!(team.objectives[0].points_awarded, 20);
    assert_eq!(team.objectives[0].time_bonus_points, 0);
    assert_eq!(
        team.objectives[1].status,
        ObjectiveStatus::Late {
            at_exercise_ms: 12 * MINUTE
        }
    );
    assert_eq!(team.objectives[1].points_awarded, 0);
    assert_eq!(team.objectives[1].time_to_meet_ms, Some(12 * MINUTE));
    assert_eq!(team.phase(Phase::Response).objectives_achieved, 2);
    assert_eq!(team.time_to_contain_ms(), Some(12 * MINUTE));
}

#[test]
fn unmet_objective_is_pending_until_the_deadline_then_missed() {
    let rules = [with_start_deadline(
        rule("first-report", Phase::Reporting, 60),
        30,
    )];
    let log = Log::default();
    assert_eq!(
        score_one(&rules, &log, 29).objectives[0].status,
        ObjectiveStatus::Pending
    );
    assert_eq!(
        score_one(&rules, &log, 30).objectives[0].status,
        ObjectiveStatus::Pending
    );
    let missed = score_one(&rules, &log, 31);
    assert_eq!(missed.objectives[0].status, ObjectiveStatus::Missed);
    assert_eq!(missed.objectives[0].points_awarded, 0);
}

#[test]
fn objective_whose_inject_has_not_fired_stays_pending() {
    let rules = [with_inject_deadline(
        rule("identify-c2", Phase::Detection, 50),
        "beacon",
        10,
    )];
    let team = score_one(&rules, &Log::default(), 500);
    assert_eq!(team.objectives[0].status, ObjectiveStatus::Pending);
    assert_eq!(team.objectives[0].anchor_exercise_ms, None);
    assert_eq!(team.objectives[0].deadline_exercise_ms, None);
}

#[test]
fn objective_without_deadline_is_never_missed() {
    let rules = [rule("write-root-cause", Phase::Recovery, 40)];
    assert_eq!(
        score_one(&rules, &Log::default(), 100_000).objectives[0].status,
        ObjectiveStatus::Pending
    );
}

#[test]
fn paused_time_does_not_push_a_pending_objective_past_its_deadline() {
    // Deadline 30 exercise minutes after start; the exercise is paused from
    // wall minute 10 to 40 (lunch), so the deadline passes at wall 60.
    let rules = [with_start_deadline(
        rule("first-report", Phase::Reporting, 60),
        30,
    )];
    let wall_start: i64 = 1_750_000_000_000;
    let wall = |minute: u64| wall_start + (minute * MINUTE) as i64;
    let clocks = ExerciseClock::new([
        ClockChange::session(wall(0), ClockAction::Start),
        ClockChange::session(wall(10), ClockAction::Pause),
        ClockChange::session(wall(40), ClockAction::Resume),
    ]);
    let status_at_wall = |minute: u64| {
        let now_exercise_ms = clocks.exercise_ms_at(Some(1), wall(minute));
        score(
            &rules,
            &[TeamClock {
                team: 1,
                now_exercise_ms,
            }],
            &[],
        )
        .teams[0]
            .objectives[0]
            .status
    };
    assert_eq!(
        status_at_wall(35),
        ObjectiveStatus::Pending,
        "paused: 10 exercise minutes"
    );
    assert_eq!(
        status_at_wall(45),
        ObjectiveStatus::Pending,
        "15 exercise minutes"
    );
    assert_eq!(
        status_at_wall(60),
        ObjectiveStatus::Pending,
        "exactly at the deadline"
    );
    assert_eq!(
        status_at_wall(61),
        ObjectiveStatus::Missed,
        "31 exercise minutes"
    );
}

#[test]
fn failing_evidence_does_not_meet_and_later_success_does() {
    let rules = [rule("isolate-host", Phase::Response, 80)];
    let mut log = Log::default();
    log.evidence(1, 5, "isolate-host", false)
        .evidence(1, 9, "isolate-host", true)
        .evidence(1, 12, "isolate-host", false);
    let team = score_one(&rules, &log, 20);
    assert_eq!(
        team.objectives[0].status,
        ObjectiveStatus::Met {
            at_exercise_ms: 9 * MINUTE
        }
    );
    assert_eq!(team.objectives[0].met_by_seq, Some(2));
}

#[test]
fn evidence_of_other_teams_and_unknown_objectives_is_ignored() {
    let rules = [rule("isolate-host", Phase::Response, 80)];
    let mut log = Log::default();
    log.evidence(2, 5, "isolate-host", true)
        .evidence(1, 6, "no-such-objective", true);
    let team = score_one(&rules, &log, 20);
    assert_eq!(team.objectives[0].status, ObjectiveStatus::Pending);
    assert_eq!(team.total, 0);
}

#[test]
fn hint_penalties_are_subtracted_using_the_rules_schedule() {
    let mut hinted = rule("identify-patient-zero", Phase::Detection, 100);
    hinted.hint_penalties = vec![10, 25];
    let rules = [hinted];
    let mut log = Log::default();
    // The rule's schedule wins over the penalty the event carries; taking
    // the same hint twice costs once; an index past the schedule uses the
    // event's penalty.
    log.hint(1, 1, "identify-patient-zero", 0, 999)
        .hint(1, 2, "identify-patient-zero", 0, 999)
        .hint(1, 3, "identify-patient-zero", 1, 0)
        .hint(1, 4, "identify-patient-zero", 7, 5)
        .evidence(1, 10, "identify-patient-zero", true);
    let team = score_one(&rules, &log, 20);
    let objective = &team.objectives[0];
    assert_eq!(objective.hint_penalty_taken, 40);
    assert_eq!(objective.hint_penalty_applied, 40);
    assert_eq!(objective.points_awarded, 60);
    assert_eq!(team.hint_penalties_applied, 40);
    assert_eq!(team.total, 60);
}

#[test]
fn hint_penalties_never_push_an_objective_below_zero() {
    let mut hinted = rule("block-c2", Phase::Response, 30);
    hinted.hint_penalties = vec![20, 20];
    let rules = [hinted, rule("isolate-host", Phase::Response, 50)];
    let mut log = Log::default();
    log.hint(1, 1, "block-c2", 0, 20)
        .hint(1, 2, "block-c2", 1, 20)
        .evidence(1, 3, "block-c2", true)
        .evidence(1, 4, "isolate-host", true);
    let team = score_one(&rules, &log, 20);
    assert_eq!(team.objectives[0].hint_penalty_taken, 40);
    assert_eq!(team.objectives[0].hint_penalty_applied, 30);
    assert_eq!(team.objectives[0].points_awarded, 0);
    // The excess does not spill onto other objectives.
    assert_eq!(team.objectives[1].points_awarded, 50);
    assert_eq!(team.total, 50);
}

#[test]
fn hints_on_an_unmet_objective_cost_nothing_yet() {
    let mut hinted = rule("block-c2", Phase::Response, 30);
    hinted.hint_penalties = vec![10];
    let mut log = Log::default();
    log.hint(1, 1, "block-c2", 0, 10);
    let team = score_one(&[hinted], &log, 5);
    assert_eq!(team.objectives[0].hint_penalty_taken, 10);
    assert_eq!(team.objectives[0].hint_penalty_applied, 0);
    assert_eq!(team.total, 0);
}

#[test]
fn time_bonus_decays_linearly_from_the_actual_fire_time() {
    let bonus = TimeBonus {
        max_bonus_points: 30,
        full_bonus_until_ms: 5 * MINUTE,
        zero_bonus_at_ms: 35 * MINUTE,
    };
    assert_eq!(bonus.bonus_after(0), 30);
    assert_eq!(bonus.bonus_after(5 * MINUTE), 30);
    assert_eq!(bonus.bonus_after(20 * MINUTE), 15);
    assert_eq!(bonus.bonus_after(34 * MINUTE), 1);
    assert_eq!(bonus.bonus_after(35 * MINUTE), 0);
    assert_eq!(bonus.bonus_after(u64::MAX), 0);

    let mut fast = with_inject_deadline(rule("identify-c2", Phase::Detection, 50), "beacon", 60);
    fast.time_bonus = Some(bonus);
    let mut log = Log::default();
    log.fired(Some(1), 40, "beacon")
        .evidence(1, 60, "identify-c2", true);
    let team = score_one(&[fast], &log, 90);
    assert_eq!(team.objectives[0].time_bonus_points, 15);
    assert_eq!(team.objectives[0].points_awarded, 65);
}

#[test]
fn adjustments_are_listed_with_author_and_reason_and_counted() {
    let rules = [
        rule("isolate-host", Phase::Response, 80),
        rule("first-report", Phase::Reporting, 60),
    ];
    let mut log = Log::default();
    log.evidence(1, 5, "first-report", true)
        .adjustment(1, 10, Some("isolate-host"), 40)
        .adjustment(1, 11, None, -15)
        .adjustment(2, 12, None, 1000);
    let team = score_one(&rules, &log, 20);
    assert_eq!(team.adjustments.len(), 2);
    assert_eq!(
        team.adjustments[0],
        AdjustmentEntry {
            seq: 2,
            exercise_ms: 10 * MINUTE,
            objective: Some("isolate-host".to_owned()),
            points: 40,
            reason: "checker false negative".to_owned(),
            author: "instructor-sato".to_owned(),
        }
    );
    assert_eq!(team.phase(Phase::Response).points, 40);
    assert_eq!(
        team.objectives[0].points_awarded, 0,
        "adjustments do not change the objective's own result"
    );
    assert_eq!(team.total, 60 + 40 - 15);
}

#[test]
fn graded_reports_count_towards_reporting() {
    let rules = [rule("first-report", Phase::Reporting, 60)];
    let mut log = Log::default();
    log.push(
        Some(1),
        40,
        ScoringEventKind::ReportGraded {
            report_seq: None,
            objective: None,
            form: "first".to_owned(),
            points: 25,
            author: "instructor-sato".to_owned(),
        },
    );
    let team = score_one(&rules, &log, 50);
    assert_eq!(team.graded_reports.len(), 1);
    assert_eq!(team.phase(Phase::Reporting).points, 25);
    assert_eq!(team.total, 25);
}

#[test]
fn phase_summaries_report_first_and_all_achieved_times() {
    let rules = [
        with_inject_deadline(
            rule("identify-patient-zero", Phase::Detection, 100),
            "phish-mail",
            60,
        ),
        with_inject_deadline(rule("identify-c2", Phase::Detection, 50), "beacon", 60),
        rule("restore-web", Phase::Recovery, 70),
        rule("remove-webshell", Phase::Recovery, 70),
    ];
    let mut log = Log::default();
    log.fired(Some(1), 0, "phish-mail")
        .fired(Some(1), 5, "beacon")
        .evidence(1, 12, "identify-c2", true)
        .evidence(1, 20, "identify-patient-zero", true)
        .evidence(1, 50, "restore-web", true);
    let team = score_one(&rules, &log, 60);
    let detection = team.phase(Phase::Detection);
    assert_eq!(detection.objectives_total, 2);
    assert_eq!(detection.objectives_achieved, 2);
    assert_eq!(detection.points, 150);
    assert_eq!(detection.first_achieved_after_ms, Some(7 * MINUTE));
    assert_eq!(detection.all_achieved_after_ms, Some(20 * MINUTE));
    assert_eq!(team.time_to_detect_ms(), Some(7 * MINUTE));
    assert_eq!(
        team.time_to_recover_ms(),
        None,
        "one recovery objective is still open"
    );
    assert_eq!(
        team.phase(Phase::Recovery).first_achieved_after_ms,
        Some(50 * MINUTE)
    );
    assert_eq!(team.time_to_report_ms(), None);
    assert_eq!(team.phase(Phase::Response).objectives_total, 0);
}

#[test]
fn scoring_is_deterministic() {
    let mut hinted = with_inject_deadline(rule("identify-c2", Phase::Detection, 50), "beacon", 10);
    hinted.hint_penalties = vec![5];
    let rules = [
        hinted,
        with_start_deadline(rule("first-report", Phase::Reporting, 60), 30),
    ];
    let mut log = Log::default();
    log.fired(None, 1, "beacon")
        .hint(1, 2, "identify-c2", 0, 5)
        .evidence(1, 3, "identify-c2", true)
        .evidence(2, 30, "identify-c2", true)
        .adjustment(2, 31, None, 5);
    let teams = [
        TeamClock {
            team: 2,
            now_exercise_ms: 40 * MINUTE,
        },
        TeamClock {
            team: 1,
            now_exercise_ms: 40 * MINUTE,
        },
    ];
    let first = score(&rules, &teams, &log.events);
    let second = score(&rules, &teams, &log.events);
    assert_eq!(first, second);
    assert_eq!(
        first.teams.iter().map(|team| team.team).collect::<Vec<_>>(),
        [2, 1]
    );
}

#[test]
fn rules_read_from_json() {
    let rules: Vec<ObjectiveRule> = serde_json::from_str(
        r#"[{"id": "identify-c2", "phase": "detection", "points": 50,
             "anchor": {"inject": "beacon"}, "deadline_ms": 600000,
             "hint_penalties": [5, 10]},
            {"id": "notice", "phase": "reporting", "points": 50, "judged": true}]"#,
    )
    .unwrap();
    assert_eq!(rules[0].anchor, DeadlineAnchor::Inject("beacon".to_owned()));
    assert_eq!(rules[0].deadline_ms, Some(600_000));
    assert_eq!(rules[0].late_credit_percent, 0);
    assert!(!rules[0].judged);
    assert_eq!(rules[1].anchor, DeadlineAnchor::Start);
    assert!(rules[1].judged);
}

fn judged(id: &str, points: u32, inject: &str, within_minutes: u64) -> ObjectiveRule {
    let mut judged_rule =
        with_inject_deadline(rule(id, Phase::Reporting, points), inject, within_minutes);
    judged_rule.judged = true;
    judged_rule
}

impl Log {
    /// A report of team `team`; returns its seq.
    fn report(&mut self, team: u32, minute: u64, form: &str) -> u64 {
        self.push(
            Some(team),
            minute,
            ScoringEventKind::ReportSubmitted {
                form: form.to_owned(),
            },
        );
        self.events.len() as u64
    }

    fn grade(
        &mut self,
        team: u32,
        minute: u64,
        report_seq: u64,
        objective: Option<&str>,
        points: i64,
    ) -> &mut Log {
        self.push(
            Some(team),
            minute,
            ScoringEventKind::ReportGraded {
                report_seq: Some(report_seq),
                objective: objective.map(str::to_owned),
                form: "final-report".to_owned(),
                points,
                author: "instructor-sato".to_owned(),
            },
        )
    }
}

#[test]
fn judged_objective_is_met_at_the_reports_submission_when_graded() {
    // The notice is due 30 minutes after the call; the team sent it at 50,
    // the instructor graded it at 90, long after the deadline.
    let rules = [judged("spoofing-notice", 50, "partner-call", 30)];
    let mut log = Log::default();
    log.fired(Some(1), 35, "partner-call");
    let report = log.report(1, 50, "final-report");
    let before_grading = score_one(&rules, &log, 60);
    assert_eq!(
        before_grading.objectives[0].status,
        ObjectiveStatus::Pending
    );
    assert_eq!(before_grading.total, 0);

    log.grade(1, 90, report, Some("spoofing-notice"), 40);
    let team = score_one(&rules, &log, 95);
    let objective = &team.objectives[0];
    assert_eq!(
        objective.status,
        ObjectiveStatus::Met {
            at_exercise_ms: 50 * MINUTE
        }
    );
    assert_eq!(objective.time_to_meet_ms, Some(15 * MINUTE));
    assert_eq!(objective.met_by_seq, Some(report));
    assert_eq!(objective.graded_by_seq, Some(report + 1));
    assert_eq!(objective.points_awarded, 40);
    assert_eq!(team.phase(Phase::Reporting).points, 40);
    assert_eq!(team.phase(Phase::Reporting).objectives_achieved, 1);
    assert_eq!(team.time_to_report_ms(), Some(15 * MINUTE));
    assert_eq!(
        team.total, 40,
        "the grade counts once, through its objective"
    );
}

#[test]
fn judged_grade_is_capped_at_the_objectives_points() {
    let rules = [judged("spoofing-notice", 50, "partner-call", 30)];
    let mut log = Log::default();
    log.fired(Some(1), 0, "partner-call");
    let report = log.report(1, 10, "final-report");
    log.grade(1, 20, report, Some("spoofing-notice"), 80);
    let team = score_one(&rules, &log, 30);
    assert_eq!(team.objectives[0].base_points, 50);
    assert_eq!(team.objectives[0].points_awarded, 50);
    assert_eq!(team.total, 50);
}

#[test]
fn a_regrade_replaces_the_previous_grade_and_both_stay_on_the_audit_trail() {
    let rules = [judged("spoofing-notice", 50, "partner-call", 30)];
    let mut log = Log::default();
    log.fired(Some(1), 0, "partner-call");
    let report = log.report(1, 10, "final-report");
    log.grade(1, 20, report, Some("spoofing-notice"), 30).grade(
        1,
        25,
        report,
        Some("spoofing-notice"),
        45,
    );
    let team = score_one(&rules, &log, 30);
    assert_eq!(team.objectives[0].points_awarded, 45, "not 30 + 45");
    assert_eq!(team.total, 45);
    assert_eq!(team.graded_reports.len(), 2);
    assert_eq!(team.graded_reports[0].points, 30);
    assert_eq!(team.graded_reports[0].replaced_by_seq, Some(report + 2));
    assert_eq!(team.graded_reports[1].replaced_by_seq, None);

    // A lower re-grade replaces a higher one too: the latest word counts.
    log.grade(1, 28, report, Some("spoofing-notice"), 10);
    let regraded = score_one(&rules, &log, 30);
    assert_eq!(regraded.objectives[0].points_awarded, 10);
    assert_eq!(regraded.total, 10);
}

#[test]
fn a_regrade_of_a_grade_that_names_no_objective_replaces_it_too() {
    let rules = [rule("first-report", Phase::Reporting, 60)];
    let mut log = Log::default();
    let report = log.report(1, 10, "first-report");
    log.grade(1, 20, report, None, 12)
        .grade(1, 21, report, None, 25);
    let other_report = log.report(1, 30, "follow-up-report");
    log.grade(1, 40, other_report, None, 5);
    let team = score_one(&rules, &log, 50);
    assert_eq!(team.phase(Phase::Reporting).points, 25 + 5);
    assert_eq!(team.total, 25 + 5);
}

#[test]
fn a_judged_report_sent_after_the_deadline_is_late() {
    let mut late_rule = judged("spoofing-notice", 50, "partner-call", 30);
    late_rule.late_credit_percent = 50;
    let rules = [late_rule];
    let mut log = Log::default();
    log.fired(Some(1), 0, "partner-call");
    let report = log.report(1, 45, "final-report");
    log.grade(1, 50, report, Some("spoofing-notice"), 40);
    let team = score_one(&rules, &log, 60);
    assert_eq!(
        team.objectives[0].status,
        ObjectiveStatus::Late {
            at_exercise_ms: 45 * MINUTE
        }
    );
    assert_eq!(team.objectives[0].points_awarded, 20, "half of the grade");
}

#[test]
fn of_several_graded_reports_the_best_counts() {
    let rules = [judged("spoofing-notice", 50, "partner-call", 60)];
    let mut log = Log::default();
    log.fired(Some(1), 0, "partner-call");
    let draft = log.report(1, 10, "final-report");
    let better = log.report(1, 20, "final-report");
    log.grade(1, 30, draft, Some("spoofing-notice"), 15).grade(
        1,
        31,
        better,
        Some("spoofing-notice"),
        35,
    );
    let team = score_one(&rules, &log, 40);
    assert_eq!(team.objectives[0].points_awarded, 35);
    assert_eq!(team.objectives[0].met_by_seq, Some(better));
    assert_eq!(
        team.objectives[0].status,
        ObjectiveStatus::Met {
            at_exercise_ms: 20 * MINUTE
        }
    );
    assert_eq!(team.total, 35);
}

#[test]
fn each_judged_objective_counts_only_the_grades_that_name_it() {
    let rules = [
        judged("spoofing-notice", 50, "partner-call", 60),
        judged("root-cause", 40, "partner-call", 60),
        rule("first-report", Phase::Reporting, 60),
    ];
    let mut log = Log::default();
    log.fired(Some(1), 0, "partner-call");
    let report = log.report(1, 10, "final-report");
    log.grade(1, 20, report, Some("root-cause"), 30)
        // A grade naming an objective that is not judged counts nowhere.
        .grade(1, 21, report, Some("first-report"), 60);
    let team = score_one(&rules, &log, 30);
    assert_eq!(
        team.objective("spoofing-notice").unwrap().status,
        ObjectiveStatus::Pending
    );
    assert_eq!(team.objective("root-cause").unwrap().points_awarded, 30);
    assert_eq!(
        team.objective("first-report").unwrap().status,
        ObjectiveStatus::Pending
    );
    assert_eq!(team.total, 30);
}

#[test]
fn judged_objectives_ignore_automatic_evidence() {
    let rules = [judged("spoofing-notice", 50, "partner-call", 60)];
    let mut log = Log::default();
    log.fired(Some(1), 0, "partner-call")
        .evidence(1, 5, "spoofing-notice", true);
    let team = score_one(&rules, &log, 10);
    assert_eq!(team.objectives[0].status, ObjectiveStatus::Pending);
    assert_eq!(team.total, 0);
}

#[test]
fn objective_with_an_inject_and_no_deadline_is_timed_from_the_inject() {
    let mut persistence = rule("remove-persistence", Phase::Recovery, 50);
    persistence.anchor = DeadlineAnchor::Inject("persistence".to_owned());
    let rules = [persistence];
    let mut log = Log::default();
    // The file is not there yet, so the check passes before the inject.
    log.evidence(1, 5, "remove-persistence", true);
    let before_the_inject = score_one(&rules, &log, 30);
    assert_eq!(
        before_the_inject.objectives[0].status,
        ObjectiveStatus::Pending,
        "pending until the inject fired, whatever the evidence"
    );
    assert_eq!(before_the_inject.objectives[0].anchor_exercise_ms, None);
    assert_eq!(before_the_inject.total, 0);

    log.fired(Some(1), 40, "persistence");
    let fired = score_one(&rules, &log, 45);
    assert_eq!(
        fired.objectives[0].status,
        ObjectiveStatus::Pending,
        "evidence from before the fire does not count"
    );
    assert_eq!(fired.objectives[0].anchor_exercise_ms, Some(40 * MINUTE));

    log.evidence(1, 55, "remove-persistence", false)
        .evidence(1, 58, "remove-persistence", true);
    let removed = score_one(&rules, &log, 60);
    assert_eq!(
        removed.objectives[0].status,
        ObjectiveStatus::Met {
            at_exercise_ms: 58 * MINUTE
        }
    );
    assert_eq!(removed.objectives[0].time_to_meet_ms, Some(18 * MINUTE));
    assert_eq!(removed.time_to_recover_ms(), Some(18 * MINUTE));
    assert_eq!(removed.total, 50);
}

#[test]
fn a_judged_report_sent_before_its_inject_fired_does_not_meet_it() {
    let rules = [judged("spoofing-notice", 50, "partner-call", 30)];
    let mut log = Log::default();
    let early = log.report(1, 5, "final-report");
    log.fired(Some(1), 10, "partner-call")
        .grade(1, 20, early, Some("spoofing-notice"), 40);
    let team = score_one(&rules, &log, 25);
    assert_eq!(team.objectives[0].status, ObjectiveStatus::Pending);
    assert_eq!(team.total, 0);
    assert_eq!(team.graded_reports.len(), 1, "the grade is still listed");
}

fn due_at(mut objective_rule: ObjectiveRule, due_minute: u64) -> ObjectiveRule {
    objective_rule.due_ms = Some(due_minute * MINUTE);
    objective_rule
}

#[test]
fn due_objective_met_by_its_due_time_is_on_time() {
    let rules = [due_at(rule("final-report", Phase::Reporting, 80), 120)];
    let mut log = Log::default();
    log.evidence(1, 110, "final-report", true);
    let team = score_one(&rules, &log, 130);
    assert_eq!(
        team.objectives[0].status,
        ObjectiveStatus::Met {
            at_exercise_ms: 110 * MINUTE
        }
    );
    assert_eq!(team.objectives[0].deadline_exercise_ms, Some(120 * MINUTE));
    assert_eq!(team.objectives[0].due_exercise_ms, Some(120 * MINUTE));
    assert_eq!(team.total, 80);
}

#[test]
fn due_objective_cannot_be_met_after_its_due_time() {
    let rules = [due_at(rule("final-report", Phase::Reporting, 80), 120)];
    let mut log = Log::default();
    assert_eq!(
        score_one(&rules, &log, 120).objectives[0].status,
        ObjectiveStatus::Pending,
        "exactly at the due time it can still be met"
    );
    assert_eq!(
        score_one(&rules, &log, 121).objectives[0].status,
        ObjectiveStatus::Missed
    );
    log.evidence(1, 125, "final-report", true);
    let team = score_one(&rules, &log, 130);
    assert_eq!(
        team.objectives[0].status,
        ObjectiveStatus::Missed,
        "evidence after the due time earns nothing"
    );
    assert_eq!(team.objectives[0].met_by_seq, None);
    assert_eq!(team.total, 0);
}

#[test]
fn due_caps_a_longer_deadline_and_a_shorter_deadline_can_still_be_late() {
    // Deadline 60 minutes after an inject at 80 would be 140; due 120 wins.
    let capped = due_at(
        with_inject_deadline(rule("follow-up", Phase::Reporting, 50), "soc-alert", 60),
        120,
    );
    // Deadline 20 minutes after the inject (100), due at 120: late in between.
    let mut short = due_at(
        with_inject_deadline(rule("first-report", Phase::Reporting, 100), "soc-alert", 20),
        120,
    );
    short.late_credit_percent = 50;
    let rules = [capped, short];
    let mut log = Log::default();
    log.fired(Some(1), 80, "soc-alert")
        .evidence(1, 110, "first-report", true)
        .evidence(1, 125, "follow-up", true);
    let team = score_one(&rules, &log, 130);
    let follow_up = team.objective("follow-up").unwrap();
    assert_eq!(follow_up.deadline_exercise_ms, Some(120 * MINUTE));
    assert_eq!(follow_up.status, ObjectiveStatus::Missed);
    let first_report = team.objective("first-report").unwrap();
    assert_eq!(first_report.deadline_exercise_ms, Some(100 * MINUTE));
    assert_eq!(
        first_report.status,
        ObjectiveStatus::Late {
            at_exercise_ms: 110 * MINUTE
        }
    );
    assert_eq!(first_report.points_awarded, 50);
    assert_eq!(team.total, 50);
}

#[test]
fn due_passes_even_when_the_inject_was_held_back() {
    let rules = [due_at(
        with_inject_deadline(rule("first-report", Phase::Reporting, 100), "soc-alert", 30),
        60,
    )];
    let team = score_one(&rules, &Log::default(), 61);
    assert_eq!(team.objectives[0].anchor_exercise_ms, None);
    assert_eq!(team.objectives[0].status, ObjectiveStatus::Missed);
}

#[test]
fn a_judged_report_submitted_after_due_earns_nothing_whenever_graded() {
    let rules = [due_at(
        judged("spoofing-notice", 50, "partner-call", 90),
        60,
    )];
    let mut log = Log::default();
    log.fired(Some(1), 10, "partner-call");
    let report = log.report(1, 65, "final-report");
    log.grade(1, 70, report, Some("spoofing-notice"), 50);
    let team = score_one(&rules, &log, 75);
    assert_eq!(team.objectives[0].status, ObjectiveStatus::Missed);
    assert_eq!(team.total, 0);
}

#[test]
fn an_objective_is_missed_at_its_deadline_from_its_injects_fire_or_the_start() {
    let rules = [
        with_inject_deadline(rule("block-c2", Phase::Response, 100), "beacon", 25),
        with_start_deadline(rule("first-report", Phase::Reporting, 60), 30),
        rule("write-root-cause", Phase::Recovery, 40),
    ];
    let mut log = Log::default();
    log.fired(Some(1), 10, "beacon");
    let at = |minute| score_one(&rules, &log, minute);
    // Nothing is missed while its deadline has not passed.
    let before = at(30);
    assert!(
        before
            .objectives
            .iter()
            .all(|objective| objective.missed_at_exercise_ms().is_none()),
        "{before:?}"
    );
    // The start-anchored one is missed at 30, the beacon's at 10 + 25 = 35,
    // the one with neither deadline nor due never.
    let after = at(36);
    let missed: Vec<Option<u64>> = after
        .objectives
        .iter()
        .map(ObjectiveScore::missed_at_exercise_ms)
        .collect();
    assert_eq!(missed, [Some(35 * MINUTE), Some(30 * MINUTE), None]);
    assert!(
        after
            .objectives
            .iter()
            .all(|objective| objective.met_at_exercise_ms().is_none())
    );
    assert_eq!(at(100_000).objectives[2].missed_at_exercise_ms(), None);
}

#[test]
fn a_due_time_alone_makes_an_objective_missable() {
    let mut closes = rule("notice", Phase::Reporting, 50);
    closes.due_ms = Some(45 * MINUTE);
    let rules = [closes];
    let log = Log::default();
    assert_eq!(
        score_one(&rules, &log, 45).objectives[0].missed_at_exercise_ms(),
        None
    );
    assert_eq!(
        score_one(&rules, &log, 46).objectives[0].missed_at_exercise_ms(),
        Some(45 * MINUTE)
    );
}

#[test]
fn met_is_when_the_evidence_or_the_graded_report_came_and_late_is_both() {
    let rules = [
        with_inject_deadline(rule("block-c2", Phase::Response, 100), "beacon", 25),
        judged("notice", 50, "beacon", 30),
    ];
    let mut log = Log::default();
    log.fired(Some(1), 10, "beacon");
    // Met late: after its deadline at 35, so it was missed there first.
    log.evidence(1, 40, "block-c2", true);
    let report = log.report(1, 20, "final-report");
    let ungraded = score_one(&rules, &log, 39);
    assert_eq!(ungraded.objectives[1].met_at_exercise_ms(), None);
    log.grade(1, 50, report, Some("notice"), 30);
    let team = score_one(&rules, &log, 50);
    let block = &team.objectives[0];
    assert_eq!(block.met_at_exercise_ms(), Some(40 * MINUTE));
    assert_eq!(block.missed_at_exercise_ms(), Some(35 * MINUTE));
    // The grade meets the judged objective at the report's submission.
    let notice = &team.objectives[1];
    assert_eq!(notice.met_at_exercise_ms(), Some(20 * MINUTE));
    assert_eq!(notice.missed_at_exercise_ms(), None);
}

fn question(attempts: u32, cost: u32) -> ObjectiveRule {
    let mut question =
        with_inject_deadline(rule("c2-address", Phase::Detection, 100), "beacon", 30);
    question.max_wrong_answers = Some(attempts);
    question.wrong_answer_cost = cost;
    question
}

#[test]
fn an_answer_before_the_inject_fired_counts_for_nothing() {
    let rules = [question(1, 40)];
    let mut log = Log::default();
    // A correct guess and a wrong one before the beacon started: neither
    // meets the objective, neither uses the one attempt or costs points.
    log.answer(1, 1, "c2-address", true)
        .answer(1, 2, "c2-address", false)
        .fired(Some(1), 10, "beacon");
    let objective = score_one(&rules, &log, 12).objectives.remove(0);
    assert_eq!(objective.status, ObjectiveStatus::Pending);
    assert_eq!(objective.wrong_answers, 0);
    assert!(!objective.answers_locked);

    log.answer(1, 15, "c2-address", true);
    let objective = score_one(&rules, &log, 20).objectives.remove(0);
    assert_eq!(
        objective.status,
        ObjectiveStatus::Met {
            at_exercise_ms: 15 * MINUTE
        }
    );
    assert_eq!(objective.time_to_meet_ms, Some(5 * MINUTE));
    assert_eq!(objective.points_awarded, 100);
}

#[test]
fn a_question_locks_after_its_attempts_and_a_later_correct_answer_earns_nothing() {
    let rules = [question(2, 0)];
    let mut log = Log::default();
    log.fired(Some(1), 0, "beacon")
        .answer(1, 1, "c2-address", false)
        .answer(1, 2, "c2-address", false)
        .answer(1, 3, "c2-address", true);
    let objective = score_one(&rules, &log, 5).objectives.remove(0);
    assert_eq!(objective.status, ObjectiveStatus::Pending);
    assert!(objective.answers_locked);
    assert_eq!(objective.wrong_answers, 2);
    assert_eq!(objective.points_awarded, 0);
    // Past its deadline it is missed like any unmet objective.
    let objective = score_one(&rules, &log, 31).objectives.remove(0);
    assert_eq!(objective.status, ObjectiveStatus::Missed);
}

#[test]
fn each_wrong_answer_before_the_right_one_costs_points_never_below_zero() {
    let rules = [question(5, 30)];
    let mut log = Log::default();
    log.fired(Some(1), 0, "beacon")
        .answer(1, 1, "c2-address", false)
        .answer(1, 2, "c2-address", false)
        .answer(1, 3, "c2-address", true)
        // After it was met a wrong answer changes nothing.
        .answer(1, 4, "c2-address", false);
    let team = score_one(&rules, &log, 5);
    let objective = &team.objectives[0];
    assert!(objective.status.is_achieved());
    assert_eq!(objective.wrong_answers, 2);
    assert_eq!(objective.wrong_answer_penalty_applied, 60);
    assert_eq!(objective.points_awarded, 40);
    assert_eq!(team.total, 40);

    let mut guessing = Log::default();
    guessing.fired(Some(1), 0, "beacon");
    for minute in 1..=4 {
        guessing.answer(1, minute, "c2-address", false);
    }
    guessing.answer(1, 5, "c2-address", true);
    let objective = score_one(&rules, &guessing, 6).objectives.remove(0);
    assert_eq!(objective.wrong_answer_penalty_applied, 100);
    assert_eq!(objective.points_awarded, 0);
    // An unmet question costs nothing: the total never goes negative.
    let mut wrong_only = Log::default();
    wrong_only
        .fired(Some(1), 0, "beacon")
        .answer(1, 1, "c2-address", false);
    assert_eq!(score_one(&rules, &wrong_only, 2).total, 0);
}
