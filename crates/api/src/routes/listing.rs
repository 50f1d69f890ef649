//! `GET /messages` (also `/messages/search`): the caller's messages across
//! their chats, filtered, searched, newest first.

use axum::extract::{RawQuery, State};
use missive_domain::ids::{ChatId, UserId};
use missive_domain::message::{MessageFilter, MessageRole, MetadataMatch};
use missive_domain::search::SearchTerms;
use missive_domain::services::messages::ListLimit;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::paging;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json};
use crate::openapi::{BadRequest, NotFound, Unauthorized, ValidationFailed};
use crate::state::AppState;
use crate::views::{MessageRoleDto, SearchResults};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_messages))
        .routes(routes!(search_messages))
}

/// Query of `GET /messages` (documented here; read by `ListQuery::parse`,
/// since `metadata.KEY` parameters have open names).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documents the query for OpenAPI")]
pub struct ListParams {
    /// Only this chat (you must be a member, else 404).
    chat_id: Option<uuid::Uuid>,
    /// Only this sender.
    sender_id: Option<uuid::Uuid>,
    /// Only this role.
    role: Option<MessageRoleDto>,
    /// Only messages stored at or after this time (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only messages stored before this time (RFC 3339).
    #[param(format = DateTime)]
    until: Option<String>,
    /// Search terms, all required, any case: each word matches as the
    /// beginning of a word (`rock` finds "rockets"), and Chinese or
    /// Japanese text matches anywhere inside a run of such characters
    /// (`上海` finds "我家在上海东边").
    #[param(min_length = 1, max_length = 1000)]
    q: Option<String>,
    /// Page size, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// `metadata.KEY=VALUE` (any number of them, all required): the
    /// message's metadata holds VALUE at the top-level KEY — the string,
    /// or the number or boolean it spells. KEY: letters, digits, `_`, `-`.
    #[param(rename = "metadata.KEY")]
    metadata: Option<String>,
}

/// The parsed query.
struct ListQuery {
    filter: MessageFilter,
    limit: ListLimit,
}

impl ListQuery {
    /// Reads the query string; 400 for a parameter that does not parse,
    /// 422 naming every parameter out of range. Unknown parameters are
    /// ignored.
    fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::default();
        let mut filter = MessageFilter {
            chat_id: None,
            sender_id: None,
            role: None,
            since: None,
            until: None,
            metadata: Vec::new(),
            terms: None,
            before: None,
        };
        let mut limit = None;
        let bad = |name: &str, what: &str| {
            ApiError::bad_request(format!("invalid query string: {name} must be {what}"))
        };
        for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match name.as_ref() {
                "chat_id" => {
                    let id = value.parse().map_err(|_| bad("chat_id", "a UUID"))?;
                    filter.chat_id = Some(ChatId::from_uuid(id));
                }
                "sender_id" => {
                    let id = value.parse().map_err(|_| bad("sender_id", "a UUID"))?;
                    filter.sender_id = Some(UserId::from_uuid(id));
                }
                "role" => filter.role = errors.check("role", value.parse::<MessageRole>()),
                "since" => {
                    let at = OffsetDateTime::parse(&value, &Rfc3339)
                        .map_err(|_| bad("since", "an RFC 3339 time"))?;
                    filter.since = Some(at);
                }
                "until" => {
                    let at = OffsetDateTime::parse(&value, &Rfc3339)
                        .map_err(|_| bad("until", "an RFC 3339 time"))?;
                    filter.until = Some(at);
                }
                "q" => filter.terms = errors.check("q", SearchTerms::parse(&value)),
                "limit" => {
                    let n: i64 = value.parse().map_err(|_| bad("limit", "an integer"))?;
                    limit = errors.check("limit", ListLimit::new(n));
                }
                "cursor" => filter.before = Some(paging::decode_message(&value)?),
                other => {
                    if let Some(key) = other.strip_prefix("metadata.") {
                        let field = format!("metadata.{key}");
                        if let Some(condition) =
                            errors.check(&field, MetadataMatch::new(key, &value))
                        {
                            filter.metadata.push(condition);
                        }
                    }
                }
            }
        }
        let limit = match limit {
            Some(limit) => limit,
            None => ListLimit::new(20).map_err(|e| ApiError::internal(&e))?,
        };
        if errors.is_empty() {
            Ok(Self { filter, limit })
        } else {
            Err(errors.into_error())
        }
    }
}

async fn list(
    app: AppState,
    caller: UserId,
    raw: Option<String>,
) -> Result<Json<SearchResults>, ApiError> {
    let query = ListQuery::parse(raw.as_deref())?;
    let (found, next) = app
        .messages
        .list_messages(caller, query.filter, query.limit)
        .await?;
    Ok(Json(SearchResults {
        items: found.into_iter().map(Into::into).collect(),
        next_cursor: next.map(paging::encode_message),
    }))
}

/// The caller's messages across their chats, newest first, never deleted
/// ones: every filter optional and combinable (all must hold). Without
/// `q`, a listing ("all of this sender's messages since yesterday",
/// "messages whose metadata says receiver = X"); with it, a search.
#[utoipa::path(
    get, path = "/messages", tag = "messages",
    params(ListParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Matching messages, newest first", body = SearchResults),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn list_messages(
    State(app): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchResults>, ApiError> {
    list(app, caller, raw).await
}

/// The same as `GET /messages` (kept for clients of the earlier search).
#[utoipa::path(
    get, path = "/messages/search", tag = "messages",
    params(ListParams),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Matching messages, newest first", body = SearchResults),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn search_messages(
    State(app): State<AppState>,
    Caller(caller): Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<SearchResults>, ApiError> {
    list(app, caller, raw).await
}
