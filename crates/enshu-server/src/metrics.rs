//! `GET /metrics`: the Prometheus text format (version 0.0.4), for the
//! instructor's token or cookie only (it names teams and their activity).
//! What the engine and the exec agents measure comes from
//! `enshu_backend::metrics`; the rest is read where the server keeps it:
//! the live channel's receivers, the fair-share counts, the store's
//! events per team.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use enshu_backend::metrics::{self as measured, Timing};

use crate::auth::Caller;
use crate::error::RequestError;
use crate::state::AppState;

pub(crate) async fn metrics(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, RequestError> {
    caller.require_instructor()?;
    let events = state.store().team_event_counts(state.session()).await?;
    let mut text = Exposition::default();
    for (name, help, timing) in [
        (
            "enshu_fire_round_lag_seconds",
            "How late fire rounds started against their period",
            &measured::FIRE_ROUND_LAG,
        ),
        (
            "enshu_inject_fire_skew_seconds",
            "How late injects started firing after they were due, in exercise time",
            &measured::INJECT_FIRE_SKEW,
        ),
        (
            "enshu_check_round_seconds",
            "How long rounds of automatic checks took",
            &measured::CHECK_ROUND,
        ),
    ] {
        text.timing(name, help, timing);
    }
    text.family(
        "enshu_sse_clients",
        "gauge",
        "Live-update (SSE) streams open",
    );
    // Each open stream holds one receiver of the live channel.
    text.sample(
        "enshu_sse_clients",
        "",
        state.inner.live_events.receiver_count() as f64,
    );
    text.family(
        "enshu_agent_fallbacks_total",
        "counter",
        "Exec agents dropped for plain docker exec",
    );
    text.sample(
        "enshu_agent_fallbacks_total",
        "",
        measured::agent_fallbacks() as f64,
    );

    let team_name = |index: u32| {
        state
            .inner
            .plan
            .teams
            .iter()
            .find(|team| team.index == index)
            .map(|team| team.name.clone())
            .unwrap_or_else(|| index.to_string())
    };
    let mut per_team: BTreeMap<u32, u64> = BTreeMap::new();
    for count in &events {
        *per_team.entry(count.team).or_default() += count.count;
    }
    text.family(
        "enshu_team_events_total",
        "counter",
        "Events in the log written by or for each team",
    );
    for team in &state.inner.plan.teams {
        let count = per_team.get(&team.index).copied().unwrap_or(0);
        text.sample(
            "enshu_team_events_total",
            &labels(&[("team", &team.name)]),
            count as f64,
        );
    }
    let fair_share = state.fair_share();
    text.family(
        "enshu_way_in_connections",
        "gauge",
        "Connections open to each team's way in (SSH)",
    );
    let open = fair_share.way_in_open();
    for team in &state.inner.plan.teams {
        let count = open.get(&team.index).copied().unwrap_or(0);
        text.sample(
            "enshu_way_in_connections",
            &labels(&[("team", &team.name)]),
            count as f64,
        );
    }
    text.family(
        "enshu_refused_requests_total",
        "counter",
        "Requests and connections refused since the server started, by team, kind and reason",
    );
    for (team, kind, count) in fair_share.refusals() {
        let name = team_name(team);
        for (reason, value) in [
            ("rate", count.rate),
            ("quota", count.quota),
            ("concurrent", count.concurrent),
        ] {
            if value > 0 {
                text.sample(
                    "enshu_refused_requests_total",
                    &labels(&[("team", &name), ("kind", kind.name()), ("reason", reason)]),
                    value as f64,
                );
            }
        }
    }
    let connections = fair_share.refused_connections();
    for (kind, reason, value) in [
        ("blocked_login", "rate", fair_share.blocked_logins()),
        ("portal_connection", "per_address", connections.per_address),
        ("portal_connection", "total", connections.total),
        ("portal_connection", "slow_body", connections.slow_body),
    ] {
        text.sample(
            "enshu_refused_requests_total",
            &labels(&[("team", ""), ("kind", kind), ("reason", reason)]),
            value as f64,
        );
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text.0,
    )
        .into_response())
}

#[derive(Default)]
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}.");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        let _ = writeln!(self.0, "{name}{labels} {value}");
    }

    /// A duration as a gauge of the last value, a gauge of the largest
    /// and a counter of how many were measured.
    fn timing(&mut self, name: &str, help: &str, timing: &Timing) {
        self.family(name, "gauge", &format!("{help} (the last)"));
        self.sample(name, "", timing.last_seconds());
        let max = format!("{name}_max");
        self.family(&max, "gauge", &format!("{help} (the largest)"));
        self.sample(&max, "", timing.max_seconds());
        let count = name.replace("_seconds", "_measured_total");
        self.family(&count, "counter", &format!("{help} (how many measured)"));
        self.sample(&count, "", timing.count() as f64);
    }
}

/// `{name="value",…}` with the exposition format's escapes.
fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(name, value)| {
            let escaped = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{name}=\"{escaped}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}
