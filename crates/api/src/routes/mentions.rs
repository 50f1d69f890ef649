//! `GET /mentions`: the messages that mention the caller.

use axum::extract::State;
use missive_domain::services::messages::ListLimit;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Query};
use crate::openapi::{BadRequest, Unauthorized, ValidationFailed};
use crate::state::AppState;
use crate::views::MentionList;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_mentions))
}

/// Query of `GET /mentions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MentionsQuery {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// The messages that mention the caller — by name, or as everyone in a
/// group — newest first: live ones only, in chats the caller is still in.
/// A message's sender is never notified of their own mentions.
#[utoipa::path(
    get, path = "/mentions", tag = "messages",
    params(MentionsQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of messages, newest first", body = MentionList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = ValidationFailed),
    )
)]
async fn list_mentions(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<MentionsQuery>,
) -> Result<Json<MentionList>, ApiError> {
    let mut errors = FieldErrors::default();
    let Some(limit) = errors.check("limit", ListLimit::new(query.limit.unwrap_or(20))) else {
        return Err(errors.into_error());
    };
    let before = query
        .cursor
        .as_deref()
        .map(super::paging::decode_message)
        .transpose()?;
    let (messages, next) = app.messages.mentions_of(caller, before, limit).await?;
    Ok(Json(MentionList {
        items: messages.into_iter().map(Into::into).collect(),
        next_cursor: next.map(super::paging::encode_message),
    }))
}
