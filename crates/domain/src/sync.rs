//! Lossless sync (SPEC §4.8): every change a user can see is recorded in
//! a change log, in commit order; a [`SyncToken`] is a position in it.
//!
//! The log holds one [`Change`] per change **per chat** (never one per
//! recipient) with ids, not payloads. Readers render each change from the
//! state as it is when they read ([`SyncEvent`]), which makes replays
//! idempotent and compacts repeated changes of one thing losslessly: three
//! edits of a message render as its last content, an edit followed by a
//! delete as the tombstone.

use std::fmt;
use std::str::FromStr;

use crate::chat::ChatDetails;
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::Message;
use crate::reaction::Reaction;

/// A position in the change log: every change at or below it was seen.
///
/// Positions order as `(xid, id)`: on PostgreSQL `xid` is the writing
/// transaction's id and readers only pass transactions older than every
/// running one, so a late commit is never skipped; on SQLite (one writer
/// at a time) `xid` is 0 and `id` alone is commit order. Rendered as an
/// opaque string (`s<xid>_<id>` in hexadecimal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SyncToken {
    /// The writing transaction's id, or the reader's horizon (PostgreSQL);
    /// 0 on SQLite.
    pub xid: i64,
    /// The change's id within that transaction's position (0: before any).
    pub id: i64,
}

impl SyncToken {
    /// The position `(xid, id)`.
    pub const fn new(xid: i64, id: i64) -> Self {
        Self { xid, id }
    }
}

impl fmt::Display for SyncToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{:x}_{:x}", self.xid, self.id)
    }
}

/// A string that is not a token this server issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a sync token")]
pub struct InvalidToken;

impl FromStr for SyncToken {
    type Err = InvalidToken;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix('s').ok_or(InvalidToken)?;
        let (xid, id) = rest.split_once('_').ok_or(InvalidToken)?;
        let part = |p: &str| {
            if p.is_empty() || p.len() > 16 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(InvalidToken);
            }
            // Written lower-case, non-negative: anything else is not ours.
            if p.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(InvalidToken);
            }
            i64::from_str_radix(p, 16).map_err(|_| InvalidToken)
        };
        Ok(Self::new(part(xid)?, part(id)?))
    }
}

/// What a change is about. Stored as a small number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A message was stored (`message_id`).
    MessageCreated,
    /// A message's content, rating, metadata or mentions changed.
    MessageUpdated,
    /// A message became a tombstone.
    MessageDeleted,
    /// `user_id` added (`detail` `+reaction`) or took back (`-reaction`) a
    /// reaction on `message_id` (whose seq is `seq`).
    Reaction,
    /// `message_id` was pinned or unpinned.
    Pin,
    /// `user_id` read the chat up to `seq`.
    Read,
    /// `user_id` joined the chat.
    MemberAdded,
    /// `user_id` left or was removed.
    MemberRemoved,
    /// The chat was created.
    ChatCreated,
    /// The chat's title, metadata or roles changed.
    ChatUpdated,
    /// The chat was deleted; `user_id` was one of its members (one change
    /// per former member: they are no longer members of anything to read
    /// it through).
    ChatDeleted,
    /// The thread of root `message_id` gained or lost a reply (its own
    /// change, so each event has a position of its own).
    Thread,
}

impl ChangeKind {
    /// Every kind, in code order.
    pub const ALL: [Self; 12] = [
        Self::MessageCreated,
        Self::MessageUpdated,
        Self::MessageDeleted,
        Self::Reaction,
        Self::Pin,
        Self::Read,
        Self::MemberAdded,
        Self::MemberRemoved,
        Self::ChatCreated,
        Self::ChatUpdated,
        Self::ChatDeleted,
        Self::Thread,
    ];

    /// The stored code.
    pub const fn code(self) -> i16 {
        match self {
            Self::MessageCreated => 1,
            Self::MessageUpdated => 2,
            Self::MessageDeleted => 3,
            Self::Reaction => 4,
            Self::Pin => 5,
            Self::Read => 6,
            Self::MemberAdded => 7,
            Self::MemberRemoved => 8,
            Self::ChatCreated => 9,
            Self::ChatUpdated => 10,
            Self::ChatDeleted => 11,
            Self::Thread => 12,
        }
    }

    /// The kind stored as `code`, if any.
    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// Whether `user_id` names who the change is delivered to even when
    /// they are no longer a member (their own removal, the deletion of a
    /// chat they were in).
    pub const fn addressed_to_user(self) -> bool {
        matches!(self, Self::MemberRemoved | Self::ChatDeleted)
    }
}

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its position.
    pub position: SyncToken,
    /// The chat it belongs to.
    pub chat_id: ChatId,
    /// What happened.
    pub kind: ChangeKind,
    /// The message it is about, if any.
    pub message_id: Option<MessageId>,
    /// The user it is about, if any.
    pub user_id: Option<UserId>,
    /// A seq it names (a reaction's message, a read position).
    pub seq: Option<i64>,
    /// A reaction with its sign (`+👍`, `-👍`).
    pub detail: Option<String>,
}

/// A change to record, written by the statement or transaction that makes
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    /// The chat.
    pub chat_id: ChatId,
    /// What happened.
    pub kind: ChangeKind,
    /// The message, if any.
    pub message_id: Option<MessageId>,
    /// The user, if any.
    pub user_id: Option<UserId>,
    /// A seq, if any.
    pub seq: Option<i64>,
    /// A detail, if any.
    pub detail: Option<String>,
}

impl NewChange {
    /// A change of the chat itself.
    pub fn chat(chat_id: ChatId, kind: ChangeKind) -> Self {
        Self {
            chat_id,
            kind,
            message_id: None,
            user_id: None,
            seq: None,
            detail: None,
        }
    }

    /// A change about a user in the chat.
    pub fn user(chat_id: ChatId, kind: ChangeKind, user_id: UserId) -> Self {
        Self {
            user_id: Some(user_id),
            ..Self::chat(chat_id, kind)
        }
    }

    /// A change of a message.
    pub fn message(chat_id: ChatId, kind: ChangeKind, message_id: MessageId) -> Self {
        Self {
            message_id: Some(message_id),
            ..Self::chat(chat_id, kind)
        }
    }

    /// A read position moved.
    pub fn read(chat_id: ChatId, user_id: UserId, seq: i64) -> Self {
        Self {
            seq: Some(seq),
            ..Self::user(chat_id, ChangeKind::Read, user_id)
        }
    }

    /// A reaction was added or taken back.
    pub fn reaction(
        chat_id: ChatId,
        message_id: MessageId,
        seq: i64,
        user_id: UserId,
        reaction: &Reaction,
        added: bool,
    ) -> Self {
        Self {
            chat_id,
            kind: ChangeKind::Reaction,
            message_id: Some(message_id),
            user_id: Some(user_id),
            seq: Some(seq),
            detail: Some(format!(
                "{}{}",
                if added { '+' } else { '-' },
                reaction.as_str()
            )),
        }
    }
}

/// What a reader of the log reached: the changes it may see and how far
/// it got.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangePage {
    /// Changes after the reader's position, in order.
    pub changes: Vec<Change>,
    /// The position reached: every change at or below it was read (or is
    /// not the reader's to see).
    pub end: SyncToken,
    /// Whether more changes may be readable past `end` now (the page or
    /// the scan window was full).
    pub has_more: bool,
}

/// A change rendered from the state as it is now: the WebSocket's event
/// shapes with domain types.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// A message was stored (rendered as it is now, without reactions:
    /// those follow as reaction events).
    MessageCreated(Message),
    /// A message changed (as it is now; its reactions are not in it).
    MessageUpdated(Message),
    /// A message is a tombstone.
    MessageDeleted(Message),
    /// A message is pinned now.
    MessagePinned(Message),
    /// A message is not pinned now.
    MessageUnpinned(Message),
    /// A thread's summary as it is now (`root.thread`).
    ThreadUpdated(Message),
    /// A reaction was added or taken back.
    Reaction {
        /// The chat.
        chat_id: ChatId,
        /// The message.
        message_id: MessageId,
        /// Its seq.
        seq: i64,
        /// The reaction.
        reaction: Reaction,
        /// Who.
        user_id: UserId,
        /// Added, else taken back.
        added: bool,
        /// How many members have it on the message now.
        count: u32,
    },
    /// A member's read position.
    ChatRead {
        /// The chat.
        chat_id: ChatId,
        /// The reader.
        user_id: UserId,
        /// How far they read.
        last_read_seq: i64,
    },
    /// A member joined.
    MemberAdded {
        /// The chat.
        chat_id: ChatId,
        /// Who.
        user_id: UserId,
    },
    /// A member left or was removed.
    MemberRemoved {
        /// The chat.
        chat_id: ChatId,
        /// Who.
        user_id: UserId,
    },
    /// A chat was created (as it is now; unread and mention counts 0).
    ChatCreated(ChatDetails),
    /// A chat changed (as it is now; unread and mention counts 0).
    ChatUpdated(ChatDetails),
    /// A chat was deleted.
    ChatDeleted {
        /// The chat.
        chat_id: ChatId,
    },
}

/// Who, beyond the chat's current members, a rendered change goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The chat's members.
    Members,
    /// The chat's members and this user (removed from it).
    MembersAnd(UserId),
    /// Only this user (a former member of a deleted chat).
    User(UserId),
}

/// A rendered change with its position and audience.
#[derive(Debug, Clone, PartialEq)]
pub struct Synced {
    /// Where a client that applied it (and everything before) resumes.
    pub token: SyncToken,
    /// The chat.
    pub chat_id: ChatId,
    /// Who it goes to.
    pub audience: Audience,
    /// The event.
    pub event: SyncEvent,
}

/// A page of `GET /sync`.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPage {
    /// The changes, rendered.
    pub changes: Vec<Synced>,
    /// Where to resume.
    pub next_token: SyncToken,
    /// Whether to ask again at once.
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_order_by_transaction_then_id() {
        let token = SyncToken::new(0x1f2e, 42);
        assert_eq!(token.to_string(), "s1f2e_2a");
        assert_eq!("s1f2e_2a".parse::<SyncToken>(), Ok(token));
        assert!(SyncToken::new(5, 100) < SyncToken::new(6, 1));
        assert!(SyncToken::new(6, 1) < SyncToken::new(6, 2));
    }

    #[test]
    fn anything_else_is_not_a_token() {
        for bad in [
            "",
            "s",
            "s_",
            "s1_",
            "s_1",
            "x1_2",
            "s1-2",
            "s-1_2",
            "s1_-2",
            "s1F_2",
            "s 1_2",
            "s11111111111111111_1",
            "s8000000000000000_0",
        ] {
            assert_eq!(bad.parse::<SyncToken>(), Err(InvalidToken), "{bad}");
        }
    }

    #[test]
    fn every_kind_keeps_its_code() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ChangeKind::from_code(0), None);
        assert!(ChangeKind::MemberRemoved.addressed_to_user());
        assert!(!ChangeKind::Read.addressed_to_user());
    }
}
