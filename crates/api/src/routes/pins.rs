//! Pins: `PUT|DELETE /chats/{chat_id}/pins/{message_id}`, `GET /chats/{chat_id}/pins`.

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::ids::{ChatId, MessageId};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::{BadRequest, Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed};
use crate::state::AppState;
use crate::views::{MessageView, PinList};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pin_message, unpin_message))
        .routes(routes!(list_pins))
}

/// Pins a message of the chat; pinning it again changes nothing. In a
/// group only the owner and admins may (403 otherwise); in a direct chat
/// either member. A chat keeps at most 50 pins (the 51st is 422 naming
/// `message_id`). Answers the message with its `pinned`.
#[utoipa::path(
    put, path = "/chats/{chat_id}/pins/{message_id}", tag = "pins",
    params(
        ("chat_id" = uuid::Uuid, Path, description = "Chat id"),
        ("message_id" = uuid::Uuid, Path, description = "A message of that chat"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The pinned message", body = MessageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
async fn pin_message(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path((id, message_id)): Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<Json<MessageView>, ApiError> {
    let message = super::to_completion(async move {
        app.pins
            .pin(
                caller,
                ChatId::from_uuid(id),
                MessageId::from_uuid(message_id),
            )
            .await
    })
    .await?;
    Ok(Json(message.into()))
}

/// Unpins a message of the chat; 204 whether or not it was pinned. The
/// same members as for pinning may.
#[utoipa::path(
    delete, path = "/chats/{chat_id}/pins/{message_id}", tag = "pins",
    params(
        ("chat_id" = uuid::Uuid, Path, description = "Chat id"),
        ("message_id" = uuid::Uuid, Path, description = "A message of that chat"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "Not pinned (any more)"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn unpin_message(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path((id, message_id)): Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<StatusCode, ApiError> {
    super::to_completion(async move {
        app.pins
            .unpin(
                caller,
                ChatId::from_uuid(id),
                MessageId::from_uuid(message_id),
            )
            .await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The chat's pinned messages, newest pin first (at most 50, so no
/// paging). Any member may list them.
#[utoipa::path(
    get, path = "/chats/{chat_id}/pins", tag = "pins",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The pinned messages", body = PinList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn list_pins(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<PinList>, ApiError> {
    let pins = app.pins.pinned(caller, ChatId::from_uuid(id)).await?;
    Ok(Json(PinList {
        items: pins.into_iter().map(Into::into).collect(),
    }))
}
