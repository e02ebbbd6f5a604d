//! The exercise clock: how much exercise time a team has had at a
//! wall-clock instant.
//!
//! The clock is not a running timer but a pure function of the recorded
//! clock changes (the `ClockChanged` events of the log), so that the
//! exercise engine, a restarted server, the scoreboard and the after-action
//! review all compute the same exercise time from the same log. It is its
//! own crate because the injector (when is an inject due?) and the scoring
//! engine (how long did detection take?) must agree to the millisecond, and
//! neither should depend on the other.
//!
//! Semantics, applied in wall-clock order (changes at the same instant in
//! the order given):
//! - session `Start` starts every team's clock; a team `Start` starts that
//!   team's clock even before the session starts (a rehearsal, a late team);
//! - session `Pause`/`Resume` and team `Pause`/`Resume` are independent: a
//!   team runs only when neither the session nor the team is paused, so a
//!   session resume does not undo a team's own pause;
//! - `Stop` (session or team) is final: the clock never runs again;
//! - a change may carry a `speed` (exercise seconds per wall second, for
//!   demos and rehearsals): from that instant the clocks it applies to run
//!   at that speed, until another change sets another one. Paused time
//!   counts at no speed.
//!
//! `team` `None` asks for the session clock, which only session-wide
//! changes move.

#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

/// What happened to the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockAction {
    Start,
    Pause,
    Resume,
    Stop,
}

/// Fastest speed a clock may run at: a two-hour scenario in two minutes.
pub const MAX_SPEED: u32 = 60;

/// One recorded change: when (wall clock, ms since the Unix epoch), what,
/// for which team (`None` = the whole session), and optionally the speed
/// the clock runs at from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockChange {
    pub wall_ms: i64,
    pub action: ClockAction,
    pub team: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<u32>,
}

impl ClockChange {
    pub fn session(wall_ms: i64, action: ClockAction) -> ClockChange {
        ClockChange {
            wall_ms,
            action,
            team: None,
            speed: None,
        }
    }

    pub fn team(wall_ms: i64, action: ClockAction, team: u32) -> ClockChange {
        ClockChange {
            wall_ms,
            action,
            team: Some(team),
            speed: None,
        }
    }

    pub fn with_speed(self, speed: u32) -> ClockChange {
        ClockChange {
            speed: Some(speed),
            ..self
        }
    }
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    NotStarted,
    Running,
    Paused,
    Stopped,
}

/// Every team's exercise clock, built from the session's clock changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExerciseClock {
    changes: Vec<ClockChange>,
}

/// The flags one clock depends on.
#[derive(Debug, Clone, Copy)]
struct Flags {
    session_started: bool,
    session_paused: bool,
    session_stopped: bool,
    team_started: bool,
    team_paused: bool,
    team_stopped: bool,
    speed: u32,
}

impl Default for Flags {
    fn default() -> Flags {
        Flags {
            session_started: false,
            session_paused: false,
            session_stopped: false,
            team_started: false,
            team_paused: false,
            team_stopped: false,
            speed: 1,
        }
    }
}

impl Flags {
    fn running(&self) -> bool {
        (self.session_started || self.team_started)
            && !self.session_paused
            && !self.team_paused
            && !self.session_stopped
            && !self.team_stopped
    }

    fn state(&self) -> ClockState {
        if self.session_stopped || self.team_stopped {
            ClockState::Stopped
        } else if !(self.session_started || self.team_started) {
            ClockState::NotStarted
        } else if self.running() {
            ClockState::Running
        } else {
            ClockState::Paused
        }
    }

    fn apply(&mut self, change: &ClockChange) {
        match (change.team, change.action) {
            (None, ClockAction::Start) => self.session_started = true,
            (None, ClockAction::Pause) => self.session_paused = true,
            (None, ClockAction::Resume) => self.session_paused = false,
            (None, ClockAction::Stop) => self.session_stopped = true,
            (Some(_), ClockAction::Start) => self.team_started = true,
            (Some(_), ClockAction::Pause) => self.team_paused = true,
            (Some(_), ClockAction::Resume) => self.team_paused = false,
            (Some(_), ClockAction::Stop) => self.team_stopped = true,
        }
        if let Some(speed) = change.speed {
            self.speed = speed.clamp(1, MAX_SPEED);
        }
    }
}

/// One clock's reading at an instant.
#[derive(Debug, Clone, Copy)]
struct Reading {
    exercise_ms: u64,
    flags: Flags,
}

impl ExerciseClock {
    pub fn new(changes: impl IntoIterator<Item = ClockChange>) -> ExerciseClock {
        let mut changes: Vec<ClockChange> = changes.into_iter().collect();
        // Stable: changes at the same instant keep the order of the log.
        changes.sort_by_key(|change| change.wall_ms);
        ExerciseClock { changes }
    }

    pub fn changes(&self) -> &[ClockChange] {
        &self.changes
    }

    /// Add a change (it may be older than the last one; order is restored).
    pub fn push(&mut self, change: ClockChange) {
        self.changes.push(change);
        self.changes.sort_by_key(|change| change.wall_ms);
    }

    fn applies_to(change: &ClockChange, team: Option<u32>) -> bool {
        match team {
            None => change.team.is_none(),
            Some(team) => change.team.is_none_or(|changed_team| changed_team == team),
        }
    }

    fn read(&self, team: Option<u32>, wall_ms: i64) -> Reading {
        let mut flags = Flags::default();
        let mut running_since: Option<i64> = None;
        let mut exercise_ms: u64 = 0;
        // Saturating: `is_running` reads the clock at the end of time.
        let elapsed = |from: i64, to: i64, speed: u32| {
            u64::try_from(to.saturating_sub(from))
                .unwrap_or(0)
                .saturating_mul(u64::from(speed))
        };
        for change in self
            .changes
            .iter()
            .filter(|change| Self::applies_to(change, team))
        {
            if change.wall_ms > wall_ms {
                break;
            }
            if let Some(since) = running_since.take() {
                exercise_ms =
                    exercise_ms.saturating_add(elapsed(since, change.wall_ms, flags.speed));
            }
            flags.apply(change);
            if flags.running() {
                running_since = Some(change.wall_ms);
            }
        }
        if let Some(since) = running_since {
            exercise_ms = exercise_ms.saturating_add(elapsed(since, wall_ms, flags.speed));
        }
        Reading { exercise_ms, flags }
    }

    /// The exercise time (ms since the clock's start) at `wall_ms`.
    pub fn exercise_ms_at(&self, team: Option<u32>, wall_ms: i64) -> u64 {
        self.read(team, wall_ms).exercise_ms
    }

    pub fn state_at(&self, team: Option<u32>, wall_ms: i64) -> ClockState {
        self.read(team, wall_ms).flags.state()
    }

    /// Whether `team`'s own pause holds at `wall_ms` (a team `Pause` not
    /// yet followed by a team `Resume`), whatever the session's clock does:
    /// what a team `Resume` would undo.
    pub fn team_paused_at(&self, team: u32, wall_ms: i64) -> bool {
        self.read(Some(team), wall_ms).flags.team_paused
    }

    /// The speed the clock runs at from `wall_ms` on.
    pub fn speed_at(&self, team: Option<u32>, wall_ms: i64) -> u32 {
        self.read(team, wall_ms).flags.speed
    }

    /// Whether the clock runs after every recorded change.
    pub fn is_running(&self, team: Option<u32>) -> bool {
        self.state_at(team, i64::MAX) == ClockState::Running
    }

    /// Whether the clock was ever started.
    pub fn has_started(&self, team: Option<u32>) -> bool {
        self.state_at(team, i64::MAX) != ClockState::NotStarted
    }

    /// When (wall clock) the clock reaches `exercise_ms`, if it keeps
    /// running from `now_wall_ms` without further changes: what a
    /// scheduler sleeps until. `None` when the clock is not running and
    /// has not got there yet.
    pub fn wall_ms_when(
        &self,
        team: Option<u32>,
        exercise_ms: u64,
        now_wall_ms: i64,
    ) -> Option<i64> {
        let now = self.read(team, now_wall_ms);
        if now.exercise_ms >= exercise_ms {
            return Some(now_wall_ms);
        }
        if now.flags.state() != ClockState::Running {
            return None;
        }
        let remaining_wall = (exercise_ms - now.exercise_ms).div_ceil(u64::from(now.flags.speed));
        Some(now_wall_ms.saturating_add(i64::try_from(remaining_wall).unwrap_or(i64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClockAction::*;

    const T1: Option<u32> = Some(1);
    const T2: Option<u32> = Some(2);

    #[test]
    fn nothing_counts_before_the_start() {
        let clock = ExerciseClock::new([ClockChange::session(1_000, Start)]);
        assert_eq!(clock.exercise_ms_at(T1, 500), 0);
        assert_eq!(clock.state_at(T1, 500), ClockState::NotStarted);
        assert_eq!(clock.exercise_ms_at(T1, 1_000), 0);
        assert_eq!(clock.exercise_ms_at(T1, 61_000), 60_000);
        assert_eq!(clock.state_at(T1, 61_000), ClockState::Running);
        assert!(!ExerciseClock::default().has_started(None));
    }

    #[test]
    fn paused_time_does_not_count() {
        let clock = ExerciseClock::new([
            ClockChange::session(0, Start),
            ClockChange::session(10_000, Pause),
            ClockChange::session(70_000, Resume),
        ]);
        assert_eq!(clock.exercise_ms_at(T1, 10_000), 10_000);
        assert_eq!(clock.exercise_ms_at(T1, 40_000), 10_000);
        assert_eq!(clock.state_at(T1, 40_000), ClockState::Paused);
        assert_eq!(clock.exercise_ms_at(T1, 80_000), 20_000);
        assert!(clock.is_running(T1));
    }

    #[test]
    fn a_team_pause_affects_only_that_team_and_survives_a_session_resume() {
        let clock = ExerciseClock::new([
            ClockChange::session(0, Start),
            ClockChange::team(10_000, Pause, 2),
            ClockChange::session(20_000, Pause),
            ClockChange::session(30_000, Resume),
            ClockChange::team(50_000, Resume, 2),
        ]);
        // Team 1: runs 0-20 s and 30-60 s.
        assert_eq!(clock.exercise_ms_at(T1, 60_000), 50_000);
        // Team 2: runs 0-10 s, paused by itself until 50 s, then 50-60 s.
        assert_eq!(clock.exercise_ms_at(T2, 40_000), 10_000);
        assert_eq!(clock.state_at(T2, 40_000), ClockState::Paused);
        assert_eq!(clock.exercise_ms_at(T2, 60_000), 20_000);
        // The session clock sees only session changes.
        assert_eq!(clock.exercise_ms_at(None, 60_000), 50_000);
        // Only team 2's own pause is its own; the session's is not.
        assert!(clock.team_paused_at(2, 25_000));
        assert!(!clock.team_paused_at(1, 25_000));
        assert!(!clock.team_paused_at(2, 50_000));
    }

    #[test]
    fn stop_is_final_and_repeated_actions_change_nothing() {
        let clock = ExerciseClock::new([
            ClockChange::session(0, Start),
            ClockChange::session(1_000, Start),
            ClockChange::team(5_000, Stop, 1),
            ClockChange::team(6_000, Resume, 1),
        ]);
        assert_eq!(clock.exercise_ms_at(T1, 100_000), 5_000);
        assert_eq!(clock.state_at(T1, 100_000), ClockState::Stopped);
        assert_eq!(clock.exercise_ms_at(T2, 100_000), 100_000);
        let stopped = ExerciseClock::new([
            ClockChange::session(0, Start),
            ClockChange::session(7_000, Stop),
        ]);
        assert_eq!(stopped.exercise_ms_at(Some(3), 100_000), 7_000);
        assert!(!stopped.is_running(Some(3)));
    }

    #[test]
    fn a_team_can_start_before_the_session() {
        let clock = ExerciseClock::new([
            ClockChange::team(0, Start, 3),
            ClockChange::session(10_000, Start),
        ]);
        assert_eq!(clock.exercise_ms_at(Some(3), 20_000), 20_000);
        assert_eq!(clock.exercise_ms_at(T1, 20_000), 10_000);
    }

    #[test]
    fn speed_scales_running_time_from_its_change_on() {
        let clock = ExerciseClock::new([
            ClockChange::session(0, Start).with_speed(10),
            ClockChange::session(1_000, Pause),
            ClockChange::session(5_000, Resume),
            ClockChange::session(7_000, Resume).with_speed(1),
        ]);
        assert_eq!(clock.exercise_ms_at(T1, 1_000), 10_000);
        assert_eq!(clock.exercise_ms_at(T1, 4_000), 10_000);
        assert_eq!(clock.exercise_ms_at(T1, 6_000), 20_000);
        assert_eq!(clock.exercise_ms_at(T1, 7_000), 30_000);
        assert_eq!(clock.exercise_ms_at(T1, 9_000), 32_000);
        assert_eq!(clock.speed_at(T1, 6_000), 10);
        assert_eq!(clock.speed_at(T1, 9_000), 1);
        // Reading at the end of time saturates instead of overflowing.
        let fast =
            ExerciseClock::new([ClockChange::session(1_700_000_000_000, Start).with_speed(10)]);
        assert!(fast.is_running(T1) && fast.has_started(None));
    }

    #[test]
    fn speed_is_bounded() {
        let clock = ExerciseClock::new([ClockChange::session(0, Start).with_speed(0)]);
        assert_eq!(clock.exercise_ms_at(T1, 1_000), 1_000);
        let fast = ExerciseClock::new([ClockChange::session(0, Start).with_speed(10_000)]);
        assert_eq!(fast.exercise_ms_at(T1, 1_000), u64::from(MAX_SPEED) * 1_000);
    }

    #[test]
    fn changes_out_of_order_are_sorted() {
        let clock = ExerciseClock::new([
            ClockChange::session(10_000, Pause),
            ClockChange::session(0, Start),
        ]);
        assert_eq!(clock.exercise_ms_at(T1, 50_000), 10_000);
    }

    #[test]
    fn wall_ms_when_inverts_a_running_clock() {
        let clock = ExerciseClock::new([ClockChange::session(1_000, Start).with_speed(10)]);
        assert_eq!(clock.wall_ms_when(T1, 60_000, 1_000), Some(7_000));
        assert_eq!(clock.wall_ms_when(T1, 0, 1_000), Some(1_000));
        let paused = ExerciseClock::new([
            ClockChange::session(0, Start),
            ClockChange::session(1_000, Pause),
        ]);
        assert_eq!(paused.wall_ms_when(T1, 60_000, 2_000), None);
        assert_eq!(paused.wall_ms_when(T1, 500, 2_000), Some(2_000));
    }
}
