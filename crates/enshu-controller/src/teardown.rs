//! `down`: remove every container, network and volume carrying the
//! session's label, and the session's sensor taps, and nothing else.

use enshu_backend::{Backend, BackendError};
use enshu_scenario::plan::labels;
use futures::stream::{self, StreamExt};

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DownReport {
    pub containers: usize,
    pub networks: usize,
    pub volumes: usize,
    /// Sensor taps still on the machine once the containers were gone
    /// (a removed container takes its taps with it, so usually none).
    pub sensor_taps: usize,
    pub seconds: f64,
}

/// Remove the session; safe to repeat. Containers go first (networks with
/// endpoints cannot be removed), then networks, then volumes, each kind
/// `concurrency` at a time.
pub async fn down<B: Backend>(
    backend: &B,
    session: &str,
    concurrency: usize,
) -> Result<DownReport, BackendError> {
    let started = std::time::Instant::now();
    let filter = [(labels::MANAGED, "true"), (labels::SESSION, session)];
    let observed = backend.list(&filter).await?;
    let each = |result: Result<(), BackendError>| match result {
        Err(BackendError::NotFound { .. }) => Ok(()),
        other => other,
    };
    let removals: Vec<Result<(), BackendError>> = stream::iter(observed.containers.iter())
        .map(|container| async move { each(backend.remove_container(&container.name).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    removals.into_iter().collect::<Result<(), _>>()?;
    // Networks and then volumes, concurrently too: each removal is an
    // engine round trip (bridge and filter rules), and a session has
    // several per team.
    let removals: Vec<Result<(), BackendError>> = stream::iter(observed.networks.iter())
        .map(|network| async move { each(backend.remove_network(&network.name).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    removals.into_iter().collect::<Result<(), _>>()?;
    // Anonymous volumes left by images' VOLUME declarations carry no labels;
    // the backend lists them by the containers they belonged to.
    let removals: Vec<Result<(), BackendError>> = stream::iter(observed.volumes.iter())
        .map(|volume| async move { each(backend.remove_volume(volume).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    removals.into_iter().collect::<Result<(), _>>()?;
    let sensor_taps = backend.remove_sensors(session).await?;
    Ok(DownReport {
        containers: observed.containers.len(),
        networks: observed.networks.len(),
        volumes: observed.volumes.len(),
        sensor_taps,
        seconds: started.elapsed().as_secs_f64(),
    })
}
