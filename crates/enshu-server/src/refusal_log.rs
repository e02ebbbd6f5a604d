//! Refusal counts kept in the store, so they survive a restart: loaded
//! when the server starts, and what was refused since added at most once
//! per `ServerOptions::refusals_saved_every` (a minute) and at shutdown,
//! one row per (team, kind, reason) however many requests a flood sent.
//! At the start, the quotas are also charged with what each team wrote
//! before (its own events in the log), so a restart renews no quota.

use std::time::Duration;

use crate::state::AppState;

/// Loads the saved counts and charges the quotas with what each team
/// wrote before; `serve` awaits it before it accepts a connection.
pub(crate) async fn load(state: &AppState) {
    match state.store().team_event_counts(state.session()).await {
        Ok(used) => state.fair_share().add_used(&used),
        Err(error) => tracing::warn!(
            error = %crate::error::format_chain(&error),
            "reading what the teams wrote before this start (their quotas start again)"
        ),
    }
    match state.store().refusals(state.session()).await {
        Ok(saved) => state.fair_share().add_saved(&saved),
        Err(error) => tracing::warn!(
            error = %crate::error::format_chain(&error),
            "reading the refusal counts kept before this start"
        ),
    }
}

/// Saves what was refused every `every`, until aborted.
pub(crate) async fn keep(state: AppState, every: Duration) {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        save(&state).await;
    }
}

/// Adds what was refused since the last save to the store; on failure
/// keeps it for the next save.
pub(crate) async fn save(state: &AppState) {
    let tallies = state.fair_share().take_unsaved();
    if tallies.is_empty() {
        return;
    }
    if let Err(error) = state.store().add_refusals(state.session(), &tallies).await {
        tracing::warn!(
            error = %crate::error::format_chain(&error),
            "saving refusal counts; kept for the next try"
        );
        state.fair_share().keep_unsaved(&tallies);
    }
}
