//! The scoring itself: rules + events + each team's clock → scoreboard.
//!
//! For each team and objective the engine finds when the objective's clock
//! started (exercise start, or the inject's actual fire time for that
//! team), the first satisfying evidence, and from those the status and the
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
    /// Anchor plus the time allowed; `None` without a deadline or anchor.
    pub deadline_exercise_ms: Option<u64>,
    /// From the anchor (the inject's actual fire time) to the meeting event.
    pub time_to_meet_ms: Option<u64>,
    /// The event that met the objective.
    pub met_by_seq: Option<u64>,
    /// Points earned before penalties: the rule's points, or its late credit.
    pub base_points: u32,
    pub time_bonus_points: u32,
    /// Sum of the penalties of the hints taken for this objective.
    pub hint_penalty_taken: u32,
    /// The part of `hint_penalty_taken` actually subtracted; penalties never
    /// take an objective below 0.
    pub hint_penalty_applied: u32,
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

/// An instructor's grade for a report form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradedReportEntry {
    pub seq: u64,
    pub exercise_ms: u64,
    pub form: String,
    pub points: i64,
    pub author: String,
}

/// Totals and timings of one phase for one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseSummary {
    pub phase: Phase,
    pub objectives_total: usize,
    /// Met or late.
    pub objectives_achieved: usize,
    /// Objective points, plus adjustments naming an objective of this
    /// phase, plus (for reporting) graded reports.
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
/// defines, are ignored (adjustments still count towards the total). Events
/// are taken in the order given, which should be log (`seq`) order.
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
    /// First actual fire time of each inject for the team.
    inject_fired_at: BTreeMap<&'events str, u64>,
    /// First satisfying evidence per objective: (exercise_ms, seq).
    evidence_satisfied_at: BTreeMap<&'events str, (u64, u64)>,
    /// Hints taken per objective, each counted once: hint index → event penalty.
    hints_taken: BTreeMap<&'events str, BTreeMap<u32, u32>>,
    adjustments: Vec<AdjustmentEntry>,
    graded_reports: Vec<GradedReportEntry>,
}

fn gather_team_facts(team: u32, events: &[ScoringEvent]) -> TeamFacts<'_> {
    let mut facts = TeamFacts::default();
    for event in events {
        let concerns_team = event.team == Some(team);
        match &event.kind {
            ScoringEventKind::InjectFired { inject } => {
                if concerns_team || event.team.is_none() {
                    facts
                        .inject_fired_at
                        .entry(inject.as_str())
                        .or_insert(event.exercise_ms);
                }
            }
            ScoringEventKind::ObjectiveEvidence {
                objective,
                satisfied,
            } => {
                if concerns_team && *satisfied {
                    facts
                        .evidence_satisfied_at
                        .entry(objective.as_str())
                        .or_insert((event.exercise_ms, event.seq));
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
                form,
                points,
                author,
            } => {
                if concerns_team {
                    facts.graded_reports.push(GradedReportEntry {
                        seq: event.seq,
                        exercise_ms: event.exercise_ms,
                        form: form.clone(),
                        points: *points,
                        author: author.clone(),
                    });
                }
            }
        }
    }
    facts
}

fn score_objective(
    rule: &ObjectiveRule,
    facts: &TeamFacts<'_>,
    now_exercise_ms: u64,
) -> ObjectiveScore {
    let anchor_exercise_ms = match rule.anchor() {
        DeadlineAnchor::Start => Some(0),
        DeadlineAnchor::Inject(inject) => facts.inject_fired_at.get(inject.as_str()).copied(),
    };
    let deadline_exercise_ms = match (&rule.deadline, anchor_exercise_ms) {
        (Some(deadline), Some(anchor)) => Some(anchor.saturating_add(deadline.within_ms)),
        _ => None,
    };
    let met = facts.evidence_satisfied_at.get(rule.id.as_str()).copied();

    let status = match (met, deadline_exercise_ms) {
        (Some((at_exercise_ms, _)), Some(deadline)) if at_exercise_ms > deadline => {
            ObjectiveStatus::Late { at_exercise_ms }
        }
        (Some((at_exercise_ms, _)), _) => ObjectiveStatus::Met { at_exercise_ms },
        (None, Some(deadline)) if now_exercise_ms > deadline => ObjectiveStatus::Missed,
        (None, _) => ObjectiveStatus::Pending,
    };
    // Evidence that came before the inject fired counts as immediate.
    let time_to_meet_ms = match (met, anchor_exercise_ms) {
        (Some((at_exercise_ms, _)), Some(anchor)) => Some(at_exercise_ms.saturating_sub(anchor)),
        _ => None,
    };

    let (base_points, time_bonus_points) = match status {
        ObjectiveStatus::Met { .. } => {
            // Without an anchor the speed cannot be measured, so no bonus.
            let bonus = match (&rule.time_bonus, time_to_meet_ms) {
                (Some(time_bonus), Some(elapsed_ms)) => time_bonus.bonus_after(elapsed_ms),
                _ => 0,
            };
            (rule.points, bonus)
        }
        ObjectiveStatus::Late { .. } => {
            let percent = u64::from(rule.late_credit_percent.min(100));
            ((u64::from(rule.points) * percent / 100) as u32, 0)
        }
        ObjectiveStatus::Pending | ObjectiveStatus::Missed => (0, 0),
    };

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

    ObjectiveScore {
        objective: rule.id.clone(),
        phase: rule.phase,
        status,
        anchor_exercise_ms,
        deadline_exercise_ms,
        time_to_meet_ms,
        met_by_seq: met.map(|(_, seq)| seq),
        base_points,
        time_bonus_points,
        hint_penalty_taken,
        hint_penalty_applied,
        points_awarded: earned - hint_penalty_applied,
    }
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
        facts.graded_reports.iter().map(|entry| entry.points).sum()
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
    let graded_points: i64 = facts.graded_reports.iter().map(|entry| entry.points).sum();
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
