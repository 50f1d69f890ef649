//! `/chats`: creating, listing, reading, renaming and deleting chats; read
//! positions. Members are in [`super::members`].

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::chat::{ChatDetails, ChatKind, ChatTitle, ReadState};
use missive_domain::ids::{ChatId, UserId};
use missive_domain::services::chats::CreateChat;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::cursor;
use super::members::MemberView;
use super::messages::MessageView;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_chat, list_chats))
        .routes(routes!(get_chat, rename_chat, delete_chat))
        .routes(routes!(mark_read))
}

/// `direct` or `group`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatKindDto {
    /// Two people; one chat per pair.
    Direct,
    /// Titled, with roles.
    Group,
}

impl From<ChatKindDto> for ChatKind {
    fn from(kind: ChatKindDto) -> Self {
        match kind {
            ChatKindDto::Direct => Self::Direct,
            ChatKindDto::Group => Self::Group,
        }
    }
}

impl From<ChatKind> for ChatKindDto {
    fn from(kind: ChatKind) -> Self {
        match kind {
            ChatKind::Direct => Self::Direct,
            ChatKind::Group => Self::Group,
        }
    }
}

/// A chat as the caller sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Chat)]
pub struct ChatView {
    /// Chat id.
    pub id: uuid::Uuid,
    /// `direct` or `group`.
    pub kind: ChatKindDto,
    /// Group title; null for direct chats.
    pub title: Option<String>,
    /// Creator (the first owner).
    pub created_by: uuid::Uuid,
    /// Creation time.
    #[serde(with = "super::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The highest message seq (0 when empty).
    pub last_seq: i64,
    /// Messages after the caller's read position, not sent by the caller,
    /// not deleted.
    pub unread_count: u64,
    /// The message with `seq == last_seq` (possibly a tombstone).
    pub last_message: Option<MessageView>,
    /// The first 50 members in joining order (all of them in most chats),
    /// plus the caller if they joined later; page through all of them with
    /// `GET /chats/{id}/members`.
    pub members: Vec<MemberView>,
    /// How many members the chat has.
    pub member_count: u64,
}

impl From<ChatDetails> for ChatView {
    fn from(details: ChatDetails) -> Self {
        let chat = details.chat;
        Self {
            id: chat.id.as_uuid(),
            kind: chat.kind.into(),
            title: chat.title.map(|t| t.as_str().to_owned()),
            created_by: chat.created_by.as_uuid(),
            created_at: chat.created_at,
            last_seq: chat.last_seq,
            unread_count: details.unread_count,
            last_message: details.last_message.map(Into::into),
            members: details.members.into_iter().map(Into::into).collect(),
            member_count: details.member_count,
        }
    }
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

/// A page of chats.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ChatList {
    /// Most recent activity first (the newer of creation and last message).
    pub items: Vec<ChatView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Turns a query limit into the domain's type; out-of-range values become
/// 0 so the use case answers 422.
pub(crate) fn limit(value: Option<i64>, default: u32) -> u32 {
    value.map_or(default, |v| u32::try_from(v).unwrap_or(0))
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
        .map(cursor::decode_chat)
        .transpose()?;
    let (chats, next) = app
        .chats
        .list_chats(caller, limit(query.limit, 20), after)
        .await?;
    Ok(Json(ChatList {
        items: chats.into_iter().map(Into::into).collect(),
        next_cursor: next.as_ref().map(cursor::encode_chat),
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

/// The caller's read position in a chat.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReadStateView {
    /// The chat.
    pub chat_id: uuid::Uuid,
    /// The caller.
    pub user_id: uuid::Uuid,
    /// Read up to here.
    pub last_read_seq: i64,
    /// Still unread.
    pub unread_count: u64,
}

impl From<ReadState> for ReadStateView {
    fn from(state: ReadState) -> Self {
        Self {
            chat_id: state.chat_id.as_uuid(),
            user_id: state.user_id.as_uuid(),
            last_read_seq: state.last_read_seq,
            unread_count: state.unread_count,
        }
    }
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
