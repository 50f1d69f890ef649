//! Authentication of HTTP requests: `Authorization: Bearer <jwt>` or
//! `X-API-Key: <key>`.

pub mod jwt;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use missive_domain::ids::UserId;

use crate::error::ApiError;
use crate::state::AppState;

/// The header carrying an API key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The authenticated caller. Extracting it answers 401 (with
/// `WWW-Authenticate: Bearer`) when credentials are missing or bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller(pub UserId);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(&parts.headers, state).await.map(Caller)
    }
}

/// Resolves the credentials in `headers`. A present `Authorization` header
/// wins; it must be a valid bearer token.
///
/// # Errors
/// 401 for missing, malformed, expired, wrongly signed or revoked
/// credentials; 503 when the key store is unreachable.
pub async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<UserId, ApiError> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::invalid_token("malformed Authorization header"))?;
        let token = bearer_token(value)
            .ok_or_else(|| ApiError::invalid_token("expected Authorization: Bearer <token>"))?;
        return state
            .jwt
            .verify(token)
            .map_err(|_| ApiError::invalid_token("invalid or expired access token"));
    }
    if let Some(value) = headers.get(API_KEY_HEADER) {
        let key = value
            .to_str()
            .map_err(|_| ApiError::invalid_token("malformed X-API-Key header"))?;
        return Ok(state.api_keys.authenticate_api_key(key.trim()).await?);
    }
    Err(ApiError::unauthorized(
        "authentication required: send Authorization: Bearer <token> or X-API-Key",
    ))
}

fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
