//! Scoring integrity: the `scoring` limits are in range and apply to the
//! evidence they are set on, and no check takes its evidence only from a
//! host where the team is root (it could make the check say anything).

use crate::model::*;

use super::Checker;

impl Checker<'_> {
    pub(super) fn scoring(&mut self) {
        if let Some(policy) = &self.scenario.scoring {
            self.scoring_policy("scoring", policy, None);
        }
        for (index, objective) in self.scenario.objectives.iter().enumerate() {
            if let Some(policy) = &objective.scoring {
                self.scoring_policy(
                    &format!("objectives[{index}].scoring"),
                    policy,
                    Some(objective),
                );
            }
            if let Evidence::Check(check) = &objective.evidence {
                self.check_evidence_host(&format!("objectives[{index}].evidence.check"), check);
            }
        }
    }

    fn scoring_policy(
        &mut self,
        path: &str,
        policy: &ScoringPolicy,
        objective: Option<&Objective>,
    ) {
        if let Some(attempts) = policy.attempts
            && !(1..=MAX_ATTEMPTS).contains(&attempts)
        {
            self.error(
                format!("{path}.attempts"),
                format!("attempts {attempts} must be between 1 and {MAX_ATTEMPTS} (wrong answers a question takes before it locks)"),
            );
        }
        if let Some(hold) = policy.hold
            && !(1..=MAX_HOLD).contains(&hold)
        {
            self.error(
                format!("{path}.hold"),
                format!("hold {hold} must be between 1 and {MAX_HOLD} (check rounds a check must pass in a row)"),
            );
        }
        let Some(objective) = objective else {
            return;
        };
        let answers = matches!(objective.evidence, Evidence::Answer(_));
        if let Some(cost) = policy.wrong_answer_cost
            && answers
            && cost > objective.points
        {
            self.error(
                format!("{path}.wrong_answer_cost"),
                format!(
                    "a wrong answer costs {cost} points, more than objective {:?} is worth ({})",
                    objective.id, objective.points
                ),
            );
        }
        for (field, set, applies, evidence) in [
            ("attempts", policy.attempts.is_some(), answers, "answer"),
            (
                "wrong_answer_cost",
                policy.wrong_answer_cost.is_some(),
                answers,
                "answer",
            ),
            (
                "hold",
                policy.hold.is_some(),
                matches!(objective.evidence, Evidence::Check(_)),
                "check",
            ),
        ] {
            if set && !applies {
                self.error(
                    format!("{path}.{field}"),
                    format!(
                        "`{field}` applies only to an objective with `{evidence}` evidence; objective {:?} has none",
                        objective.id
                    ),
                );
            }
        }
    }

    /// The host a check reads its evidence on: where its command runs.
    fn check_evidence_host(&mut self, path: &str, check: &Check) {
        let (field, reference) = match check.kind {
            CheckKind::NoBeacon => ("to", check.to.as_deref()),
            CheckKind::Http | CheckKind::PortOpen | CheckKind::PortClosed | CheckKind::Command
                if check.from.is_some() =>
            {
                ("from", check.from.as_deref())
            }
            _ => ("target", Some(check.target.as_str())),
        };
        let Some(host) = reference.and_then(|reference| self.topology.host_ref(reference).ok())
        else {
            return;
        };
        if host.image == ImageRole::Analyst {
            self.error(
                format!("{path}.{field}"),
                format!(
                    "the check reads its evidence on {}/{}, the analyst workstation, where trainees are root and can make it show anything: read it on a host the team cannot control (the target itself, the router side, the C2)",
                    host.segment, host.name
                ),
            );
        }
    }
}
