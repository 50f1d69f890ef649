//! Chats as the API shows them.

use missive_domain::chat::{ChatDetails, ChatKind, ReadState};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{MemberView, MessageView, rfc3339};

/// `direct` or `group`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ChatKind)]
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
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// The highest message seq (0 when empty).
    pub last_seq: i64,
    /// Messages after the caller's read position, not sent by the caller,
    /// not deleted.
    pub unread_count: u64,
    /// Unread messages that mention the caller (by name or as everyone);
    /// reading past them resets it.
    pub mention_count: u64,
    /// The message with `seq == last_seq` (possibly a tombstone), as a
    /// preview: without `reactions` (read the message for those).
    pub last_message: Option<MessageView>,
    /// The first 50 members in joining order (all of them in most chats),
    /// plus the caller if they joined later; page through all of them with
    /// `GET /chats/{chat_id}/members`.
    pub members: Vec<MemberView>,
    /// How many members the chat has.
    pub member_count: u64,
    /// Set by the owner or admins: a JSON object (`{}` when none).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
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
            mention_count: details.mention_count,
            last_message: details.last_message.map(|mut message| {
                // A preview: reactions are read with the message.
                message.reactions = None;
                message.into()
            }),
            members: details.members.into_iter().map(Into::into).collect(),
            member_count: details.member_count,
            metadata: chat.metadata.to_value(),
        }
    }
}

/// A page of chats.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ChatList {
    /// Most recent activity first (the newer of creation and last message).
    pub items: Vec<ChatView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The caller's read position in a chat.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = ReadState)]
pub struct ReadStateView {
    /// The chat.
    pub chat_id: uuid::Uuid,
    /// The caller.
    pub user_id: uuid::Uuid,
    /// Read up to here.
    pub last_read_seq: i64,
    /// Still unread.
    pub unread_count: u64,
    /// How many of those mention them.
    pub mention_count: u64,
}

impl From<ReadState> for ReadStateView {
    fn from(state: ReadState) -> Self {
        Self {
            chat_id: state.chat_id.as_uuid(),
            user_id: state.user_id.as_uuid(),
            last_read_seq: state.last_read_seq,
            unread_count: state.unread_count,
            mention_count: state.mention_count,
        }
    }
}
