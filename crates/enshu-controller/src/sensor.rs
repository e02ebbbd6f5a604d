//! The team's network sensor: observe → diff → apply, as for the
//! containers.
//!
//! [`observe`] takes one look at the machine's taps and bridge ports (only
//! when some team has a sensor); [`sensor_steps`] plans a
//! [`Step::ConfigureSensor`] for every team whose sensor lacks something
//! (a tap, a port not mirrored: the reason says which) or whose containers
//! this run creates or starts (their ports are new). The step runs once
//! the team's containers run ([`configure_sensor`]): it looks again,
//! applies what is missing, and looks a third time, failing unless
//! nothing is left to do, so a sensor that did not take effect is an
//! error, never a silent gap in the capture.

use enshu_backend::sensor::{self, ObservedSensors, SensorPlan};
use enshu_backend::{Backend, BackendError};
use enshu_scenario::plan::Plan;

use crate::diff::Step;

/// The machine's sensors, when the plan has any (else no look is taken).
pub async fn observe<B: Backend>(
    backend: &B,
    plan: &Plan,
) -> Result<Option<ObservedSensors>, BackendError> {
    if plan.teams.iter().all(|team| team.sensor.is_none()) {
        return Ok(None);
    }
    backend.observe_sensors().await
}

/// The sensor steps (pure): `observed` as [`observe`] found it, `steps`
/// the run's container steps.
pub fn sensor_steps(plan: &Plan, observed: Option<&ObservedSensors>, steps: &[Step]) -> Vec<Step> {
    let mut planned = Vec::new();
    for team in &plan.teams {
        let Some(sensor) = &team.sensor else {
            continue;
        };
        let restarts = steps
            .iter()
            .filter_map(|step| match step {
                Step::CreateContainer { team: of, name, .. }
                | Step::StartContainer { team: of, name, .. }
                    if *of == team.name =>
                {
                    Some(name.as_str())
                }
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let mut reasons = Vec::new();
        if restarts > 0 {
            reasons.push(format!(
                "{restarts} container(s) start: their ports are new"
            ));
        }
        match observed {
            Some(observed) => {
                let fixes = sensor::fixes(sensor, observed);
                if !fixes.is_empty() && restarts == 0 {
                    reasons.push(sensor::reasons(&fixes));
                }
            }
            None => reasons.push("the runtime reports no sensors".to_string()),
        }
        if !reasons.is_empty() {
            planned.push(Step::ConfigureSensor {
                team: team.name.clone(),
                name: sensor.container.clone(),
                reason: reasons.join("; "),
            });
        }
    }
    planned
}

/// Bring one team's sensor to its plan (its containers run).
pub async fn configure_sensor<B: Backend>(
    backend: &B,
    sensor: &SensorPlan,
) -> Result<(), BackendError> {
    let look = || async {
        backend
            .observe_sensors()
            .await?
            .ok_or_else(|| BackendError::Runtime {
                action: "mirror segments",
                name: sensor.container.clone(),
                message: "this runtime cannot mirror a segment into a container".into(),
            })
    };
    let fixes = sensor::fixes(sensor, &look().await?);
    if fixes.is_empty() {
        return Ok(());
    }
    backend.fix_sensor(sensor, &fixes).await?;
    let left = sensor::fixes(sensor, &look().await?);
    if left.is_empty() {
        tracing::info!(container = %sensor.container, fixed = %sensor::reasons(&fixes), "sensor in place");
        Ok(())
    } else {
        Err(BackendError::Runtime {
            action: "mirror segments",
            name: sensor.container.clone(),
            message: format!(
                "the sensor did not take effect; still: {}",
                sensor::reasons(&left)
            ),
        })
    }
}
