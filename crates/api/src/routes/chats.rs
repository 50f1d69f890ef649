//! `/chats`: creating, listing, reading, renaming and deleting chats; read
//! positions. Members are in [`super::members`].

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::chat::ChatTitle;
use missive_domain::ids::{ChatId, UserId};
use missive_domain::services::chats::CreateChat;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::paging::{self, limit};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::state::AppState;
use crate::views::{ChatKindDto, ChatList, ChatView, ReadStateView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_chat, list_chats))
        .routes(routes!(get_chat, rename_chat, delete_chat))
        .routes(routes!(mark_read))
}

/// Body of `POST /chats`.
#[derive(Deserialize, ToSchema)]
pub struct CreateChatRequest {
    /// `direct` or `group`.
    kind: ChatKindDto,
    /// Required for groups (1–100 characters); absent or null for direct
    /// chats.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    title: Option<String>,
    /// The other members: exactly one for a direct chat. The caller is
    /// always a member (the owner) and need not be listed.
    #[serde(default)]
    member_ids: Vec<uuid::Uuid>,
}

/// Creates a chat; the caller becomes its owner. Creating a direct chat
/// that already exists between the two users returns it with 200.
#[utoipa::path(
    post, path = "/chats", tag = "chats",
    request_body = CreateChatRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = ChatView),
        (status = 200, description = "The direct chat between these two users already existed", body = ChatView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn create_chat(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<CreateChatRequest>,
) -> Result<(StatusCode, Json<ChatView>), ApiError> {
    let mut errors = FieldErrors::default();
    let title = match body.title.as_deref() {
        Some(raw) => Some(
            errors
                .check("title", ChatTitle::new(raw))
                .ok_or_else(|| errors.into_error())?,
        ),
        None => None,
    };
    let request = CreateChat {
        kind: body.kind.into(),
        title,
        member_ids: body.member_ids.into_iter().map(UserId::from_uuid).collect(),
    };
    let (details, created) =
        super::to_completion(async move { app.chats.create_chat(caller, request).await }).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(details.into())))
}

/// Query of `GET /chats`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListChatsQuery {
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's chats, most recent activity first.
#[utoipa::path(
    get, path = "/chats", tag = "chats",
    params(ListChatsQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of chats", body = ChatList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 422, response = ValidationFailed),
    )
)]
async fn list_chats(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<ListChatsQuery>,
) -> Result<Json<ChatList>, ApiError> {
    let after = query
        .cursor
        .as_deref()
        .map(paging::decode_chat)
        .transpose()?;
    let (chats, next) = app
        .chats
        .list_chats(caller, limit(query.limit, 20), after)
        .await?;
    Ok(Json(ChatList {
        items: chats.into_iter().map(Into::into).collect(),
        next_cursor: next.as_ref().map(paging::encode_chat),
    }))
}

/// One of the caller's chats.
#[utoipa::path(
    get, path = "/chats/{id}", tag = "chats",
    params(("id" = uuid::Uuid, Path, description = "Chat id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The chat", body = ChatView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn get_chat(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<ChatView>, ApiError> {
    let details = app.chats.get_chat(caller, ChatId::from_uuid(id)).await?;
    Ok(Json(details.into()))
}

/// Body of `PATCH /chats/{id}`.
#[derive(Deserialize, ToSchema)]
pub struct RenameChatRequest {
    /// New title, 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    title: String,
}

/// Renames a group (owner or admin).
#[utoipa::path(
    patch, path = "/chats/{id}", tag = "chats",
    params(("id" = uuid::Uuid, Path, description = "Chat id")),
    request_body = RenameChatRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Renamed", body = ChatView),
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
async fn rename_chat(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<RenameChatRequest>,
) -> Result<Json<ChatView>, ApiError> {
    let mut errors = FieldErrors::default();
    let title = errors
        .check("title", ChatTitle::new(&body.title))
        .ok_or_else(|| errors.into_error())?;
    let details = super::to_completion(async move {
        app.chats
            .rename_chat(caller, ChatId::from_uuid(id), title)
            .await
    })
    .await?;
    Ok(Json(details.into()))
}

/// Deletes a chat and all its messages (owner only).
#[utoipa::path(
    delete, path = "/chats/{id}", tag = "chats",
    params(("id" = uuid::Uuid, Path, description = "Chat id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    )
)]
async fn delete_chat(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    super::to_completion(async move { app.chats.delete_chat(caller, ChatId::from_uuid(id)).await })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /chats/{id}/read`.
#[derive(Deserialize, ToSchema)]
pub struct ReadRequest {
    /// Every message up to this seq is read. Clamped to the chat's
    /// `last_seq`; a position never moves back.
    #[schema(minimum = 0)]
    seq: i64,
}

/// Marks messages read up to `seq`. Other members see it in
/// `members[].last_read_seq` and as a `chat.read` event.
#[utoipa::path(
    post, path = "/chats/{id}/read", tag = "chats",
    params(("id" = uuid::Uuid, Path, description = "Chat id")),
    request_body = ReadRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The read position", body = ReadStateView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn mark_read(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<ReadRequest>,
) -> Result<Json<ReadStateView>, ApiError> {
    let state = super::to_completion(async move {
        app.chats
            .mark_read(caller, ChatId::from_uuid(id), body.seq)
            .await
    })
    .await?;
    Ok(Json(state.into()))
}
