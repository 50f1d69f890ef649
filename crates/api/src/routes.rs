//! HTTP routes, one resource per file. Handlers parse, call one use case,
//! and map the result.

pub mod api_keys;
pub mod auth;
pub mod bulk;
pub mod chats;
pub mod docs;
pub mod health;
pub mod listing;
pub mod members;
pub mod mentions;
pub mod messages;
pub mod paging;
pub mod pins;
pub mod reactions;
pub mod sync;
pub mod threads;
pub mod uploads;
pub mod users;
pub mod web;
pub mod ws;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Everything under `/api/v1`.
pub fn api_v1(settings: &crate::config::Settings) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(api_keys::router())
        .merge(chats::router())
        .merge(members::router())
        .merge(messages::router())
        .merge(reactions::router())
        .merge(pins::router())
        .merge(threads::router())
        .merge(mentions::router())
        .merge(listing::router())
        .merge(bulk::router(settings.server.max_batch_bytes))
        .merge(uploads::router())
        .merge(sync::router())
        .merge(ws::router())
}

pub(crate) use crate::commands::to_completion;

/// Whether the request header `name` (`If-None-Match`, `If-Range`) lists
/// `etag` (weak or strong) or `*`.
pub(crate) fn lists_etag(
    request: &axum::http::HeaderMap,
    name: axum::http::HeaderName,
    etag: &str,
) -> bool {
    request
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
        })
}
pub(crate) use crate::views::rfc3339;

/// Distinguishes an absent field (`None`) from an explicit `null`
/// (`Some(None)`), for PATCH bodies. Use with `#[serde(default)]`.
pub(crate) fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
