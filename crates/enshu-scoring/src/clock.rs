//! The exercise clock: wall time minus paused time.
//!
//! Instructors start, pause, resume and stop the exercise, for everyone or
//! for one team (a team whose range broke can be paused alone). Deadlines
//! are judged on this clock, so paused minutes never count against a team.
//! The clock is rebuilt from the recorded clock changes rather than kept as
//! mutable state, so any past instant can be converted after the fact.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockAction {
    Start,
    Pause,
    Resume,
    Stop,
}

/// One recorded clock change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockChange {
    /// Wall-clock instant, milliseconds since the Unix epoch.
    pub wall_ms: i64,
    pub action: ClockAction,
    /// `None` changes every team's clock; `Some(team)` only that team's.
    pub team: Option<u32>,
}

/// Every team's exercise clock, derived from the clock changes in log order.
///
/// Rules: the clock runs from `start` (or `resume`) until `pause` (or
/// `stop`). A `start` or `resume` while running and a `pause` while paused
/// change nothing. After `stop` the clock stays stopped for good.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExerciseClocks {
    changes: Vec<ClockChange>,
}

impl ExerciseClocks {
    pub fn from_changes(changes: impl IntoIterator<Item = ClockChange>) -> ExerciseClocks {
        ExerciseClocks {
            changes: changes.into_iter().collect(),
        }
    }

    /// Running intervals `[start, end)` of one clock, in wall milliseconds.
    /// `team` `None` is the session-wide clock, which only session-wide
    /// changes move.
    fn running_intervals(&self, team: Option<u32>) -> Vec<(i64, Option<i64>)> {
        let mut intervals = Vec::new();
        let mut running_since: Option<i64> = None;
        let mut stopped = false;
        let applicable = self
            .changes
            .iter()
            .filter(|change| change.team.is_none() || change.team == team);
        for change in applicable {
            if stopped {
                break;
            }
            match (change.action, running_since) {
                (ClockAction::Start | ClockAction::Resume, None) => running_since = Some(change.wall_ms),
                (ClockAction::Start | ClockAction::Resume, Some(_)) => {}
                (ClockAction::Pause, Some(since)) => {
                    intervals.push((since, Some(change.wall_ms.max(since))));
                    running_since = None;
                }
                (ClockAction::Pause, None) => {}
                (ClockAction::Stop, since) => {
                    if let Some(since) = since {
                        intervals.push((since, Some(change.wall_ms.max(since))));
                    }
                    running_since = None;
                    stopped = true;
                }
            }
        }
        if let Some(since) = running_since {
            intervals.push((since, None));
        }
        intervals
    }

    /// The exercise-clock offset of wall instant `wall_ms` for `team`
    /// (`None`: the session-wide clock). 0 before the exercise started.
    pub fn exercise_ms_at(&self, team: Option<u32>, wall_ms: i64) -> u64 {
        self.running_intervals(team)
            .into_iter()
            .map(|(start, end)| {
                let until = end.map_or(wall_ms, |end| end.min(wall_ms));
                u64::try_from(until - start).unwrap_or(0)
            })
            .sum()
    }

    /// Whether `team`'s clock is running after all recorded changes.
    pub fn is_running(&self, team: Option<u32>) -> bool {
        self.running_intervals(team)
            .last()
            .is_some_and(|(_, end)| end.is_none())
    }

    /// Whether `team`'s clock was ever started.
    pub fn has_started(&self, team: Option<u32>) -> bool {
        !self.running_intervals(team).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn change(minute: i64, action: ClockAction, team: Option<u32>) -> ClockChange {
        ClockChange {
            wall_ms: 1_700_000_000_000 + minute * MINUTE,
            action,
            team,
        }
    }

    fn wall(minute: i64) -> i64 {
        1_700_000_000_000 + minute * MINUTE
    }

    #[test]
    fn before_start_the_clock_reads_zero() {
        let clocks = ExerciseClocks::from_changes([change(10, ClockAction::Start, None)]);
        assert_eq!(clocks.exercise_ms_at(Some(1), wall(5)), 0);
        assert_eq!(clocks.exercise_ms_at(Some(1), wall(10)), 0);
        assert_eq!(clocks.exercise_ms_at(Some(1), wall(12)), 2 * MINUTE as u64);
        assert!(!ExerciseClocks::default().has_started(None));
    }

    #[test]
    fn paused_time_does_not_count() {
        let clocks = ExerciseClocks::from_changes([
            change(0, ClockAction::Start, None),
            change(10, ClockAction::Pause, None),
            change(40, ClockAction::Resume, None),
        ]);
        assert_eq!(clocks.exercise_ms_at(Some(1), wall(20)), 10 * MINUTE as u64);
        assert_eq!(clocks.exercise_ms_at(Some(1), wall(45)), 15 * MINUTE as u64);
        assert!(clocks.is_running(Some(1)));
    }

    #[test]
    fn a_team_pause_only_stops_that_team() {
        let clocks = ExerciseClocks::from_changes([
            change(0, ClockAction::Start, None),
            change(10, ClockAction::Pause, Some(2)),
            change(30, ClockAction::Resume, Some(2)),
        ]);
        assert_eq!(clocks.exercise_ms_at(Some(1), wall(60)), 60 * MINUTE as u64);
        assert_eq!(clocks.exercise_ms_at(Some(2), wall(60)), 40 * MINUTE as u64);
        assert_eq!(clocks.exercise_ms_at(None, wall(60)), 60 * MINUTE as u64);
    }

    #[test]
    fn stop_is_final_and_repeated_actions_are_ignored() {
        let clocks = ExerciseClocks::from_changes([
            change(0, ClockAction::Start, None),
            change(5, ClockAction::Start, None),
            change(10, ClockAction::Pause, None),
            change(12, ClockAction::Pause, None),
            change(20, ClockAction::Resume, None),
            change(30, ClockAction::Stop, None),
            change(40, ClockAction::Resume, None),
        ]);
        assert_eq!(clocks.exercise_ms_at(Some(1), wall(100)), 20 * MINUTE as u64);
        assert!(!clocks.is_running(Some(1)));
    }
}
