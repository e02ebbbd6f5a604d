//! The JSON API: `/api/team/...` for curl from a team's workstation and
//! `/api/instructor/...` for the CLI. Same actions as the pages (see
//! `actions`), same authorisation.

pub(crate) mod instructor;
pub(crate) mod team;

/// The OpenAPI 3.1 description of both APIs (`crates/enshu-server/openapi.yaml`,
/// kept true by `tests/openapi.rs`).
pub(crate) const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// `GET /api/openapi.yaml`: [`OPENAPI_YAML`], to anyone.
pub(crate) async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/yaml")],
        OPENAPI_YAML,
    )
}
