//! Every route, with the role that may use it (checked in the handler via
//! `Caller`). See the routes table in the crate's tests
//! (`tests/authorization.rs`), which drives each one with every role.

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;
use crate::{api, live, pages, security, terminal};

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        // Anyone.
        .route(
            "/login",
            get(pages::login::login_form).post(pages::login::login),
        )
        .route("/logout", post(pages::login::logout))
        .route("/lang/{code}", get(pages::login::switch_language))
        .route("/static/app.js", get(pages::static_script))
        .route("/static/app.css", get(pages::static_styles))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/openapi.yaml", get(crate::api::openapi))
        // Instructor only (checked in the handler).
        .route("/metrics", get(crate::metrics::metrics))
        .route("/static/xterm.js", get(terminal::pages::xterm_script))
        .route("/static/xterm.css", get(terminal::pages::xterm_styles))
        .route("/static/terminal.js", get(terminal::pages::terminal_script))
        // The web terminal's socket: a team on its own terminals, an
        // instructor watching any (read-only).
        .route("/terminal/socket", get(terminal::socket::socket))
        .route("/team/terminal", get(terminal::pages::team_terminal))
        .route("/api/team/terminals", get(terminal::pages::team_recordings))
        .route(
            "/api/team/terminals/{id}/recording",
            get(terminal::pages::team_recording),
        )
        .route("/terminals", get(terminal::pages::instructor_list))
        .route("/terminals/{id}", get(terminal::pages::instructor_watch))
        .route(
            "/terminals/{id}/replay",
            get(terminal::pages::instructor_replay),
        )
        .route(
            "/api/instructor/terminals",
            get(terminal::pages::instructor_recordings),
        )
        .route(
            "/api/instructor/terminals/{id}/recording",
            get(terminal::pages::instructor_recording),
        )
        // Teams: portal.
        .route("/team", get(pages::team::portal))
        .route("/team/fragment", get(pages::team::portal_fragment))
        .route("/team/answers", post(pages::team::answer))
        .route("/team/hints", post(pages::team::hint))
        .route("/team/firewall", post(pages::team::firewall))
        .route("/team/messages/read", post(pages::team::messages_read))
        .route(
            "/team/forms/{form}",
            get(pages::team::report_form).post(pages::team::submit_report),
        )
        .route("/team/reports/{seq}", get(pages::team::report))
        // Teams: JSON API.
        .route("/api/team", get(api::team::overview))
        .route("/api/team/answers", post(api::team::answer))
        .route(
            "/api/team/reports",
            get(api::team::reports).post(api::team::submit_report),
        )
        .route("/api/team/reports/{seq}", get(api::team::report))
        .route("/api/team/submissions", get(api::team::submissions))
        .route("/api/team/hints", post(api::team::hint))
        .route("/api/team/firewall", post(api::team::firewall))
        .route("/api/team/messages/read", post(api::team::messages_read))
        .route("/api/team/timeline", get(api::team::timeline))
        // Live updates (both roles, filtered).
        .route("/events", get(live::events))
        // Instructors: pages.
        .route("/", get(pages::instructor::scoreboard))
        .route(
            "/fragments/scoreboard",
            get(pages::instructor::scoreboard_fragment),
        )
        .route("/teams/{team}", get(pages::instructor::team_page))
        .route(
            "/teams/{team}/fragment",
            get(pages::instructor::team_page_fragment),
        )
        .route("/teams/{team}/notes", post(pages::instructor::add_note))
        .route(
            "/teams/{team}/adjustments",
            post(pages::instructor::add_adjustment),
        )
        .route(
            "/teams/{team}/reports/{seq}",
            get(pages::instructor::review_report),
        )
        .route(
            "/teams/{team}/reports/{seq}/grade",
            post(pages::instructor::grade_report),
        )
        .route(
            "/teams/{team}/after-action",
            get(pages::after_action::page_of_team),
        )
        // Instructors: JSON API.
        .route(
            "/api/instructor/scoreboard",
            get(api::instructor::scoreboard),
        )
        .route(
            "/api/instructor/fair-share",
            get(api::instructor::fair_share),
        )
        .route(
            "/api/instructor/export.json",
            get(api::instructor::export_json),
        )
        .route(
            "/api/instructor/after-action.json",
            get(pages::after_action::export),
        )
        .route(
            "/api/instructor/export.xapi.json",
            get(api::instructor::export_xapi),
        )
        .route(
            "/api/instructor/export.csv",
            get(api::instructor::export_csv),
        )
        .route("/api/instructor/clock", post(api::instructor::clock))
        .route(
            "/api/instructor/injects/{inject}/fire",
            post(api::instructor::fire_inject),
        )
        .route(
            "/api/instructor/injects/{inject}/hold",
            post(api::instructor::hold_inject),
        )
        .route(
            "/api/instructor/teams/{team}/events",
            get(api::instructor::team_events),
        )
        .route(
            "/api/instructor/teams/{team}/notes",
            post(api::instructor::add_note),
        )
        .route(
            "/api/instructor/teams/{team}/token",
            post(api::instructor::replace_team_token),
        )
        .route(
            "/api/instructor/teams/{team}/adjustments",
            post(api::instructor::add_adjustment),
        )
        .route(
            "/api/instructor/teams/{team}/reports/{seq}/grade",
            post(api::instructor::grade_report),
        )
        .fallback(pages::error::no_such_route)
        // Every body is read once, within its size limit and its time.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::body_deadline::read_body_in_time,
        ))
        // A browser's failed page request gets a page, not JSON.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::error::for_browsers,
        ))
        .layer(axum::middleware::from_fn(security::add_security_headers))
        // Outermost: a request's line has its final status and whole latency.
        .layer(axum::middleware::from_fn(crate::request_log::log_request))
        .with_state(state)
}
