//! Messages as the API shows them.

use missive_domain::message::{Message, MessagePage, MessageRole};
use missive_domain::reaction::ReactionSummary;
use missive_domain::thread::ThreadSummary;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::rfc3339;
use super::uploads::UploadView;

/// Transcript role of a message.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MessageRole)]
pub enum MessageRoleDto {
    /// A person (default).
    User,
    /// A model's answer.
    Assistant,
    /// A system prompt or notice.
    System,
    /// Instructions from the application's developer.
    Developer,
    /// A tool's output (keep the call id in `metadata`).
    Tool,
}

impl From<MessageRoleDto> for MessageRole {
    fn from(role: MessageRoleDto) -> Self {
        match role {
            MessageRoleDto::User => Self::User,
            MessageRoleDto::Assistant => Self::Assistant,
            MessageRoleDto::System => Self::System,
            MessageRoleDto::Developer => Self::Developer,
            MessageRoleDto::Tool => Self::Tool,
        }
    }
}

impl From<MessageRole> for MessageRoleDto {
    fn from(role: MessageRole) -> Self {
        match role {
            MessageRole::User => Self::User,
            MessageRole::Assistant => Self::Assistant,
            MessageRole::System => Self::System,
            MessageRole::Developer => Self::Developer,
            MessageRole::Tool => Self::Tool,
        }
    }
}

/// A message. A deleted message is a tombstone: `deleted: true`, `content: ""`,
/// its `seq` kept.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Message)]
pub struct MessageView {
    /// Message id.
    pub id: uuid::Uuid,
    /// Its chat.
    pub chat_id: uuid::Uuid,
    /// Position in the chat: the n-th message stored has seq n (gap-free).
    pub seq: i64,
    /// Author.
    pub sender_id: uuid::Uuid,
    /// Text ("" for a tombstone).
    pub content: String,
    /// `user`, `assistant`, `system`, `developer` or `tool`.
    pub role: MessageRoleDto,
    /// Thumbs up (true), down (false), or none.
    pub rating: Option<bool>,
    /// The sender's idempotency key.
    pub client_id: Option<String>,
    /// The message this one answers.
    pub reply_to: Option<uuid::Uuid>,
    /// For a reply: the root of its thread (`reply_to`, or its root when
    /// `reply_to` is itself a reply).
    pub thread_root_id: Option<uuid::Uuid>,
    /// For a thread's root: its live replies summed up; null for any other
    /// message (and for a root whose replies were all deleted).
    pub thread: Option<ThreadView>,
    /// The members it mentions by name.
    pub mentions: Vec<uuid::Uuid>,
    /// Whether it mentions everyone in the group.
    pub mention_all: bool,
    /// Client-side send time (server time when not given).
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub sent_at: OffsetDateTime,
    /// When the server stored it.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When its content last changed.
    #[serde(with = "rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub edited_at: Option<OffsetDateTime>,
    /// Whether it was deleted.
    pub deleted: bool,
    /// The sender's metadata: a JSON object (`{}` when none; a tombstone
    /// keeps none).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Who pinned it and when; null when it is not pinned.
    pub pinned: Option<PinView>,
    /// Its reactions in order of first use, with `me` for the reader. In
    /// every REST answer; absent from WebSocket events, where reactions
    /// travel as `reaction.added` / `reaction.removed` (a new message has
    /// none, a tombstone none, and an edit keeps them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Vec<ReactionView>>,
    /// The files it carries (the sender's uploads), in order; `[]` for
    /// none and for a tombstone. Download each with `GET /uploads/{upload_id}`.
    #[serde(default)]
    pub attachments: Vec<UploadView>,
}

/// What a thread's root shows about its replies.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = ThreadSummary)]
pub struct ThreadView {
    /// Live (not deleted) replies.
    pub reply_count: u32,
    /// When the newest live reply was stored.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_reply_at: OffsetDateTime,
    /// Its seq.
    pub last_reply_seq: i64,
    /// The first 10 members who replied, in the order they first did.
    pub participant_ids: Vec<uuid::Uuid>,
}

impl From<ThreadSummary> for ThreadView {
    fn from(thread: ThreadSummary) -> Self {
        Self {
            reply_count: thread.reply_count,
            last_reply_at: thread.last_reply_at,
            last_reply_seq: thread.last_reply_seq,
            participant_ids: thread
                .participant_ids
                .into_iter()
                .map(|id| id.as_uuid())
                .collect(),
        }
    }
}

/// A pin on a message.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Pin)]
pub struct PinView {
    /// The member who pinned it.
    pub by: uuid::Uuid,
    /// When.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// One reaction on a message, as the reader sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = ReactionSummary)]
pub struct ReactionView {
    /// An emoji or a `:shortcode:`.
    #[schema(example = "👍")]
    pub reaction: String,
    /// How many members added it.
    pub count: u32,
    /// Whether the reader is one of them.
    pub me: bool,
}

impl From<ReactionSummary> for ReactionView {
    fn from(summary: ReactionSummary) -> Self {
        Self {
            reaction: summary.reaction.as_str().to_owned(),
            count: summary.count,
            me: summary.me,
        }
    }
}

impl From<Message> for MessageView {
    fn from(message: Message) -> Self {
        Self {
            deleted: message.is_deleted(),
            id: message.id.as_uuid(),
            chat_id: message.chat_id.as_uuid(),
            seq: message.seq,
            sender_id: message.sender_id.as_uuid(),
            content: message.content,
            role: message.role.into(),
            rating: message.rating,
            client_id: message.client_id.map(|c| c.as_str().to_owned()),
            reply_to: message.reply_to.map(|r| r.as_uuid()),
            thread_root_id: message.thread_root_id.map(|r| r.as_uuid()),
            thread: message.thread.map(Into::into),
            mentions: message
                .mentions
                .users()
                .iter()
                .map(|u| u.as_uuid())
                .collect(),
            mention_all: message.mention_all,
            sent_at: message.sent_at,
            created_at: message.created_at,
            edited_at: message.edited_at,
            metadata: message.metadata.to_value(),
            pinned: message.pinned.map(|pin| PinView {
                by: pin.by.as_uuid(),
                at: pin.at,
            }),
            reactions: message
                .reactions
                .map(|all| all.into_iter().map(Into::into).collect()),
            attachments: message.attachments.into_iter().map(Into::into).collect(),
        }
    }
}

/// A page of history.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = MessagePage)]
pub struct MessagePageView {
    /// Always in ascending seq.
    pub items: Vec<MessageView>,
    /// More messages exist beyond this page in the direction of travel:
    /// older ones without a cursor and with `before_seq`, newer ones with
    /// `after_seq`.
    pub has_more: bool,
}

impl From<MessagePage> for MessagePageView {
    fn from(page: MessagePage) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            has_more: page.has_more,
        }
    }
}

/// Search results.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SearchResults {
    /// Newest first.
    pub items: Vec<MessageView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Who added a reaction.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Reactor)]
pub struct ReactorView {
    /// The member.
    pub user_id: uuid::Uuid,
    /// When they added it.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// A page of the members who added a reaction, in the order they added it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReactorList {
    /// Oldest reaction first.
    pub items: Vec<ReactorView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A chat's pinned messages.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PinList {
    /// Newest pin first (at most 50: no paging).
    pub items: Vec<MessageView>,
}

/// Messages that mention the caller.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MentionList {
    /// Newest first.
    pub items: Vec<MessageView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
