//! Commands shared by REST and the WebSocket: the bodies both accept,
//! validated the same way, and the use-case calls both make — run to
//! completion, so a client going away cannot stop a change between its
//! commit and the event that announces it. Route files and the WebSocket
//! connection both call these; neither calls the other.

use missive_domain::chat::ReadState;
use missive_domain::ids::{ChatId, MessageId, UploadId, UserId};
use missive_domain::mention::Mentions;
use missive_domain::message::{ClientId, Message, MessageContent, MessageRole, SentAt};
use missive_domain::metadata::Metadata;
use missive_domain::services::messages::SendMessage;
use missive_domain::upload::AttachmentIds;
use missive_domain::value::ValueError;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::FieldErrors;
use crate::state::AppState;
use crate::views::MessageRoleDto;

/// Body of `POST /chats/{chat_id}/messages` (and of the WebSocket
/// `message.send` command, beside its `chat_id`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendMessageRequest {
    /// 1–`limits.max_message_chars` characters (default 4000), not only
    /// whitespace; may be empty or left out when `attachments` has at
    /// least one upload.
    #[serde(default)]
    #[schema(example = "Hello!", max_length = 4000)]
    pub content: String,
    /// Idempotency key, 1–64 characters, unique per chat and sender:
    /// re-sending it returns the stored message with 200.
    #[serde(default)]
    #[schema(example = "9f1c2e0a-client-generated", min_length = 1, max_length = 64)]
    pub client_id: Option<String>,
    /// `user` (default), `assistant`, `system`, `developer` or `tool`.
    #[serde(default)]
    pub role: Option<MessageRoleDto>,
    /// Initial rating.
    #[serde(default)]
    pub rating: Option<bool>,
    /// Client-side send time, RFC 3339 (default: server time).
    #[serde(default, with = "crate::views::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<OffsetDateTime>,
    /// A message of the same chat this one answers.
    #[serde(default)]
    pub reply_to: Option<uuid::Uuid>,
    /// Anything the sender wants kept with the message — a model name,
    /// token usage, a tool call id, an external reference: a JSON object
    /// of at most 64 keys and 16 KiB serialised.
    #[serde(default)]
    #[schema(value_type = Option<Object>, example = json!({"model": "gpt-5", "usage": {"input_tokens": 12}}))]
    pub metadata: Option<serde_json::Value>,
    /// Members the message mentions (at most 50 different ones, each a
    /// member of the chat): each gets it counted in their chat's
    /// `mention_count` and listed by `GET /mentions`.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub mentions: Option<Vec<uuid::Uuid>>,
    /// Mention everyone in the group (its owner and admins only).
    #[serde(default)]
    pub mention_all: Option<bool>,
    /// Up to 10 of the sender's own uploads (`POST /uploads` ids), each
    /// once, in the order to show them. The message shows them as upload
    /// objects; the chat's members may then download them.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub attachments: Option<Vec<uuid::Uuid>>,
}

/// A request's mentions, checked.
pub(crate) fn mentions(users: Vec<uuid::Uuid>) -> Result<Mentions, ValueError> {
    Mentions::new(users.into_iter().map(UserId::from_uuid).collect())
}

impl SendMessageRequest {
    /// Validates the body against `max_chars`, naming every bad field.
    ///
    /// # Errors
    /// 422 listing each invalid field.
    pub fn try_into_domain(
        self,
        chat_id: ChatId,
        max_chars: usize,
    ) -> Result<SendMessage, ApiError> {
        let mut errors = FieldErrors::default();
        let attached = self.attachments.as_ref().is_some_and(|ids| !ids.is_empty());
        let content = errors.check(
            "content",
            MessageContent::for_message(self.content, max_chars, attached),
        );
        let attachments = errors.check_optional("attachments", self.attachments, |ids| {
            AttachmentIds::new(ids.into_iter().map(UploadId::from_uuid).collect())
        });
        let client_id = errors.check_optional("client_id", self.client_id, ClientId::new);
        let sent_at = errors.check_optional("sent_at", self.sent_at, SentAt::new);
        let metadata = errors.check_optional("metadata", self.metadata, Metadata::new);
        let mentions = errors.check_optional("mentions", self.mentions, mentions);
        match (content, client_id, sent_at, metadata, mentions, attachments) {
            (
                Some(content),
                Some(client_id),
                Some(sent_at),
                Some(metadata),
                Some(mentions),
                Some(attachments),
            ) => Ok(SendMessage {
                chat_id,
                content,
                client_id,
                role: self.role.map_or(MessageRole::User, Into::into),
                rating: self.rating,
                sent_at,
                reply_to: self.reply_to.map(MessageId::from_uuid),
                metadata: metadata.unwrap_or_default(),
                mentions: mentions.unwrap_or_default(),
                mention_all: self.mention_all.unwrap_or(false),
                attachments: attachments.unwrap_or_default(),
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// Sends a message for REST and WebSocket alike: run to completion (so the
/// event is published even if the caller goes away) and counted.
///
/// # Errors
/// The use case's errors as problems.
pub(crate) async fn send(
    app: &AppState,
    caller: UserId,
    request: SendMessage,
) -> Result<(Message, bool), ApiError> {
    let app = app.clone();
    let (message, created) =
        to_completion(async move { app.messages.send(caller, request).await }).await?;
    if created {
        crate::metrics::message_stored();
    }
    Ok((message, created))
}

/// Moves the caller's read position in a chat, for REST and WebSocket
/// alike (run to completion: the `chat.read` event follows the commit).
///
/// # Errors
/// The use case's errors as problems.
pub(crate) async fn mark_read(
    app: &AppState,
    caller: UserId,
    chat_id: ChatId,
    seq: i64,
) -> Result<ReadState, ApiError> {
    let app = app.clone();
    Ok(to_completion(async move { app.chats.mark_read(caller, chat_id, seq).await }).await?)
}

/// Runs a use case that changes state and announces it, on a task of its
/// own, so that a request cancelled midway (client gone, timeout) cannot
/// stop it between the commit and the event that tells the other members.
pub(crate) async fn to_completion<F>(work: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match tokio::spawn(work).await {
        Ok(output) => output,
        // A panic in the use case: let the panic layer answer 500.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}
