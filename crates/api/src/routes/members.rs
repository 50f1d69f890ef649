//! `/chats/{chat_id}/members`: listing, adding and removing members.

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::chat::MemberRole;
use missive_domain::ids::{ChatId, UserId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed,
};
use crate::state::AppState;
use crate::views::{ChatView, MemberList};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_member, list_members))
        .routes(routes!(remove_member))
}

/// Query of `GET /chats/{chat_id}/members`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListMembersQuery {
    /// Page size, 1–200 (default 100).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Every member of a chat, page by page in joining order. A chat's own
/// view embeds only the first 50 (and the caller), so big groups cost the
/// same to list and to announce as small ones.
#[utoipa::path(
    get, path = "/chats/{chat_id}/members", tag = "chats",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id"), ListMembersQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of members", body = MemberList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn list_members(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Query(query): Query<ListMembersQuery>,
) -> Result<Json<MemberList>, ApiError> {
    let after = query
        .cursor
        .as_deref()
        .map(super::paging::decode_member)
        .transpose()?;
    let (members, next) = app
        .chats
        .list_members(
            caller,
            ChatId::from_uuid(id),
            super::paging::limit(query.limit, 100),
            after,
        )
        .await?;
    Ok(Json(MemberList {
        items: members.into_iter().map(Into::into).collect(),
        next_cursor: next.as_ref().map(super::paging::encode_member),
    }))
}

/// The role of a member being added (there is only one owner).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NewMemberRole {
    /// Manages the group.
    Admin,
    /// Takes part.
    Member,
}

/// Body of `POST /chats/{chat_id}/members`.
#[derive(Deserialize, ToSchema)]
pub struct AddMemberRequest {
    /// The user to add.
    user_id: uuid::Uuid,
    /// `member` (default) or `admin`.
    #[serde(default)]
    role: Option<NewMemberRole>,
}

/// Adds a user to a group (owner or admin). Adding an existing member
/// changes nothing and answers 200 too.
#[utoipa::path(
    post, path = "/chats/{chat_id}/members", tag = "chats",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
    request_body = AddMemberRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The chat with its members", body = ChatView),
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
async fn add_member(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<AddMemberRequest>,
) -> Result<Json<ChatView>, ApiError> {
    let role = match body.role {
        Some(NewMemberRole::Admin) => MemberRole::Admin,
        Some(NewMemberRole::Member) | None => MemberRole::Member,
    };
    let details = super::to_completion(async move {
        app.chats
            .add_member(
                caller,
                ChatId::from_uuid(id),
                UserId::from_uuid(body.user_id),
                role,
            )
            .await
    })
    .await?;
    Ok(Json(details.into()))
}

/// Removes a member from a group. Anyone may remove themself (leave); the
/// owner may remove anyone and admins may remove members. When the owner
/// leaves, the longest-standing admin (else member) becomes owner; when the
/// last member leaves, the chat is deleted.
#[utoipa::path(
    delete, path = "/chats/{chat_id}/members/{user_id}", tag = "chats",
    params(
        ("chat_id" = uuid::Uuid, Path, description = "Chat id"),
        ("user_id" = uuid::Uuid, Path, description = "The member to remove"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
async fn remove_member(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path((id, user_id)): Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<StatusCode, ApiError> {
    super::to_completion(async move {
        app.chats
            .remove_member(caller, ChatId::from_uuid(id), UserId::from_uuid(user_id))
            .await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
