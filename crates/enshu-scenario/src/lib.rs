//! Enshu's pure core: the scenario format, its validation, its JSON Schema
//! and the per-team planner.
//!
//! # Layout
//! - [`model`]: the YAML format (v1) as serde types.
//! - [`load`]: bounded parsing, template layers (`extends`), source maps.
//! - [`validate`]: every semantic problem at once, as [`Diagnostic`]s.
//! - [`plan`]: scenario × N teams → networks, containers, firewall rules,
//!   inject schedule and checks, all resolved per team.
//! - [`sensor`]: the team's network sensor (`sensor:`), model and plan.
//!
//! **Invariant:** this crate does no I/O and does not depend on tokio,
//! bollard or sqlx. Capture files are checked through [`validate::Files`],
//! which the caller implements.

#![forbid(unsafe_code)]

pub mod diagnostic;
#[doc(hidden)]
pub mod fuzz_cases;
pub mod load;
pub mod model;
pub mod net;
pub mod plan;
pub mod roles;
pub mod schema;
pub mod sensor;
pub mod source;
pub mod templates;
pub mod topology;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{LoadedScenario, load};
pub use model::Scenario;
pub use plan::{Plan, PlanError, PlanOptions, plan};
pub use validate::{Context, Files, NoFiles, validate};
