//! The retry rule: a value, so it is shown, tested and changed in one place.
//! Its state, the failures, is in the event log (`InjectFailed`), so a
//! restarted engine holds an inject after the same number of failures.

/// What to do with an inject that just failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again on the next fire round.
    Retry,
    /// Hold the inject and tell an instructor.
    Hold,
}

/// How many failures an inject gets before it is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryRule {
    pub max_attempts: u32,
}

impl RetryRule {
    /// The engine's rule: three tries.
    pub const DEFAULT: RetryRule = RetryRule { max_attempts: 3 };

    /// The decision after `failures` failed attempts (the latest included),
    /// counted from the log since the team's last reset.
    pub fn after_failures(&self, failures: u32) -> RetryDecision {
        if failures >= self.max_attempts {
            RetryDecision::Hold
        } else {
            RetryDecision::Retry
        }
    }
}

impl Default for RetryRule {
    fn default() -> RetryRule {
        RetryRule::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_tries_then_hold() {
        let rule = RetryRule::DEFAULT;
        assert_eq!(rule.after_failures(1), RetryDecision::Retry);
        assert_eq!(rule.after_failures(2), RetryDecision::Retry);
        assert_eq!(rule.after_failures(3), RetryDecision::Hold);
        // A held inject fired by hand that fails again is held again.
        assert_eq!(rule.after_failures(4), RetryDecision::Hold);
        assert_eq!(
            RetryRule { max_attempts: 1 }.after_failures(1),
            RetryDecision::Hold
        );
    }
}
