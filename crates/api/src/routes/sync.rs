//! `GET /sync`: every change the caller can see since a token (SPEC §4.8).

use axum::extract::State;
use missive_domain::services::sync::SyncLimit;
use missive_domain::sync::SyncToken;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Query};
use crate::openapi::{BadRequest, Gone, Unauthorized, ValidationFailed};
use crate::realtime::protocol::ServerEvent;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sync))
}

/// Query of `GET /sync`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// A token from a previous answer (`next_token`), from an event's
    /// `token`, or from the WebSocket's `ready`/`synced`. Without it: no
    /// changes and the token for now.
    since: Option<String>,
    /// Most changes to answer, 1–1000 (default 100). Fewer may come back
    /// with `has_more` when the log holds many changes the caller cannot
    /// see (each request looks at a bounded part of it).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// A page of changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResponse {
    /// WebSocket events (`message.created`, `reaction.added`,
    /// `member.removed`, `chat.deleted` …), each with its `token`, in
    /// commit order; rendered from the state as it is now, so a change
    /// superseded in the same page may arrive merged into the later one
    /// (three edits as the last; a created-then-deleted message as its
    /// tombstone).
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Box<serde_json::value::RawValue>>,
    /// Where to resume.
    pub next_token: String,
    /// Ask again at once with `next_token`: more changes may be waiting.
    pub has_more: bool,
}

/// Parses a client's token.
///
/// # Errors
/// 422 naming `field` when it is not a token.
pub(crate) fn parse_token(field: &str, raw: &str) -> Result<SyncToken, ApiError> {
    raw.parse::<SyncToken>().map_err(|_| {
        let mut errors = FieldErrors::default();
        errors.push(field, "is not a sync token");
        errors.into_error()
    })
}

/// Every change the caller can see since `since`, exactly once, in commit
/// order, across instances and restarts: messages created, edited and
/// deleted, reactions (with the count now), thread summaries, pins, read
/// positions, members added and removed, chats created, changed and
/// deleted. Changes of the chats the caller is a member of now, plus
/// their own removals and the deletions of chats they were in; a client
/// added to a chat loads its earlier history over REST. Loop while
/// `has_more`. A token older than `sync.retention_days` (30) → 410
/// `sync_expired`: reload state, then start again without `since`.
#[utoipa::path(
    operation_id = "get_changes",
    get, path = "/sync", tag = "sync",
    params(SyncQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Changes and the token to resume from", body = SyncResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 410, response = Gone),
        (status = 422, response = ValidationFailed),
    )
)]
async fn sync(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<SyncQuery>,
) -> Result<Json<SyncResponse>, ApiError> {
    let mut errors = FieldErrors::default();
    let limit = errors.check("limit", SyncLimit::new(query.limit.unwrap_or(100)));
    let since = match query.since.as_deref().map(|raw| parse_token("since", raw)) {
        Some(Ok(token)) => Some(token),
        Some(Err(_)) => {
            errors.push("since", "is not a sync token");
            None
        }
        None => None,
    };
    let Some(limit) = limit.filter(|_| errors.is_empty()) else {
        return Err(errors.into_error());
    };
    let Some(since) = since else {
        let now = app.sync.now().await?;
        return Ok(Json(SyncResponse {
            changes: Vec::new(),
            next_token: now.to_string(),
            has_more: false,
        }));
    };
    let page = app.sync.since(caller, since, limit).await?;
    let changes = page
        .changes
        .into_iter()
        .map(|synced| {
            // Serialised once, as the WebSocket frame is.
            let frame = ServerEvent::from(synced.event).frame_with_token(synced.token);
            serde_json::value::RawValue::from_string(frame.as_str().to_owned())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(SyncResponse {
        changes,
        next_token: page.next_token.to_string(),
        has_more: page.has_more,
    }))
}
