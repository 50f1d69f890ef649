//! Messages: `POST|GET /chats/{chat_id}/messages`, `GET|PATCH|DELETE
//! /messages/{message_id}`, `GET /messages/search`.

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::ids::{ChatId, MessageId};
use missive_domain::message::{HistoryCursor, MessageContent};
use missive_domain::metadata::Metadata;
use missive_domain::paging::Seq;
use missive_domain::services::messages::{EditMessage, HistoryLimit};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::state::AppState;
use crate::views::{MessagePageView, MessageView};

pub use crate::commands::SendMessageRequest;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_message, history))
        .routes(routes!(get_message, edit_message, delete_message))
}

/// Stores a message as the next in the chat (gap-free `seq`). With a
/// `client_id` the sender used before in this chat, nothing is stored and
/// the original message is returned, unchanged, with 200.
#[utoipa::path(
    post, path = "/chats/{chat_id}/messages", tag = "messages",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
    request_body = SendMessageRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Stored", body = MessageView),
        (status = 200, description = "Already stored under this client_id: the original", body = MessageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn send_message(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<SendMessageRequest>,
) -> Result<(StatusCode, Json<MessageView>), ApiError> {
    let request =
        body.try_into_domain(ChatId::from_uuid(id), app.settings.limits.max_message_chars)?;
    let (message, created) = crate::commands::send(&app, caller, request).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(message.into())))
}

/// Query of `GET /chats/{chat_id}/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub(crate) limit: Option<i64>,
    /// The newest messages with a smaller seq (scrolling back).
    #[param(minimum = 0)]
    pub(crate) before_seq: Option<i64>,
    /// The oldest messages with a greater seq (catching up after a
    /// reconnect). Not together with `before_seq` (422).
    #[param(minimum = 0)]
    pub(crate) after_seq: Option<i64>,
    /// Skip this many of the newest positions (deleted messages count),
    /// then the newest `limit`: `limit=50&offset=50` is the second page
    /// from the end. Constant cost for any offset; beyond the start, an
    /// empty page. Not together with `before_seq` or `after_seq` (422).
    #[param(minimum = 0)]
    pub(crate) offset: Option<i64>,
}

impl HistoryQuery {
    /// The validated cursor and page size; 422 naming every bad parameter.
    pub(crate) fn try_into_domain(self) -> Result<(HistoryCursor, HistoryLimit), ApiError> {
        let mut errors = FieldErrors::default();
        let limit = errors.check("limit", HistoryLimit::new(self.limit.unwrap_or(50)));
        let given = [
            ("before_seq", self.before_seq),
            ("after_seq", self.after_seq),
            ("offset", self.offset),
        ];
        if given.iter().filter(|(_, v)| v.is_some()).count() > 1 {
            for (field, value) in given {
                if value.is_some() {
                    errors.push(field, "use one of before_seq, after_seq and offset");
                }
            }
        }
        let cursor = match (self.before_seq, self.after_seq, self.offset) {
            (None, None, None) => Some(HistoryCursor::Latest),
            (Some(n), None, None) => errors
                .check("before_seq", Seq::new(n))
                .map(HistoryCursor::Before),
            (None, Some(n), None) => errors
                .check("after_seq", Seq::new(n))
                .map(HistoryCursor::After),
            (None, None, Some(n)) => errors
                .check("offset", Seq::new(n))
                .map(HistoryCursor::Offset),
            _ => None,
        };
        match (cursor, limit) {
            (Some(cursor), Some(limit)) => Ok((cursor, limit)),
            _ => Err(errors.into_error()),
        }
    }
}

/// A page of a chat's history. Without a cursor: the newest `limit`
/// messages; `before_seq` scrolls back, `after_seq` catches up, `offset`
/// counts positions from the end.
#[utoipa::path(
    operation_id = "get_chat_history",
    get, path = "/chats/{chat_id}/messages", tag = "messages",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id"), HistoryQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page, ascending by seq", body = MessagePageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn history(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<MessagePageView>, ApiError> {
    let (cursor, limit) = query.try_into_domain()?;
    let page = app
        .messages
        .history(caller, ChatId::from_uuid(id), cursor, limit)
        .await?;
    Ok(Json(page.into()))
}

/// One message of a chat the caller is in; a deleted one is returned as
/// its tombstone.
#[utoipa::path(
    get, path = "/messages/{message_id}", tag = "messages",
    params(("message_id" = uuid::Uuid, Path, description = "Message id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn get_message(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<MessageView>, ApiError> {
    let message = app
        .messages
        .get_message(caller, MessageId::from_uuid(id))
        .await?;
    Ok(Json(message.into()))
}

/// Body of `PATCH /messages/{message_id}`: either field or both.
#[derive(Deserialize, ToSchema)]
pub struct EditMessageRequest {
    /// New text (the sender only); sets `edited_at`. `""` only on a
    /// message with attachments.
    #[serde(default)]
    #[schema(max_length = 4000)]
    content: Option<String>,
    /// true, false, or null to clear (any member).
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<bool>)]
    rating: Option<Option<bool>>,
    /// New metadata, replacing the old whole (the sender only; `{}`
    /// clears it).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
    /// New mentions, replacing the old (the sender only; `[]` clears
    /// them). Who is notified follows.
    #[serde(default)]
    #[schema(max_items = 50)]
    mentions: Option<Vec<uuid::Uuid>>,
}

impl EditMessageRequest {
    fn try_into_domain(self, max_chars: usize) -> Result<EditMessage, ApiError> {
        let mut errors = FieldErrors::default();
        let content = errors.check_optional("content", self.content, |raw| {
            MessageContent::new_or_empty(raw, max_chars)
        });
        let metadata = errors.check_optional("metadata", self.metadata, Metadata::new);
        let mentions = errors.check_optional("mentions", self.mentions, crate::commands::mentions);
        match (content, metadata, mentions) {
            (Some(content), Some(metadata), Some(mentions)) => Ok(EditMessage {
                content,
                rating: self.rating,
                metadata,
                mentions,
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// Edits a message's content or metadata (sender only) or rating (any
/// member).
#[utoipa::path(
    patch, path = "/messages/{message_id}", tag = "messages",
    params(("message_id" = uuid::Uuid, Path, description = "Message id")),
    request_body = EditMessageRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The updated message", body = MessageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn edit_message(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<EditMessageRequest>,
) -> Result<Json<MessageView>, ApiError> {
    let edit = body.try_into_domain(app.settings.limits.max_message_chars)?;
    let message = super::to_completion(async move {
        app.messages
            .edit_message(caller, MessageId::from_uuid(id), edit)
            .await
    })
    .await?;
    Ok(Json(message.into()))
}

/// Deletes a message (sender, or the chat's owner or admins). It stays in
/// the sequence as a tombstone.
#[utoipa::path(
    delete, path = "/messages/{message_id}", tag = "messages",
    params(("message_id" = uuid::Uuid, Path, description = "Message id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "Deleted (also when it already was)"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn delete_message(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    super::to_completion(async move {
        app.messages
            .delete_message(caller, MessageId::from_uuid(id))
            .await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
