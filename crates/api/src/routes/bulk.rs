//! Whole transcripts at once: `POST /chats/{chat_id}/messages/batch` stores up
//! to 1 000 messages atomically; `GET /chats/{chat_id}/export` streams every
//! message of a chat as NDJSON.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use missive_domain::ids::ChatId;
use missive_domain::message::HistoryCursor;
use missive_domain::paging::Seq;
use missive_domain::services::messages::HistoryLimit;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::commands::SendMessageRequest;
use crate::error::{ApiError, FieldError};
use crate::extract::{Json, Path};
use crate::openapi::{
    BadRequest, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use crate::state::AppState;
use crate::views::MessageView;

pub(crate) fn router(max_batch_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send_batch))
        .layer(DefaultBodyLimit::max(max_batch_bytes))
        .routes(routes!(export))
}

/// Body of `POST /chats/{chat_id}/messages/batch`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    /// 1–1000 messages, each exactly as for `POST /chats/{chat_id}/messages`.
    #[schema(min_items = 1, max_items = 1000)]
    items: Vec<SendMessageRequest>,
}

/// The messages of a batch, in the order of its items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    /// One per item: the message stored now, or the one stored before
    /// under the item's `client_id`.
    pub items: Vec<MessageView>,
    /// How many of them were stored by this request.
    pub created: usize,
}

/// Stores many messages at once — an existing transcript, say — all or
/// none, with contiguous seqs in the order of the items. Each item is
/// idempotent by its `client_id`: an item the caller already stored (in an
/// earlier batch, or singly) is not stored again but answered as it was,
/// so a batch retried after a lost answer, even in parallel, stores
/// everything once. 201 when anything new was stored, else 200. The body
/// may be up to `server.max_batch_bytes` (8 MiB).
#[utoipa::path(
    post, path = "/chats/{chat_id}/messages/batch", tag = "messages",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
    request_body = BatchRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Stored (some items may have been stored before)", body = BatchResult),
        (status = 200, description = "Every item was stored before: the stored messages", body = BatchResult),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn send_batch(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    Json(body): Json<BatchRequest>,
) -> Result<(StatusCode, Json<BatchResult>), ApiError> {
    let chat_id = ChatId::from_uuid(id);
    let max_chars = app.settings.limits.max_message_chars;
    let mut items = Vec::with_capacity(body.items.len());
    let mut errors: Vec<FieldError> = Vec::new();
    for (index, item) in body.items.into_iter().enumerate() {
        match item.try_into_domain(chat_id, max_chars) {
            Ok(item) => items.push(item),
            Err(error) => errors.extend(
                error
                    .problem()
                    .errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("items[{index}].{}", e.field), e.message)),
            ),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let stored =
        super::to_completion(async move { app.messages.send_batch(caller, chat_id, items).await })
            .await?;
    let created = stored.iter().filter(|(_, new)| *new).count();
    for _ in 0..created {
        crate::metrics::message_stored();
    }
    let status = if created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BatchResult {
            items: stored.into_iter().map(|(m, _)| m.into()).collect(),
            created,
        }),
    ))
}

/// Messages read per database query while exporting.
const EXPORT_PAGE: i64 = 200;

/// Every message of a chat, oldest first, as NDJSON: one message per line
/// (the `Message` of every other answer, metadata included; deleted ones
/// as tombstones). Streamed page by page, so the server's memory stays
/// the same whatever the chat's size. A chat you are not in is 404.
#[utoipa::path(
    operation_id = "export_chat",
    get, path = "/chats/{chat_id}/export", tag = "messages",
    params(("chat_id" = uuid::Uuid, Path, description = "Chat id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "One JSON message per line, in seq order", content_type = "application/x-ndjson", body = String),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn export(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<axum::response::Response, ApiError> {
    let chat_id = ChatId::from_uuid(id);
    let limit = HistoryLimit::new(EXPORT_PAGE).map_err(|e| ApiError::internal(&e))?;
    // The first page answers 404 for a stranger before anything is sent.
    let first = app
        .messages
        .history(
            caller,
            chat_id,
            HistoryCursor::After(Seq::clamped(0)),
            limit,
        )
        .await?;
    let pages = futures_util::stream::unfold(Export::Page(first), move |state| {
        let app = app.clone();
        async move {
            let page = match state {
                Export::Page(page) => page,
                // Aborting the body tells the client the export is cut
                // short (the response never ends cleanly), rather than a
                // truncated file that looks whole.
                Export::Failed => {
                    return Some((Err(std::io::Error::other("export cut short")), Export::Done));
                }
                Export::Done => return None,
            };
            let mut chunk = Vec::with_capacity(page.items.len() * 256);
            let last = page.items.last().map(|m| m.seq);
            for message in page.items {
                if serde_json::to_writer(&mut chunk, &MessageView::from(message)).is_err() {
                    return Some((
                        Err(std::io::Error::other("unserialisable message")),
                        Export::Done,
                    ));
                }
                chunk.push(b'\n');
            }
            let next = match (page.has_more, last) {
                (true, Some(seq)) => match app
                    .messages
                    .history(
                        caller,
                        chat_id,
                        HistoryCursor::After(Seq::clamped(seq)),
                        limit,
                    )
                    .await
                {
                    Ok(page) => Export::Page(page),
                    Err(error) => {
                        tracing::warn!(%error, chat.id = %chat_id, "export cut short");
                        Export::Failed
                    }
                },
                _ => Export::Done,
            };
            Some((
                Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)),
                next,
            ))
        }
    });
    axum::response::Response::builder()
        .header(axum::http::header::CONTENT_TYPE, "application/x-ndjson")
        .header(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"chat-{id}.ndjson\""),
        )
        .body(axum::body::Body::from_stream(pages))
        .map_err(|e| ApiError::internal(&e))
}

/// Where an export stream stands.
enum Export {
    /// This page is next.
    Page(missive_domain::message::MessagePage),
    /// Reading the next page failed.
    Failed,
    /// Everything was sent.
    Done,
}
