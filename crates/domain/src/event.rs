//! Events published after every successful change, for real-time delivery.

use crate::chat::ChatDetails;
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::Message;
use crate::reaction::Reaction;

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
    /// A member added a reaction to a message (`added: true`) or took
    /// theirs back.
    Reaction {
        /// The message's chat.
        chat_id: ChatId,
        /// The message.
        message_id: MessageId,
        /// Its position in the chat.
        seq: i64,
        /// The reaction.
        reaction: Reaction,
        /// Who reacted.
        user_id: UserId,
        /// Added (else removed).
        added: bool,
    },
    /// A message was pinned (`pinned` set) or unpinned; the message as it
    /// is now.
    PinChanged(Message),
    /// A reply joined or left (was deleted from) the thread of `root_id`.
    ThreadUpdated {
        /// The chat.
        chat_id: ChatId,
        /// The thread's root.
        root_id: MessageId,
    },
}

impl Event {
    /// The chat the event belongs to.
    pub fn chat_id(&self) -> ChatId {
        match self {
            Self::MessageCreated(m)
            | Self::MessageUpdated(m)
            | Self::MessageDeleted(m)
            | Self::PinChanged(m) => m.chat_id,
            Self::ChatCreated(c) | Self::ChatUpdated(c) => c.chat.id,
            Self::ChatDeleted { chat_id, .. }
            | Self::MemberAdded { chat_id, .. }
            | Self::MemberRemoved { chat_id, .. }
            | Self::Typing { chat_id, .. }
            | Self::ChatRead { chat_id, .. }
            | Self::Reaction { chat_id, .. }
            | Self::ThreadUpdated { chat_id, .. } => *chat_id,
        }
    }
}
