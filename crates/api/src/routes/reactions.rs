//! Reactions: `PUT|DELETE|GET /messages/{message_id}/reactions/{reaction}`.
//!
//! The reaction is a path segment, percent-encoded by the client as any
//! segment (`%F0%9F%91%8D` for 👍; `:+1:` may go as it is).

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::ids::MessageId;
use missive_domain::reaction::Reaction;
use missive_domain::services::reactions::ReactorLimit;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Path, Query};
use crate::openapi::{BadRequest, Conflict, NotFound, Unauthorized, ValidationFailed};
use crate::state::AppState;
use crate::views::{MessageView, ReactorList};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add_reaction, remove_reaction, list_reactors))
}

/// The path's reaction, checked (422 naming `reaction`).
fn reaction(raw: String) -> Result<Reaction, ApiError> {
    let mut errors = FieldErrors::default();
    errors
        .check("reaction", Reaction::new(raw))
        .ok_or_else(|| errors.into_error())
}

/// Adds the caller's reaction to a message; adding it again changes
/// nothing. Any member may react; a message carries at most 50 different
/// reactions (the 51st is 422). Answers the message with its reactions.
#[utoipa::path(
    put, path = "/messages/{message_id}/reactions/{reaction}", tag = "reactions",
    params(
        ("message_id" = uuid::Uuid, Path, description = "Message id"),
        ("reaction" = String, Path, description = "An emoji or a `:shortcode:`, 1–32 characters, percent-encoded"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The message with its reactions", body = MessageView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed),
    )
)]
async fn add_reaction(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path((id, raw)): Path<(uuid::Uuid, String)>,
) -> Result<Json<MessageView>, ApiError> {
    let reaction = reaction(raw)?;
    let message = super::to_completion(async move {
        app.reactions
            .add(caller, MessageId::from_uuid(id), reaction)
            .await
    })
    .await?;
    Ok(Json(message.into()))
}

/// Takes back the caller's reaction; 204 whether or not there was one.
#[utoipa::path(
    delete, path = "/messages/{message_id}/reactions/{reaction}", tag = "reactions",
    params(
        ("message_id" = uuid::Uuid, Path, description = "Message id"),
        ("reaction" = String, Path, description = "An emoji or a `:shortcode:`, percent-encoded"),
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "The caller's reaction is gone"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn remove_reaction(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path((id, raw)): Path<(uuid::Uuid, String)>,
) -> Result<StatusCode, ApiError> {
    let reaction = reaction(raw)?;
    super::to_completion(async move {
        app.reactions
            .remove(caller, MessageId::from_uuid(id), reaction)
            .await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /messages/{message_id}/reactions/{reaction}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReactorsQuery {
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// Who added a reaction to a message, in the order they added it.
#[utoipa::path(
    get, path = "/messages/{message_id}/reactions/{reaction}", tag = "reactions",
    params(
        ("message_id" = uuid::Uuid, Path, description = "Message id"),
        ("reaction" = String, Path, description = "An emoji or a `:shortcode:`, percent-encoded"),
        ReactorsQuery,
    ),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "A page of reactors", body = ReactorList),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn list_reactors(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path((id, raw)): Path<(uuid::Uuid, String)>,
    Query(query): Query<ReactorsQuery>,
) -> Result<Json<ReactorList>, ApiError> {
    let mut errors = FieldErrors::default();
    let reaction = errors.check("reaction", Reaction::new(raw));
    let limit = errors.check("limit", ReactorLimit::new(query.limit.unwrap_or(50)));
    let (Some(reaction), Some(limit)) = (reaction, limit) else {
        return Err(errors.into_error());
    };
    let after = query
        .cursor
        .as_deref()
        .map(super::paging::decode_reactor)
        .transpose()?;
    let (reactors, next) = app
        .reactions
        .reactors(caller, MessageId::from_uuid(id), reaction, after, limit)
        .await?;
    Ok(Json(ReactorList {
        items: reactors
            .into_iter()
            .map(|r| crate::views::ReactorView {
                user_id: r.user_id.as_uuid(),
                at: r.at,
            })
            .collect(),
        next_cursor: next.as_ref().map(super::paging::encode_reactor),
    }))
}
