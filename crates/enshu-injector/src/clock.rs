//! The exercise clock: how much exercise time a team has had at a wall-clock
//! instant.
//!
//! The clock is not a running timer but a pure function of the recorded
//! clock changes (the `ClockChanged` events of the log), so that a restarted
//! controller, the scoreboard and the after-action review all compute the
//! same exercise time from the same log. Paused time does not count; an
//! acceleration factor stretches running time for demos and tests.
//!
//! Semantics, applied in wall-clock order (changes at the same instant in
//! the order given):
//! - session `Start` starts every team's clock; a team `Start` starts that
//!   team's clock even before the session starts (a rehearsal, a late team);
//! - session `Pause`/`Resume` and team `Pause`/`Resume` are independent: a
//!   team runs only when neither the session nor the team is paused, so a
//!   session resume does not undo a team's own pause;
//! - `Stop` (session or team) is final: the clock never runs again.

use serde::{Deserialize, Serialize};

/// What happened to the clock (mirrors the store's `ClockAction`, which this
/// crate cannot name without depending on sqlx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockAction {
    Start,
    Pause,
    Resume,
    Stop,
}

/// One recorded change: when (wall clock, ms since the Unix epoch), what,
/// and for which team (`None` = the whole session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockChange {
    pub wall_ms: u64,
    pub action: ClockAction,
    pub team: Option<u32>,
}

impl ClockChange {
    pub fn session(wall_ms: u64, action: ClockAction) -> ClockChange {
        ClockChange { wall_ms, action, team: None }
    }

    pub fn team(wall_ms: u64, action: ClockAction, team: u32) -> ClockChange {
        ClockChange { wall_ms, action, team: Some(team) }
    }
}

/// Where a team's clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    NotStarted,
    Running,
    Paused,
    Stopped,
}

/// Every team's exercise clock, built from the session's clock changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseClock {
    changes: Vec<ClockChange>,
    acceleration: f64,
}

/// The flags one team's clock depends on.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    session_started: bool,
    session_paused: bool,
    session_stopped: bool,
    team_started: bool,
    team_paused: bool,
    team_stopped: bool,
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
    }
}

impl ExerciseClock {
    /// `acceleration` is exercise time per wall time (10.0 = ten exercise
    /// seconds per wall second); values that are not finite and positive
    /// count as 1.0.
    pub fn new(mut changes: Vec<ClockChange>, acceleration: f64) -> ExerciseClock {
        // Stable: changes at the same instant keep the order of the log.
        changes.sort_by_key(|change| change.wall_ms);
        let acceleration = if acceleration.is_finite() && acceleration > 0.0 { acceleration } else { 1.0 };
        ExerciseClock { changes, acceleration }
    }

    pub fn acceleration(&self) -> f64 {
        self.acceleration
    }

    pub fn changes(&self) -> &[ClockChange] {
        &self.changes
    }

    /// Add a change (it may be older than the last one; order is restored).
    pub fn push(&mut self, change: ClockChange) {
        self.changes.push(change);
        self.changes.sort_by_key(|change| change.wall_ms);
    }

    fn applies_to(change: &ClockChange, team: u32) -> bool {
        change.team.is_none_or(|changed_team| changed_team == team)
    }

    /// Wall-clock milliseconds the team's clock ran up to `wall_ms`.
    fn running_wall_ms(&self, team: u32, wall_ms: u64) -> (u64, Flags) {
        let mut flags = Flags::default();
        let mut running_since: Option<u64> = None;
        let mut total: u64 = 0;
        for change in self.changes.iter().filter(|change| Self::applies_to(change, team)) {
            if change.wall_ms > wall_ms {
                break;
            }
            flags.apply(change);
            match (running_since, flags.running()) {
                (None, true) => running_since = Some(change.wall_ms),
                (Some(since), false) => {
                    total += change.wall_ms - since;
                    running_since = None;
                }
                _ => {}
            }
        }
        if let Some(since) = running_since {
            total += wall_ms - since;
        }
        (total, flags)
    }

    /// The team's exercise time (ms since its start) at `wall_ms`.
    pub fn exercise_ms_at(&self, team: u32, wall_ms: u64) -> u64 {
        let (running, _) = self.running_wall_ms(team, wall_ms);
        (running as f64 * self.acceleration).round() as u64
    }

    pub fn state_at(&self, team: u32, wall_ms: u64) -> ClockState {
        self.running_wall_ms(team, wall_ms).1.state()
    }

    /// When (wall clock) the team's clock reaches `exercise_ms`, if it keeps
    /// running from `now_wall_ms` without further changes: what a controller
    /// sleeps until. `None` when the clock is not running and has not got
    /// there yet.
    pub fn wall_ms_when(&self, team: u32, exercise_ms: u64, now_wall_ms: u64) -> Option<u64> {
        let now_exercise = self.exercise_ms_at(team, now_wall_ms);
        if now_exercise >= exercise_ms {
            return Some(now_wall_ms);
        }
        if self.state_at(team, now_wall_ms) != ClockState::Running {
            return None;
        }
        let remaining_wall = ((exercise_ms - now_exercise) as f64 / self.acceleration).ceil() as u64;
        Some(now_wall_ms + remaining_wall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClockAction::*;

    #[test]
    fn nothing_counts_before_the_start() {
        let clock = ExerciseClock::new(vec![ClockChange::session(1_000, Start)], 1.0);
        assert_eq!(clock.exercise_ms_at(1, 500), 0);
        assert_eq!(clock.state_at(1, 500), ClockState::NotStarted);
        assert_eq!(clock.exercise_ms_at(1, 1_000), 0);
        assert_eq!(clock.exercise_ms_at(1, 61_000), 60_000);
        assert_eq!(clock.state_at(1, 61_000), ClockState::Running);
    }

    #[test]
    fn paused_time_does_not_count() {
        let clock = ExerciseClock::new(
            vec![
                ClockChange::session(0, Start),
                ClockChange::session(10_000, Pause),
                ClockChange::session(70_000, Resume),
            ],
            1.0,
        );
        assert_eq!(clock.exercise_ms_at(1, 10_000), 10_000);
        assert_eq!(clock.exercise_ms_at(1, 40_000), 10_000);
        assert_eq!(clock.state_at(1, 40_000), ClockState::Paused);
        assert_eq!(clock.exercise_ms_at(1, 80_000), 20_000);
    }

    #[test]
    fn a_team_pause_affects_only_that_team_and_survives_a_session_resume() {
        let clock = ExerciseClock::new(
            vec![
                ClockChange::session(0, Start),
                ClockChange::team(10_000, Pause, 2),
                ClockChange::session(20_000, Pause),
                ClockChange::session(30_000, Resume),
                ClockChange::team(50_000, Resume, 2),
            ],
            1.0,
        );
        // Team 1: runs 0-20 s and 30-60 s.
        assert_eq!(clock.exercise_ms_at(1, 60_000), 50_000);
        // Team 2: runs 0-10 s, paused by itself until 50 s, then 50-60 s.
        assert_eq!(clock.exercise_ms_at(2, 40_000), 10_000);
        assert_eq!(clock.state_at(2, 40_000), ClockState::Paused);
        assert_eq!(clock.exercise_ms_at(2, 60_000), 20_000);
    }

    #[test]
    fn stop_is_final() {
        let clock = ExerciseClock::new(
            vec![ClockChange::session(0, Start), ClockChange::team(5_000, Stop, 1), ClockChange::team(6_000, Resume, 1)],
            1.0,
        );
        assert_eq!(clock.exercise_ms_at(1, 100_000), 5_000);
        assert_eq!(clock.state_at(1, 100_000), ClockState::Stopped);
        assert_eq!(clock.exercise_ms_at(2, 100_000), 100_000);
        let stopped = ExerciseClock::new(vec![ClockChange::session(0, Start), ClockChange::session(7_000, Stop)], 1.0);
        assert_eq!(stopped.exercise_ms_at(3, 100_000), 7_000);
    }

    #[test]
    fn a_team_can_start_before_the_session() {
        let clock = ExerciseClock::new(vec![ClockChange::team(0, Start, 3), ClockChange::session(10_000, Start)], 1.0);
        assert_eq!(clock.exercise_ms_at(3, 20_000), 20_000);
        assert_eq!(clock.exercise_ms_at(1, 20_000), 10_000);
    }

    #[test]
    fn acceleration_scales_running_time_only() {
        let clock = ExerciseClock::new(
            vec![ClockChange::session(0, Start), ClockChange::session(1_000, Pause), ClockChange::session(5_000, Resume)],
            10.0,
        );
        assert_eq!(clock.exercise_ms_at(1, 1_000), 10_000);
        assert_eq!(clock.exercise_ms_at(1, 4_000), 10_000);
        assert_eq!(clock.exercise_ms_at(1, 6_000), 20_000);
        assert_eq!(ExerciseClock::new(vec![], f64::NAN).acceleration(), 1.0);
    }

    #[test]
    fn changes_out_of_order_are_sorted() {
        let clock = ExerciseClock::new(vec![ClockChange::session(10_000, Pause), ClockChange::session(0, Start)], 1.0);
        assert_eq!(clock.exercise_ms_at(1, 50_000), 10_000);
    }

    #[test]
    fn wall_ms_when_inverts_a_running_clock() {
        let clock = ExerciseClock::new(vec![ClockChange::session(1_000, Start)], 10.0);
        assert_eq!(clock.wall_ms_when(1, 60_000, 1_000), Some(7_000));
        assert_eq!(clock.wall_ms_when(1, 0, 1_000), Some(1_000));
        let paused = ExerciseClock::new(vec![ClockChange::session(0, Start), ClockChange::session(1_000, Pause)], 1.0);
        assert_eq!(paused.wall_ms_when(1, 60_000, 2_000), None);
        assert_eq!(paused.wall_ms_when(1, 500, 2_000), Some(2_000));
    }
}
