//! How answers and checks score: the limits that keep the team portal
//! from being an oracle and a check from being met by a passing moment.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Wrong answers a question takes, by default, before it locks.
pub const DEFAULT_ATTEMPTS: u32 = 5;
/// Points a wrong answer costs by default.
pub const DEFAULT_WRONG_ANSWER_COST: u32 = 0;
/// Consecutive check rounds a check must pass, by default, before its
/// objective is met.
pub const DEFAULT_HOLD: u32 = 2;
/// The most attempts a question may allow.
pub const MAX_ATTEMPTS: u32 = 100;
/// The most rounds a check may be asked to hold.
pub const MAX_HOLD: u32 = 20;

/// Scoring rules for the whole scenario (`scoring:` at the top) or for one
/// objective (`scoring:` in an objective, which wins field by field).
/// Every field is optional; what neither sets takes the default.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct ScoringPolicy {
    /// Wrong answers a team may give to a question (`answer` evidence)
    /// before the question locks and takes no more answers (default 5,
    /// 1 to 100). Answers given before the objective's inject fired are
    /// not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Points each counted wrong answer takes off what the objective earns
    /// (default 0); never below 0 for the objective.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrong_answer_cost: Option<u32>,
    /// Consecutive check rounds an automatic check (`check` evidence) must
    /// pass before its objective is met (default 2, 1 to 20); a failing
    /// round starts the count again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<u32>,
}

/// The rules that apply to one objective, every default filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveScoring {
    pub attempts: u32,
    pub wrong_answer_cost: u32,
    pub hold: u32,
}

impl ScoringPolicy {
    /// `self` (an objective's) over `scenario` (the scenario's), over the
    /// defaults.
    pub fn over(
        objective: Option<&ScoringPolicy>,
        scenario: Option<&ScoringPolicy>,
    ) -> EffectiveScoring {
        let pick = |field: fn(&ScoringPolicy) -> Option<u32>, default: u32| {
            objective
                .and_then(field)
                .or_else(|| scenario.and_then(field))
                .unwrap_or(default)
        };
        EffectiveScoring {
            attempts: pick(|policy| policy.attempts, DEFAULT_ATTEMPTS),
            wrong_answer_cost: pick(|policy| policy.wrong_answer_cost, DEFAULT_WRONG_ANSWER_COST),
            hold: pick(|policy| policy.hold, DEFAULT_HOLD),
        }
    }
}
