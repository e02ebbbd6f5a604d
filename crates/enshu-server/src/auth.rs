//! Who is calling: the instructor (one shared token) or a team (its own
//! token, verified against the hash in the store).
//!
//! Browsers log in once with a form and then carry an HttpOnly, Secure,
//! SameSite=Strict session cookie; scripts and curl send
//! `Authorization: Bearer <token>` on every request. Cookie-authenticated
//! state changes need a CSRF token: a form field (or `X-CSRF-Token`
//! header) equal to a MAC of the session cookie under a per-process
//! secret, so the token is tied to the cookie and nothing else needs
//! storing. Bearer requests carry no ambient credential and need none.

use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};

use crate::error::RequestError;
use crate::state::AppState;
use crate::tls::ClientAddress;

pub(crate) const SESSION_COOKIE: &str = "__Host-enshu-session";
pub(crate) const LOGIN_COOKIE: &str = "__Host-enshu-login";
pub(crate) const CSRF_FIELD: &str = "csrf";
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    Instructor,
    Team { index: u32, name: String },
}

pub(crate) struct WebSession {
    pub principal: Principal,
    pub expires_at: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    None,
    Bearer,
    Cookie { session_id: String },
}

/// The caller of a request, resolved from a bearer token or the session
/// cookie. Extraction fails only for a wrong bearer token (401, counted as
/// a failed login) or a blocked address (429).
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub principal: Option<Principal>,
    pub credential: Credential,
    pub api: bool,
    /// The caller's language, for refusals.
    pub lang: crate::i18n::Lang,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = RequestError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Caller, RequestError> {
        let api = parts.uri.path().starts_with("/api/");
        let lang = crate::i18n::Lang::of_request(&parts.headers);
        let client = parts
            .extensions
            .get::<ConnectInfo<ClientAddress>>()
            .map(|info| info.0.0.ip());
        if let Some(token) = bearer_token(&parts.headers) {
            if let Some(address) = client
                && state.login_blocked(address)
            {
                state.fair_share().count_blocked_login();
                return Err(RequestError::TooManyRequests { lang });
            }
            return match principal_for_token(state, &token).await? {
                Some(principal) => {
                    crate::request_log::CallerSlot::note(parts, || actor_of(&principal));
                    admit_read(state, parts, &principal, lang, api)?;
                    Ok(Caller {
                        principal: Some(principal),
                        credential: Credential::Bearer,
                        api,
                        lang,
                    })
                }
                None => {
                    if let Some(address) = client {
                        state.record_login_failure(address);
                    }
                    Err(RequestError::Unauthenticated { api: true })
                }
            };
        }
        if let Some(session_id) = cookie(&parts.headers, SESSION_COOKIE)
            && let Some(principal) = state.web_session(&session_id)
        {
            crate::request_log::CallerSlot::note(parts, || actor_of(&principal));
            admit_read(state, parts, &principal, lang, api)?;
            return Ok(Caller {
                principal: Some(principal),
                credential: Credential::Cookie { session_id },
                api,
                lang,
            });
        }
        Ok(Caller {
            principal: None,
            credential: Credential::None,
            api,
            lang,
        })
    }
}

/// A team's read (GET or HEAD) passes its read allowance (`fair_share`)
/// before the handler renders anything; writes have their own allowances
/// in the handlers, and the instructor is not limited.
fn admit_read(
    state: &AppState,
    parts: &Parts,
    principal: &Principal,
    lang: crate::i18n::Lang,
    api: bool,
) -> Result<(), RequestError> {
    let Principal::Team { index, .. } = principal else {
        return Ok(());
    };
    if parts.method != axum::http::Method::GET && parts.method != axum::http::Method::HEAD {
        return Ok(());
    }
    let kind = crate::fair_share::WriteKind::Read;
    state
        .fair_share()
        .admit(*index, kind)
        .map_err(|refusal| RequestError::Refused {
            kind,
            refusal,
            lang,
            api,
        })
}

impl Caller {
    pub fn require_instructor(&self) -> Result<(), RequestError> {
        match &self.principal {
            Some(Principal::Instructor) => Ok(()),
            Some(Principal::Team { .. }) => Err(RequestError::Forbidden),
            None => Err(RequestError::Unauthenticated { api: self.api }),
        }
    }

    /// The caller's team index.
    pub fn require_team(&self) -> Result<u32, RequestError> {
        match &self.principal {
            Some(Principal::Team { index, .. }) => Ok(*index),
            Some(Principal::Instructor) => Err(RequestError::Forbidden),
            None => Err(RequestError::Unauthenticated { api: self.api }),
        }
    }

    /// The CSRF token forms of this caller must carry (empty for bearer).
    pub fn csrf_token(&self, state: &AppState) -> String {
        match &self.credential {
            Credential::Cookie { session_id } => csrf_token_for(state, session_id),
            _ => String::new(),
        }
    }

    /// Checks the CSRF token of a state-changing request: from the form
    /// field if given, else the `X-CSRF-Token` header.
    pub fn check_csrf(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        form_token: Option<&str>,
    ) -> Result<(), RequestError> {
        match &self.credential {
            Credential::Bearer => Ok(()),
            Credential::None => Err(RequestError::Unauthenticated { api: self.api }),
            Credential::Cookie { session_id } => {
                let presented = form_token
                    .map(str::to_owned)
                    .or_else(|| {
                        headers
                            .get(CSRF_HEADER)
                            .and_then(|value| value.to_str().ok())
                            .map(str::to_owned)
                    })
                    .ok_or(RequestError::Csrf)?;
                let expected = csrf_token_for(state, session_id);
                if constant_time_equal(presented.as_bytes(), expected.as_bytes()) {
                    Ok(())
                } else {
                    Err(RequestError::Csrf)
                }
            }
        }
    }

    /// `team:3` or `instructor`, for the event's actor.
    pub fn actor(&self) -> String {
        match &self.principal {
            Some(principal) => actor_of(principal),
            None => "anonymous".to_owned(),
        }
    }
}

/// `team:3` or `instructor`.
fn actor_of(principal: &Principal) -> String {
    match principal {
        Principal::Team { index, .. } => format!("team:{index}"),
        Principal::Instructor => "instructor".to_owned(),
    }
}

pub(crate) fn csrf_token_for(state: &AppState, session_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(state.inner.secret);
    hasher.update(b"csrf\0");
    hasher.update(session_id.as_bytes());
    hex::encode(&hasher.finalize()[..20])
}

/// The principal a presented token stands for, if any.
pub(crate) async fn principal_for_token(
    state: &AppState,
    token: &str,
) -> Result<Option<Principal>, RequestError> {
    let token = token.trim();
    if token.is_empty() {
        return Ok(None);
    }
    let presented_hash = crate::state::hash_instructor_token(token);
    if constant_time_equal(
        presented_hash.as_bytes(),
        state.inner.instructor_token_hash.as_bytes(),
    ) {
        return Ok(Some(Principal::Instructor));
    }
    let team = state
        .store()
        .verify_team_token(state.session(), token)
        .await?;
    Ok(team.map(|team| Principal::Team {
        index: team.team_index,
        name: team.name,
    }))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value with the attributes every Enshu cookie has.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_seconds: u64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; HttpOnly; Secure; SameSite=Strict")
}

pub(crate) fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    left.iter()
        .zip(right)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}
