//! HTTP routes, one resource per file. Handlers parse, call one use case,
//! and map the result.

pub mod api_keys;
pub mod auth;
pub mod docs;
pub mod health;
pub mod users;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Everything under `/api/v1`.
pub fn api_v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(api_keys::router())
}

/// Serialises timestamps as RFC 3339 in UTC.
pub(crate) mod rfc3339 {
    pub use time::serde::rfc3339::*;
}
