//! The scoring itself: rules + events + each team's clock → scoreboard.
//!
//! For each team and objective the engine finds when the objective's clock
//! started (exercise start, or the inject's actual fire time for that
//! team), the evidence that meets it — the first satisfying check or
//! answer after that start and by its `due` time, or for a judged
//! objective the best graded report — and from those the status and the
//! points. Everything else — phase totals, time-to-detect and friends, the
//! audit trail of instructor adjustments — is derived from those per-
//! objective results, so the scoreboard and its explanation cannot drift
//! apart.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::input::{ScoringEvent, ScoringEventKind, TeamClock};
use crate::rules::{DeadlineAnchor, ObjectiveRule, Phase};

/// Where one objective stands for one team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ObjectiveStatus {
    /// Not met yet, and its deadline (if any) has not passed on the team's
    /// exercise clock — or its inject has not fired yet.
    Pending,
    /// Met on time, at this exercise-clock offset.
    Met { at_exercise_ms: u64 },
    /// Met after its deadline, at this exercise-clock offset.
    Late { at_exercise_ms: u64 },
    /// Not met, and the deadline has passed.
    Missed,
}

impl ObjectiveStatus {
    pub fn is_achieved(self) -> bool {
        matches!(
            self,
            ObjectiveStatus::Met { .. } | ObjectiveStatus::Late { .. }
        )
    }
}

impl ObjectiveScore {
    /// When the objective was met, on time or late: what a scenario's
    /// `on: {outcome: met}` trigger counts from.
    pub fn met_at_exercise_ms(&self) -> Option<u64> {
        match self.status {
            ObjectiveStatus::Met { at_exercise_ms } | ObjectiveStatus::Late { at_exercise_ms } => {
                Some(at_exercise_ms)
            }
            ObjectiveStatus::Pending | ObjectiveStatus::Missed => None,
        }
    }

    /// When the objective was missed: its deadline, once that passed with
    /// the objective unmet. A late objective was missed at its deadline and
    /// met afterwards; one with neither a deadline nor a `due` time is
    /// never missed. What a scenario's `on: {outcome: missed}` trigger
    /// counts from.
    pub fn missed_at_exercise_ms(&self) -> Option<u64> {
        match self.status {
            ObjectiveStatus::Missed | ObjectiveStatus::Late { .. } => self.deadline_exercise_ms,
            ObjectiveStatus::Pending | ObjectiveStatus::Met { .. } => None,
        }
    }
}

/// One objective's result for one team, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveScore {
    pub objective: String,
    pub phase: Phase,
    pub status: ObjectiveStatus,
    /// When the objective's clock started: 0 for the exercise start, the
    /// inject's actual fire time otherwise; `None` while the inject has not
    /// fired.
    pub anchor_exercise_ms: Option<u64>,
    /// Anchor plus the time allowed, or the `due` time if that comes first;
    /// `None` without either (or while the anchor's inject has not fired
    /// and there is no `due`).
    pub deadline_exercise_ms: Option<u64>,
    /// The `due` time: after it the objective can no longer be met.
    pub due_exercise_ms: Option<u64>,
    /// From the anchor (the inject's actual fire time) to the meeting event.
    pub time_to_meet_ms: Option<u64>,
    /// The event that met the objective: the check result or answer, or
    /// for a judged objective the graded report.
    pub met_by_seq: Option<u64>,
    /// For a judged objective, the grade whose points count.
    pub graded_by_seq: Option<u64>,
    /// Points earned before penalties: the rule's points (for a judged
    /// objective the grade, capped at the rule's points), or the late credit.
    pub base_points: u32,
    pub time_bonus_points: u32,
    /// Sum of the penalties of the hints taken for this objective.
    pub hint_penalty_taken: u32,
    /// The part of `hint_penalty_taken` actually subtracted; penalties never
    /// take an objective below 0.
    pub hint_penalty_applied: u32,
    /// Wrong answers that counted: after the objective's inject fired, by
    /// its `due` time, before it was met and up to the rule's limit.
    #[serde(default)]
    pub wrong_answers: u32,
    /// The question took its last counted wrong answer: no answer meets
    /// the objective any more.
    #[serde(default)]
    pub answers_locked: bool,
    /// Points the counted wrong answers took off (never below 0).
    #[serde(default)]
    pub wrong_answer_penalty_applied: u32,
    pub points_awarded: u32,
}

/// An instructor's manual correction, as listed on the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentEntry {
    pub seq: u64,
    pub exercise_ms: u64,
    pub objective: Option<String>,
    pub points: i64,
    pub reason: String,
    pub author: String,
}

/// An instructor's grade of a report, as listed on the audit trail. Every
/// grade is listed, including the ones a re-grade replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradedReportEntry {
    pub seq: u64,
    pub exercise_ms: u64,
    /// The graded report, when the log names it.
    pub report_seq: Option<u64>,
    /// The judged objective the report was graded for; `None` for a grade
    /// that counts towards reporting on its own.
    pub objective: Option<String>,
    pub form: String,
    pub points: i64,
    pub author: String,
    /// The later grade of the same report for the same objective that
    /// replaced this one; `None` for the grade that counts.
    pub replaced_by_seq: Option<u64>,
}

/// Totals and timings of one phase for one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseSummary {
    pub phase: Phase,
    pub objectives_total: usize,
    /// Met or late.
    pub objectives_achieved: usize,
    /// Objective points, plus adjustments naming an objective of this
    /// phase, plus (for reporting) the grades that name no objective.
    pub points: i64,
    /// Shortest anchor-to-meeting time among the achieved objectives.
    pub first_achieved_after_ms: Option<u64>,
    /// Longest anchor-to-meeting time, once every objective of the phase is
    /// achieved.
    pub all_achieved_after_ms: Option<u64>,
}

/// One team's line on the scoreboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamScore {
    pub team: u32,
    pub now_exercise_ms: u64,
    /// In rule order.
    pub objectives: Vec<ObjectiveScore>,
    /// In phase order, all four phases.
    pub phases: Vec<PhaseSummary>,
    /// In log order.
    pub adjustments: Vec<AdjustmentEntry>,
    /// In log order.
    pub graded_reports: Vec<GradedReportEntry>,
    pub hint_penalties_applied: u32,
    pub total: i64,
}

impl TeamScore {
    pub fn phase(&self, phase: Phase) -> &PhaseSummary {
        self.phases
            .iter()
            .find(|summary| summary.phase == phase)
            .expect("every phase is summarised")
    }

    pub fn objective(&self, objective: &str) -> Option<&ObjectiveScore> {
        self.objectives
            .iter()
            .find(|score| score.objective == objective)
    }

    /// Time to detect: the first detection objective achieved, from its anchor.
    pub fn time_to_detect_ms(&self) -> Option<u64> {
        self.phase(Phase::Detection).first_achieved_after_ms
    }

    /// Time to contain: once every response objective is achieved.
    pub fn time_to_contain_ms(&self) -> Option<u64> {
        self.phase(Phase::Response).all_achieved_after_ms
    }

    /// Time to report: the first reporting objective (the first report) achieved.
    pub fn time_to_report_ms(&self) -> Option<u64> {
        self.phase(Phase::Reporting).first_achieved_after_ms
    }

    /// Time to recover: once every recovery objective is achieved.
    pub fn time_to_recover_ms(&self) -> Option<u64> {
        self.phase(Phase::Recovery).all_achieved_after_ms
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scoreboard {
    /// In the order the teams were given.
    pub teams: Vec<TeamScore>,
}

impl Scoreboard {
    pub fn team(&self, team: u32) -> Option<&TeamScore> {
        self.teams.iter().find(|score| score.team == team)
    }
}

/// Scores every team in `teams` from the ordered event log.
///
/// Events for teams not listed, and events naming objectives that no rule
/// defines, are ignored (adjustments still count towards the total; a
/// grade naming an objective counts only through that objective, if it is
/// judged). Events are taken in the order given, which should be log
/// (`seq`) order.
pub fn score(rules: &[ObjectiveRule], teams: &[TeamClock], events: &[ScoringEvent]) -> Scoreboard {
    Scoreboard {
        teams: teams
            .iter()
            .map(|team_clock| score_team(rules, *team_clock, events))
            .collect(),
    }
}

/// What the log says about one team, gathered in one pass.
#[derive(Default)]
struct TeamFacts<'events> {
    /// First actual fire of each inject for the team: (exercise_ms, seq).
    inject_fired: BTreeMap<&'events str, (u64, u64)>,
    /// Every satisfying evidence per objective, in log order: (exercise_ms, seq).
    evidence_satisfied: BTreeMap<&'events str, Vec<(u64, u64)>>,
    /// Every answer per objective, in log order: (exercise_ms, seq, correct).
    answers: BTreeMap<&'events str, Vec<(u64, u64, bool)>>,
    /// When each report (by seq) was submitted.
    report_submitted_at: BTreeMap<u64, u64>,
    /// Hints taken per objective, each counted once: hint index → event penalty.
    hints_taken: BTreeMap<&'events str, BTreeMap<u32, u32>>,
    adjustments: Vec<AdjustmentEntry>,
    /// Every grade in log order, each marked when a later one replaced it.
    graded_reports: Vec<GradedReportEntry>,
}

impl TeamFacts<'_> {
    /// The grades that count: the latest per (report, objective).
    fn current_grades(&self) -> impl Iterator<Item = &GradedReportEntry> {
        self.graded_reports
            .iter()
            .filter(|entry| entry.replaced_by_seq.is_none())
    }

    /// Points of the current grades that name no objective.
    fn unattached_grade_points(&self) -> i64 {
        self.current_grades()
            .filter(|entry| entry.objective.is_none())
            .map(|entry| entry.points)
            .sum()
    }
}

fn gather_team_facts(team: u32, events: &[ScoringEvent]) -> TeamFacts<'_> {
    let mut facts = TeamFacts::default();
    // (report seq, objective) → index in `graded_reports` of its latest grade.
    let mut latest_grade: BTreeMap<(u64, Option<&str>), usize> = BTreeMap::new();
    for event in events {
        let concerns_team = event.team == Some(team);
        match &event.kind {
            ScoringEventKind::InjectFired { inject } => {
                if concerns_team || event.team.is_none() {
                    facts
                        .inject_fired
                        .entry(inject.as_str())
                        .or_insert((event.exercise_ms, event.seq));
                }
            }
            ScoringEventKind::ObjectiveEvidence {
                objective,
                satisfied,
            } => {
                if concerns_team && *satisfied {
                    facts
                        .evidence_satisfied
                        .entry(objective.as_str())
                        .or_default()
                        .push((event.exercise_ms, event.seq));
                }
            }
            ScoringEventKind::AnswerSubmitted { objective, correct } => {
                if concerns_team {
                    facts.answers.entry(objective.as_str()).or_default().push((
                        event.exercise_ms,
                        event.seq,
                        *correct,
                    ));
                }
            }
            ScoringEventKind::ReportSubmitted { .. } => {
                if concerns_team {
                    facts
                        .report_submitted_at
                        .insert(event.seq, event.exercise_ms);
                }
            }
            ScoringEventKind::HintTaken {
                objective,
                hint_index,
                penalty,
            } => {
                if concerns_team {
                    facts
                        .hints_taken
                        .entry(objective.as_str())
                        .or_default()
                        .entry(*hint_index)
                        .or_insert(*penalty);
                }
            }
            ScoringEventKind::Adjustment {
                objective,
                points,
                reason,
                author,
            } => {
                if concerns_team {
                    facts.adjustments.push(AdjustmentEntry {
                        seq: event.seq,
                        exercise_ms: event.exercise_ms,
                        objective: objective.clone(),
                        points: *points,
                        reason: reason.clone(),
                        author: author.clone(),
                    });
                }
            }
            ScoringEventKind::ReportGraded {
                report_seq,
                objective,
                form,
                points,
                author,
            } => {
                if concerns_team {
                    if let Some(report_seq) = report_seq {
                        let key = (*report_seq, objective.as_deref());
                        if let Some(previous) = latest_grade.insert(key, facts.graded_reports.len())
                        {
                            facts.graded_reports[previous].replaced_by_seq = Some(event.seq);
                        }
                    }
                    facts.graded_reports.push(GradedReportEntry {
                        seq: event.seq,
                        exercise_ms: event.exercise_ms,
                        report_seq: *report_seq,
                        objective: objective.clone(),
                        form: form.clone(),
                        points: *points,
                        author: author.clone(),
                        replaced_by_seq: None,
                    });
                }
            }
        }
    }
    facts
}

/// Something that could meet an objective.
#[derive(Debug, Clone, Copy)]
struct Meeting {
    /// When it counts: the evidence's time, or a graded report's submission.
    at_exercise_ms: u64,
    /// The evidence or the graded report.
    seq: u64,
    /// What it is worth on time: the rule's points, or a grade (capped).
    worth: u32,
    grade_seq: Option<u64>,
}

/// What a meeting earns: its status, base points and time bonus.
fn judge_meeting(
    rule: &ObjectiveRule,
    meeting: Meeting,
    anchor_exercise_ms: u64,
    deadline_exercise_ms: Option<u64>,
) -> (ObjectiveStatus, u32, u32) {
    let at_exercise_ms = meeting.at_exercise_ms;
    if deadline_exercise_ms.is_some_and(|deadline| at_exercise_ms > deadline) {
        let percent = u64::from(rule.late_credit_percent.min(100));
        let credit = (u64::from(meeting.worth) * percent / 100) as u32;
        return (ObjectiveStatus::Late { at_exercise_ms }, credit, 0);
    }
    let bonus = rule.time_bonus.as_ref().map_or(0, |time_bonus| {
        time_bonus.bonus_after(at_exercise_ms.saturating_sub(anchor_exercise_ms))
    });
    (
        ObjectiveStatus::Met { at_exercise_ms },
        meeting.worth,
        bonus,
    )
}

fn score_objective(
    rule: &ObjectiveRule,
    facts: &TeamFacts<'_>,
    now_exercise_ms: u64,
) -> ObjectiveScore {
    // (exercise_ms, seq) of the anchor; the start precedes every event.
    let anchor = match &rule.anchor {
        DeadlineAnchor::Start => Some((0, 0)),
        DeadlineAnchor::Inject(inject) => facts.inject_fired.get(inject.as_str()).copied(),
    };
    let anchor_exercise_ms = anchor.map(|(exercise_ms, _)| exercise_ms);
    let relative_deadline = rule
        .deadline_ms
        .zip(anchor_exercise_ms)
        .map(|(within_ms, anchor_ms)| anchor_ms.saturating_add(within_ms));
    let deadline_exercise_ms = match (relative_deadline, rule.due_ms) {
        (Some(deadline), Some(due)) => Some(deadline.min(due)),
        (deadline, due) => deadline.or(due),
    };

    // Only what comes after the anchor's inject fired, and by `due`, counts.
    let counts = |at_exercise_ms: u64, seq: u64| {
        anchor.is_some_and(|(_, anchor_seq)| seq > anchor_seq)
            && rule.due_ms.is_none_or(|due| at_exercise_ms <= due)
    };
    let answers = counted_answers(rule, facts, &counts);
    let meetings: Vec<Meeting> = if rule.judged {
        facts
            .current_grades()
            .filter(|entry| entry.objective.as_deref() == Some(rule.id.as_str()))
            .map(|entry| {
                let report_seq = entry.report_seq.unwrap_or(entry.seq);
                Meeting {
                    at_exercise_ms: facts
                        .report_submitted_at
                        .get(&report_seq)
                        .copied()
                        .unwrap_or(entry.exercise_ms),
                    seq: report_seq,
                    worth: entry.points.clamp(0, i64::from(rule.points)) as u32,
                    grade_seq: Some(entry.seq),
                }
            })
            .collect()
    } else {
        let mut meetings: Vec<Meeting> = facts
            .evidence_satisfied
            .get(rule.id.as_str())
            .into_iter()
            .flatten()
            .chain(answers.correct.iter())
            .map(|(at_exercise_ms, seq)| Meeting {
                at_exercise_ms: *at_exercise_ms,
                seq: *seq,
                worth: rule.points,
                grade_seq: None,
            })
            .collect();
        meetings.sort_by_key(|meeting| meeting.seq);
        meetings
    };
    let judged: Vec<(Meeting, (ObjectiveStatus, u32, u32))> = meetings
        .into_iter()
        .filter(|meeting| counts(meeting.at_exercise_ms, meeting.seq))
        .map(|meeting| {
            let anchor_ms = anchor_exercise_ms.unwrap_or(0);
            let outcome = judge_meeting(rule, meeting, anchor_ms, deadline_exercise_ms);
            (meeting, outcome)
        })
        .collect();
    // The first evidence meets an objective; of several graded reports for
    // a judged objective the one that earns most counts (the earliest of
    // equals).
    let chosen = if rule.judged {
        judged
            .into_iter()
            .min_by_key(|(meeting, (_, base, bonus))| {
                (
                    std::cmp::Reverse(base.saturating_add(*bonus)),
                    meeting.at_exercise_ms,
                    meeting.seq,
                )
            })
    } else {
        judged.into_iter().next()
    };

    let (status, base_points, time_bonus_points) = match chosen {
        Some((_, outcome)) => outcome,
        None if deadline_exercise_ms.is_some_and(|deadline| now_exercise_ms > deadline) => {
            (ObjectiveStatus::Missed, 0, 0)
        }
        None => (ObjectiveStatus::Pending, 0, 0),
    };
    let met = chosen.map(|(meeting, _)| meeting);
    let time_to_meet_ms = met
        .zip(anchor_exercise_ms)
        .map(|(meeting, anchor_ms)| meeting.at_exercise_ms.saturating_sub(anchor_ms));

    let hint_penalty_taken: u32 = facts
        .hints_taken
        .get(rule.id.as_str())
        .map(|hints| {
            hints
                .iter()
                .map(|(hint_index, event_penalty)| {
                    let rule_penalty = usize::try_from(*hint_index)
                        .ok()
                        .and_then(|index| rule.hint_penalties.get(index));
                    rule_penalty.copied().unwrap_or(*event_penalty)
                })
                .fold(0u32, u32::saturating_add)
        })
        .unwrap_or(0);
    let earned = base_points.saturating_add(time_bonus_points);
    let hint_penalty_applied = hint_penalty_taken.min(earned);
    // Wrong answers count up to the meeting (or all of them, unmet).
    let wrong_answers = answers
        .wrong
        .iter()
        .filter(|wrong_seq| met.is_none_or(|meeting| **wrong_seq < meeting.seq))
        .count() as u32;
    let wrong_answer_penalty_applied = wrong_answers
        .saturating_mul(rule.wrong_answer_cost)
        .min(earned - hint_penalty_applied);

    ObjectiveScore {
        objective: rule.id.clone(),
        phase: rule.phase,
        status,
        anchor_exercise_ms,
        deadline_exercise_ms,
        due_exercise_ms: rule.due_ms,
        time_to_meet_ms,
        met_by_seq: met.map(|meeting| meeting.seq),
        graded_by_seq: met.and_then(|meeting| meeting.grade_seq),
        base_points,
        time_bonus_points,
        hint_penalty_taken,
        hint_penalty_applied,
        wrong_answers,
        answers_locked: met.is_none() && answers.locked,
        wrong_answer_penalty_applied,
        points_awarded: earned - hint_penalty_applied - wrong_answer_penalty_applied,
    }
}

/// The answers to one objective that count, in log order.
struct CountedAnswers {
    /// The correct answers given before the question locked: (exercise_ms, seq).
    correct: Vec<(u64, u64)>,
    /// The seqs of the wrong answers counted (at most the rule's limit).
    wrong: Vec<u64>,
    /// The limit of wrong answers was reached.
    locked: bool,
}

/// An answer counts when `counts` says so (after the anchor's fire, by
/// `due`); once `max_wrong_answers` wrong ones counted, none does.
fn counted_answers(
    rule: &ObjectiveRule,
    facts: &TeamFacts<'_>,
    counts: &dyn Fn(u64, u64) -> bool,
) -> CountedAnswers {
    let mut counted = CountedAnswers {
        correct: Vec::new(),
        wrong: Vec::new(),
        locked: false,
    };
    for (at_exercise_ms, seq, correct) in facts.answers.get(rule.id.as_str()).into_iter().flatten()
    {
        if counted.locked || !counts(*at_exercise_ms, *seq) {
            continue;
        }
        if *correct {
            counted.correct.push((*at_exercise_ms, *seq));
        } else {
            counted.wrong.push(*seq);
            counted.locked = rule
                .max_wrong_answers
                .is_some_and(|limit| counted.wrong.len() as u64 >= u64::from(limit));
        }
    }
    counted
}

fn summarise_phase(
    phase: Phase,
    rules: &[ObjectiveRule],
    objectives: &[ObjectiveScore],
    facts: &TeamFacts<'_>,
) -> PhaseSummary {
    let in_phase: Vec<&ObjectiveScore> = objectives
        .iter()
        .filter(|score| score.phase == phase)
        .collect();
    let phase_objective_ids: BTreeSet<&str> = rules
        .iter()
        .filter(|rule| rule.phase == phase)
        .map(|rule| rule.id.as_str())
        .collect();
    let achieved: Vec<&ObjectiveScore> = in_phase
        .iter()
        .copied()
        .filter(|score| score.status.is_achieved())
        .collect();

    let objective_points: i64 = in_phase
        .iter()
        .map(|score| i64::from(score.points_awarded))
        .sum();
    let adjustment_points: i64 = facts
        .adjustments
        .iter()
        .filter(|entry| {
            entry
                .objective
                .as_deref()
                .is_some_and(|objective| phase_objective_ids.contains(objective))
        })
        .map(|entry| entry.points)
        .sum();
    let graded_points: i64 = if phase == Phase::Reporting {
        facts.unattached_grade_points()
    } else {
        0
    };

    let achieved_times = achieved.iter().filter_map(|score| score.time_to_meet_ms);
    let all_achieved = !in_phase.is_empty() && achieved.len() == in_phase.len();
    PhaseSummary {
        phase,
        objectives_total: in_phase.len(),
        objectives_achieved: achieved.len(),
        points: objective_points + adjustment_points + graded_points,
        first_achieved_after_ms: achieved_times.clone().min(),
        all_achieved_after_ms: if all_achieved {
            achieved_times.max()
        } else {
            None
        },
    }
}

fn score_team(
    rules: &[ObjectiveRule],
    team_clock: TeamClock,
    events: &[ScoringEvent],
) -> TeamScore {
    let facts = gather_team_facts(team_clock.team, events);
    let objectives: Vec<ObjectiveScore> = rules
        .iter()
        .map(|rule| score_objective(rule, &facts, team_clock.now_exercise_ms))
        .collect();
    let phases: Vec<PhaseSummary> = Phase::ALL
        .iter()
        .map(|phase| summarise_phase(*phase, rules, &objectives, &facts))
        .collect();

    let objective_points: i64 = objectives
        .iter()
        .map(|score| i64::from(score.points_awarded))
        .sum();
    let adjustment_points: i64 = facts.adjustments.iter().map(|entry| entry.points).sum();
    let graded_points: i64 = facts.unattached_grade_points();
    let hint_penalties_applied = objectives
        .iter()
        .map(|score| score.hint_penalty_applied)
        .fold(0u32, u32::saturating_add);

    TeamScore {
        team: team_clock.team,
        now_exercise_ms: team_clock.now_exercise_ms,
        objectives,
        phases,
        adjustments: facts.adjustments,
        graded_reports: facts.graded_reports,
        hint_penalties_applied,
        total: objective_points + adjustment_points + graded_points,
    }
}

#[cfg(test)]
mod tests;
