//! Authentication: the one place where credentials are read and verified.
//!
//! Credentials arrive as `Authorization: Bearer <jwt>` or `X-API-Key:
//! <key>` on every protected route, and — on the WebSocket upgrade only,
//! since browsers cannot set headers there — as `?access_token=` or
//! `?api_key=`. [`presented`] reads them (the same function serves REST,
//! the WebSocket upgrade and the rate limiter), [`verify`] checks them
//! once per request in the [`crate::gate`] middleware, and handlers find
//! the result in the request's extensions through [`Caller`] or
//! [`Authenticated`].

pub mod jwt;

use std::borrow::Cow;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use missive_domain::ids::{ApiKeyId, UserId};
use missive_domain::services::api_keys::AuthenticateApiKeyError;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying an API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// Credentials as presented, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented<'a> {
    /// An access token (`Authorization: Bearer` or `?access_token=`).
    Bearer(Cow<'a, str>),
    /// An API key (`X-API-Key` or `?api_key=`).
    ApiKey(Cow<'a, str>),
}

/// How a verified caller proved who they are; it bounds how long a
/// long-lived session (a WebSocket) may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// An access token, valid until its `exp`.
    Token {
        /// The token's expiry.
        expires_at: OffsetDateTime,
    },
    /// An API key, valid until it is revoked.
    ApiKey {
        /// The key.
        id: ApiKeyId,
    },
}

/// A caller whose credentials verified. Put in the request's extensions
/// by [`crate::gate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Who is calling.
    pub user: UserId,
    /// With what.
    pub grant: Grant,
}

/// Reads the credentials of a request. `Authorization` wins over
/// `X-API-Key`; the query parameters count only when `query_allowed` (the
/// WebSocket upgrade) and no header carries credentials.
///
/// # Errors
/// 401 for a header that is present but malformed (not text, not the
/// bearer scheme, empty).
pub fn presented<'a>(
    headers: &'a HeaderMap,
    query: Option<&'a str>,
    query_allowed: bool,
) -> Result<Option<Presented<'a>>, ApiError> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::invalid_token("malformed Authorization header"))?;
        let token = bearer_token(value)
            .ok_or_else(|| ApiError::invalid_token("expected Authorization: Bearer <token>"))?;
        return Ok(Some(Presented::Bearer(Cow::Borrowed(token))));
    }
    if let Some(value) = headers.get(API_KEY_HEADER) {
        let key = value
            .to_str()
            .map_err(|_| ApiError::invalid_token("malformed X-API-Key header"))?
            .trim();
        if key.is_empty() {
            return Err(ApiError::invalid_token("empty X-API-Key header"));
        }
        return Ok(Some(Presented::ApiKey(Cow::Borrowed(key))));
    }
    if !query_allowed {
        return Ok(None);
    }
    let Some(query) = query else {
        return Ok(None);
    };
    let mut api_key = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "access_token" if !value.is_empty() => return Ok(Some(Presented::Bearer(value))),
            "api_key" if !value.is_empty() && api_key.is_none() => api_key = Some(value),
            _ => {}
        }
    }
    Ok(api_key.map(Presented::ApiKey))
}

/// Verifies presented credentials.
///
/// # Errors
/// 401 for a bad, expired or revoked credential; 503 when the key store is
/// unreachable.
pub async fn verify(app: &AppState, presented: &Presented<'_>) -> Result<Verified, ApiError> {
    match presented {
        Presented::Bearer(token) => app
            .jwt
            .verify(token)
            .map(|token| Verified {
                user: token.user,
                grant: Grant::Token {
                    expires_at: token.expires_at,
                },
            })
            .map_err(|_| ApiError::invalid_token("invalid or expired access token")),
        Presented::ApiKey(secret) => match app.api_keys.authenticate_api_key(secret).await {
            Ok(key) => Ok(Verified {
                user: key.owner_id,
                grant: Grant::ApiKey { id: key.id },
            }),
            Err(AuthenticateApiKeyError::InvalidKey) => {
                Err(ApiError::invalid_token("invalid or revoked api key"))
            }
            Err(AuthenticateApiKeyError::Infra(error)) => Err(error.into()),
        },
    }
}

/// The authenticated caller's id. Answers 401 (with `WWW-Authenticate:
/// Bearer`) when the request carries no verified credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller(pub UserId);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Authenticated::from_request_parts(parts, state)
            .await
            .map(|Authenticated(verified)| Caller(verified.user))
    }
}

/// The verified caller with their [`Grant`], for sessions that must end
/// with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated(pub Verified);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // The gate verifies every protected route; absence means a route
        // outside it, which must not be served to anybody.
        parts
            .extensions
            .get::<Verified>()
            .copied()
            .map(Authenticated)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "authentication required: send Authorization: Bearer <token> or X-API-Key",
                )
            })
    }
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn authorization_wins_over_an_api_key_and_headers_over_the_query() {
        let both = headers(&[("authorization", "Bearer t"), ("x-api-key", "k")]);
        assert_eq!(
            presented(&both, Some("api_key=q"), true).expect("ok"),
            Some(Presented::Bearer("t".into()))
        );
        let key = headers(&[("x-api-key", " k ")]);
        assert_eq!(
            presented(&key, Some("access_token=q"), true).expect("ok"),
            Some(Presented::ApiKey("k".into()))
        );
    }

    #[test]
    fn query_credentials_count_only_where_allowed_and_are_decoded() {
        let none = HeaderMap::new();
        assert_eq!(
            presented(&none, Some("api_key=a%2Bb"), false).expect("ok"),
            None
        );
        assert_eq!(
            presented(&none, Some("x=1&api_key=a%2Bb"), true).expect("ok"),
            Some(Presented::ApiKey("a+b".into()))
        );
        assert_eq!(
            presented(&none, Some("api_key=k&access_token=t"), true).expect("ok"),
            Some(Presented::Bearer("t".into())),
            "a token wins, as the header does"
        );
        assert_eq!(presented(&none, Some("api_key="), true).expect("ok"), None);
        assert_eq!(presented(&none, None, true).expect("ok"), None);
    }

    #[test]
    fn malformed_headers_are_refused_not_ignored() {
        for pairs in [
            &[("authorization", "Basic abc")][..],
            &[("authorization", "Bearer ")][..],
            &[("x-api-key", "  ")][..],
        ] {
            let error = presented(&headers(pairs), None, true).expect_err("malformed");
            assert_eq!(error.status(), axum::http::StatusCode::UNAUTHORIZED);
        }
    }
}
