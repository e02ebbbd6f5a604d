//! The exercise clock lives in `enshu-clock`, shared with the scoring engine
//! so that firing and scoring read the same time from the same log.

pub use enshu_clock::{ClockAction, ClockChange, ClockState, ExerciseClock};
