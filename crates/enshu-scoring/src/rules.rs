//! Objective rules: the scoring half of a scenario's objectives.
//!
//! These are deliberately smaller than the scenario model's `Objective`:
//! how an objective is evidenced (a check, an answer, a report) is the
//! checker's business; the engine only needs to know what meeting it is
//! worth and by when.

use serde::{Deserialize, Serialize};

/// The four phases a team goes through, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Detection,
    Response,
    Reporting,
    Recovery,
}

impl Phase {
    pub const ALL: [Phase; 4] = [
        Phase::Detection,
        Phase::Response,
        Phase::Reporting,
        Phase::Recovery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Detection => "detection",
            Phase::Response => "response",
            Phase::Reporting => "reporting",
            Phase::Recovery => "recovery",
        }
    }
}

/// Where an objective's clock starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineAnchor {
    /// Exercise-clock offset 0.
    #[default]
    Start,
    /// The actual fire time of this inject for the team. Until it fires the
    /// objective is pending, and only evidence that comes after the fire
    /// counts (a file the inject has yet to plant is not "removed").
    Inject(String),
}

/// A bonus for meeting an objective fast, decaying linearly.
///
/// The bonus is `max_bonus_points` while the elapsed time (from the
/// objective's anchor) is at most `full_bonus_until_ms`, then falls in a
/// straight line to 0 at `zero_bonus_at_ms`, rounding down. A late
/// objective earns no bonus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeBonus {
    pub max_bonus_points: u32,
    pub full_bonus_until_ms: u64,
    pub zero_bonus_at_ms: u64,
}

impl TimeBonus {
    /// The bonus earned when the objective is met `elapsed_ms` after its anchor.
    pub fn bonus_after(&self, elapsed_ms: u64) -> u32 {
        if elapsed_ms <= self.full_bonus_until_ms {
            return self.max_bonus_points;
        }
        if elapsed_ms >= self.zero_bonus_at_ms {
            return 0;
        }
        let decay_window_ms = u128::from(self.zero_bonus_at_ms - self.full_bonus_until_ms);
        let remaining_ms = u128::from(self.zero_bonus_at_ms - elapsed_ms);
        // remaining < window, so the result is below max_bonus_points.
        (u128::from(self.max_bonus_points) * remaining_ms / decay_window_ms) as u32
    }
}

/// What one objective is worth and by when it must be met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectiveRule {
    pub id: String,
    pub phase: Phase,
    /// What meeting the objective is worth; for a judged objective, the most
    /// an instructor's grade can earn.
    pub points: u32,
    /// Where the objective's clock starts: its inject's actual fire time
    /// whenever the objective names one (with or without a deadline),
    /// otherwise the exercise start. Deadlines, time to meet and the time
    /// bonus all count from here.
    #[serde(default)]
    pub anchor: DeadlineAnchor,
    /// Exercise-clock milliseconds after the anchor allowed to meet it;
    /// meeting it at exactly `deadline_ms` is still on time, later is late.
    /// Without a deadline the objective is never late.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// Exercise-clock offset from the start after which the objective can
    /// no longer be met (the scenario's `due`), whatever its inject's timing:
    /// later evidence earns nothing, and once it passes an unmet objective
    /// is missed. It also caps the deadline: meeting the objective by `due`
    /// is on time unless a shorter deadline passed first.
    #[serde(default)]
    pub due_ms: Option<u64>,
    /// Met only by an instructor's grade of a report for this objective
    /// (`ReportGraded` naming it), at the report's submission time, with the
    /// grade's points capped at `points`; other evidence is ignored.
    #[serde(default)]
    pub judged: bool,
    #[serde(default)]
    pub time_bonus: Option<TimeBonus>,
    /// Penalty of each hint, by hint index.
    #[serde(default)]
    pub hint_penalties: Vec<u32>,
    /// Percentage of `points` (for a judged objective, of the grade)
    /// awarded when the objective is met after its deadline; 0 (the
    /// default) awards nothing but still records when it was met.
    #[serde(default)]
    pub late_credit_percent: u8,
    /// Wrong answers counted before the objective's question locks: after
    /// that many, no answer meets it. `None`: it never locks.
    #[serde(default)]
    pub max_wrong_answers: Option<u32>,
    /// Points each counted wrong answer takes off what the objective
    /// earns (after hint penalties); never below 0.
    #[serde(default)]
    pub wrong_answer_cost: u32,
}
