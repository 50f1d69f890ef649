//! Events published after every successful change, for real-time delivery.

use crate::chat::ChatDetails;
use crate::ids::{ChatId, UserId};
use crate::message::Message;

/// Something that happened in a chat. Published through
/// [`crate::ports::EventPublisher`] after the change is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message was stored.
    MessageCreated(Message),
    /// A message's content or rating changed.
    MessageUpdated(Message),
    /// A message became a tombstone.
    MessageDeleted(Message),
    /// A chat was created (its members are the audience).
    ChatCreated(ChatDetails),
    /// A chat was renamed.
    ChatUpdated(ChatDetails),
    /// A chat was deleted; `member_ids` were its members.
    ChatDeleted {
        /// The deleted chat.
        chat_id: ChatId,
        /// Who was in it.
        member_ids: Vec<UserId>,
    },
    /// A user joined a chat.
    MemberAdded {
        /// The chat.
        chat_id: ChatId,
        /// The new member.
        user_id: UserId,
    },
    /// A user left or was removed (they are told too).
    MemberRemoved {
        /// The chat.
        chat_id: ChatId,
        /// The former member.
        user_id: UserId,
    },
    /// A member is typing (not stored; relayed to the other members).
    Typing {
        /// The chat.
        chat_id: ChatId,
        /// The typist.
        user_id: UserId,
    },
    /// A member's read position moved forward.
    ChatRead {
        /// The chat.
        chat_id: ChatId,
        /// The reader.
        user_id: UserId,
        /// Their new position.
        last_read_seq: i64,
    },
}

impl Event {
    /// The chat the event belongs to.
    pub fn chat_id(&self) -> ChatId {
        match self {
            Self::MessageCreated(m) | Self::MessageUpdated(m) | Self::MessageDeleted(m) => {
                m.chat_id
            }
            Self::ChatCreated(c) | Self::ChatUpdated(c) => c.chat.id,
            Self::ChatDeleted { chat_id, .. }
            | Self::MemberAdded { chat_id, .. }
            | Self::MemberRemoved { chat_id, .. }
            | Self::Typing { chat_id, .. }
            | Self::ChatRead { chat_id, .. } => *chat_id,
        }
    }
}
