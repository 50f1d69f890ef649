//! `/chats`: creating, listing, reading, renaming and deleting chats; read
//! positions. Members are in [`super::members`].

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::chat::ChatTitle;
use missive_domain::ids::{ChatId, UserId};
use missive_domain::metadata::Metadata;
use missive_domain::services::chats::{CreateChat, UpdateChat};
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
        .routes(routes!(get_chat, update_chat, delete_chat))
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
    /// Your own id for the chat (say, your conversation's UUID), so no
    /// mapping table is needed. Creating it again answers the chat with
    /// 200; an id another chat already has answers 409 `chat_id_taken`.
    /// (A direct chat between two users who already have one answers that
    /// one, whatever id is given.)
    #[serde(default)]
    id: Option<uuid::Uuid>,
    /// A JSON object (≤ 64 keys, ≤ 16 KiB): an external reference, the
    /// model in use, tags, …
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
}

impl CreateChatRequest {
    fn try_into_domain(self) -> Result<CreateChat, ApiError> {
        let mut errors = FieldErrors::default();
        let title = errors.check_optional("title", self.title.as_deref(), ChatTitle::new);
        let metadata = errors.check_optional("metadata", self.metadata, Metadata::new);
        match (title, metadata) {
            (Some(title), Some(metadata)) => Ok(CreateChat {
                kind: self.kind.into(),
                title,
                member_ids: self.member_ids.into_iter().map(UserId::from_uuid).collect(),
                id: self.id.map(ChatId::from_uuid),
                metadata: metadata.unwrap_or_default(),
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// Creates a chat; the caller becomes its owner. Creating a direct chat
/// that already exists between the two users returns it with 200, and so
/// does creating again a chat with your own `id`.
#[utoipa::path(
    post, path = "/chats", tag = "chats",
    request_body = CreateChatRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Created", body = ChatView),
        (status = 200, description = "Already there: the direct chat between these two users, or the chat with this `id`", body = ChatView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, response = Conflict),
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
    let request = body.try_into_domain()?;
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
    get, path = "/chats/{chat_id}", tag = "chats",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
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

/// Body of `PATCH /chats/{chat_id}`: either field or both.
#[derive(Deserialize, ToSchema)]
pub struct UpdateChatRequest {
    /// A new title, 1–100 characters (groups only).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    title: Option<String>,
    /// New metadata, replacing the old whole (`{}` clears it).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    metadata: Option<serde_json::Value>,
}

impl UpdateChatRequest {
    fn try_into_domain(self) -> Result<UpdateChat, ApiError> {
        let mut errors = FieldErrors::default();
        let title = errors.check_optional("title", self.title.as_deref(), ChatTitle::new);
        let metadata = errors.check_optional("metadata", self.metadata, Metadata::new);
        match (title, metadata) {
            (Some(title), Some(metadata)) => Ok(UpdateChat { title, metadata }),
            _ => Err(errors.into_error()),
        }
    }
}

/// Renames a group and/or replaces a chat's metadata (owner or admin).
#[utoipa::path(
    patch, path = "/chats/{chat_id}", tag = "chats",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
    request_body = UpdateChatRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Changed", body = ChatView),
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
async fn update_chat(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<UpdateChatRequest>,
) -> Result<Json<ChatView>, ApiError> {
    let update = body.try_into_domain()?;
    let details = super::to_completion(async move {
        app.chats
            .update_chat(caller, ChatId::from_uuid(id), update)
            .await
    })
    .await?;
    Ok(Json(details.into()))
}

/// Deletes a chat and all its messages (owner only).
#[utoipa::path(
    delete, path = "/chats/{chat_id}", tag = "chats",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
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

/// Body of `POST /chats/{chat_id}/read`.
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
    post, path = "/chats/{chat_id}/read", tag = "chats",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
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
    let state = crate::commands::mark_read(&app, caller, ChatId::from_uuid(id), body.seq).await?;
    Ok(Json(state.into()))
}
