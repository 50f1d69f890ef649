//! Pinned messages (SPEC §4.6): a chat keeps up to [`MAX_PER_CHAT`]
//! messages pinned, newest pin first. In a group only owners and admins
//! pin and unpin; in a direct chat either member may.
//!
//! A pin is part of its message (who pinned it and when), so every view of
//! the message shows it without another read; the limit is checked under
//! the chat's row lock, so two pins racing for the last place cannot both
//! get it. Deleting a message unpins it.

use time::OffsetDateTime;

use crate::ids::UserId;
use crate::message::Message;

/// Most messages pinned in one chat.
pub const MAX_PER_CHAT: usize = 50;

/// Who pinned a message, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// The member who pinned it.
    pub by: UserId,
    /// When.
    pub at: OffsetDateTime,
}

/// What pinning a message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinned {
    /// The message is pinned now (returned as it is).
    Pinned(Message),
    /// It was pinned already: nothing changed.
    AlreadyPinned(Message),
    /// The chat has [`MAX_PER_CHAT`] pins already.
    TooMany,
    /// The message is a tombstone: nothing to pin.
    Deleted,
}
