//! Threads: `GET /messages/{message_id}/replies`. A reply is sent like any message,
//! with `reply_to`.

use axum::extract::State;
use missive_domain::ids::MessageId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::messages::HistoryQuery;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::openapi::{BadRequest, NotFound, Unauthorized, ValidationFailed};
use crate::state::AppState;
use crate::views::MessagePageView;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(replies))
}

/// Query of `GET /messages/{message_id}/replies`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RepliesQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The newest replies with a smaller seq (scrolling back).
    #[param(minimum = 0)]
    before_seq: Option<i64>,
    /// The oldest replies with a greater seq (catching up). Not together
    /// with `before_seq` (422).
    #[param(minimum = 0)]
    after_seq: Option<i64>,
}

/// A page of the replies in a message's thread, paged exactly like
/// history (items ascending by their seq in the chat; `has_more` in the
/// direction of travel). The root itself is not in the page: it is the
/// message `{id}`. An empty page for a message nobody answered (and for a
/// reply: replies to a reply join its root's thread).
#[utoipa::path(
    operation_id = "list_replies",
    get, path = "/messages/{message_id}/replies", tag = "messages",
    params(("message_id" = uuid::Uuid, Path, description = "The thread's root"), RepliesQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of replies, ascending by seq", body = MessagePageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn replies(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Query(query): Query<RepliesQuery>,
) -> Result<Json<MessagePageView>, ApiError> {
    let (cursor, limit) = HistoryQuery {
        limit: query.limit,
        before_seq: query.before_seq,
        after_seq: query.after_seq,
        offset: None,
    }
    .try_into_domain()?;
    let page = app
        .messages
        .replies(caller, MessageId::from_uuid(id), cursor, limit)
        .await?;
    Ok(Json(page.into()))
}
