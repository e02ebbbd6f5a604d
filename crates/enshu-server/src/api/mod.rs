//! The JSON API: `/api/team/...` for curl from a team's workstation and
//! `/api/instructor/...` for the CLI. Same actions as the pages (see
//! `actions`), same authorisation.

pub(crate) mod instructor;
pub(crate) mod team;
