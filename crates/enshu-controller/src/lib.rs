//! The controller: observe what exists, diff it against the plan, apply
//! the difference; verify isolation; tear a session down.
//!
//! It never talks to Docker itself: everything goes through
//! [`enshu_backend::Backend`], so ordering, idempotency and teardown are
//! unit-tested against the recording fake.

#![forbid(unsafe_code)]

pub mod apply;
pub mod backup;
pub mod diff;
pub mod sensor;
pub mod teardown;
pub mod verify;

pub use apply::{Progress, UpError, up};
pub use backup::{backup_steps, observe_held};
pub use diff::{Step, diff, spec_hash, with_hash};
pub use sensor::sensor_steps;
pub use teardown::{DownReport, down};
pub use verify::{Probe, ProbeOutcome, VerifyReport, probes_for, verify};
