//! Chats, their members and roles.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::ids::{ChatId, UserId};
use crate::message::Message;
use crate::metadata::Metadata;
use crate::value::{ValueError, check_chars};

/// Direct (exactly two people, fixed) or group (titled, managed by roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatKind {
    /// A one-to-one conversation; one per pair of users.
    Direct,
    /// A titled conversation of up to `limits.max_group_members`.
    Group,
}

impl ChatKind {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }
}

impl FromStr for ChatKind {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "direct" => Ok(Self::Direct),
            "group" => Ok(Self::Group),
            _ => Err(ValueError::new("must be one of: direct, group")),
        }
    }
}

/// A member's role in a chat. Owners and admins manage groups; only the
/// owner deletes a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberRole {
    /// Created the chat (or inherited it); may do everything.
    Owner,
    /// May rename, add and remove members, delete others' messages.
    Admin,
    /// May read, send, rate, and leave.
    Member,
}

impl MemberRole {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Owner or admin.
    pub fn is_manager(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

impl FromStr for MemberRole {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Self::Owner),
            "admin" => Ok(Self::Admin),
            "member" => Ok(Self::Member),
            _ => Err(ValueError::new("must be one of: owner, admin, member")),
        }
    }
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A group chat's title: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChatTitle(String);

impl ChatTitle {
    /// Longest title accepted.
    pub const MAX_CHARS: usize = 100;

    /// Trims and validates a title.
    ///
    /// # Errors
    /// [`ValueError`] when the trimmed title is empty or too long.
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        check_chars(raw, 0, Self::MAX_CHARS)?;
        let title = raw.trim();
        check_chars(title, 1, Self::MAX_CHARS)?;
        Ok(Self(title.to_owned()))
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A chat's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// Stable id.
    pub id: ChatId,
    /// Direct or group.
    pub kind: ChatKind,
    /// Groups only.
    pub title: Option<ChatTitle>,
    /// The user who created it.
    pub created_by: UserId,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// The highest message `seq` (0 before the first message).
    pub last_seq: i64,
    /// Newer of creation and the last message; orders chat lists.
    pub last_activity_at: OffsetDateTime,
    /// Set by the owner or admins.
    pub metadata: Metadata,
}

/// One user's membership of a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMember {
    /// The member.
    pub user_id: UserId,
    /// Their role.
    pub role: MemberRole,
    /// When they joined.
    pub joined_at: OffsetDateTime,
    /// Their read position: every message with `seq` ≤ this is read.
    pub last_read_seq: i64,
}

/// Most members a [`ChatDetails`] carries: a chat's view (in lists, in
/// events) stays the same size whatever the group's; the rest are paged
/// with [`crate::ports::ChatRepository::list_members`].
pub const EMBEDDED_MEMBERS: usize = 50;

/// A chat as one member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatDetails {
    /// The chat.
    pub chat: Chat,
    /// The first [`EMBEDDED_MEMBERS`] members by joining order, plus the
    /// viewer if they joined later; oldest first.
    pub members: Vec<ChatMember>,
    /// How many members the chat has in all.
    pub member_count: u64,
    /// The message with `seq == last_seq` (possibly a tombstone).
    pub last_message: Option<Message>,
    /// Messages after the viewer's read position, not sent by the viewer
    /// and not deleted. Exact for the first thousand positions after the
    /// read position at least; beyond them an adapter may count positions
    /// (as the SQL adapters do, to bound the cost).
    pub unread_count: u64,
    /// Those of them that mention the viewer (by name or as everyone).
    pub mention_count: u64,
}

impl ChatDetails {
    /// The membership of `user`, if they are a member.
    pub fn member(&self, user: UserId) -> Option<&ChatMember> {
        self.members.iter().find(|m| m.user_id == user)
    }
}

/// A chat together with the caller's membership of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The chat.
    pub chat: Chat,
    /// The caller's membership.
    pub member: ChatMember,
}

/// Position in a chat list ordered by activity, newest first: the list
/// continues with chats strictly older than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatCursor {
    /// Activity time of the last chat of the previous page.
    pub last_activity_at: OffsetDateTime,
    /// Its id, to break ties.
    pub chat_id: ChatId,
}

/// Position in a chat's member list, ordered by joining (then user id):
/// the list continues with members strictly after this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberCursor {
    /// When the last member of the previous page joined.
    pub joined_at: OffsetDateTime,
    /// Their id, to break ties.
    pub user_id: UserId,
}

/// A member's read position after `mark_read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadState {
    /// The chat.
    pub chat_id: ChatId,
    /// The reader.
    pub user_id: UserId,
    /// Their read position (never moves back, never past `last_seq`).
    pub last_read_seq: i64,
    /// What is still unread for them.
    pub unread_count: u64,
    /// How many of those mention them.
    pub mention_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_roles_round_trip_through_their_names() {
        for kind in [ChatKind::Direct, ChatKind::Group] {
            assert_eq!(kind.as_str().parse::<ChatKind>(), Ok(kind));
        }
        for role in [MemberRole::Owner, MemberRole::Admin, MemberRole::Member] {
            assert_eq!(role.as_str().parse::<MemberRole>(), Ok(role));
        }
        assert!("channel".parse::<ChatKind>().is_err());
        assert!("Owner".parse::<MemberRole>().is_err());
    }

    #[test]
    fn only_owners_and_admins_manage() {
        assert!(MemberRole::Owner.is_manager());
        assert!(MemberRole::Admin.is_manager());
        assert!(!MemberRole::Member.is_manager());
    }

    #[test]
    fn titles_are_trimmed_and_1_to_100_characters() {
        assert_eq!(ChatTitle::new("  Team  ").expect("valid").as_str(), "Team");
        assert!(ChatTitle::new(" \t ").is_err());
        assert!(ChatTitle::new(&"ß".repeat(100)).is_ok());
        assert!(ChatTitle::new(&"ß".repeat(101)).is_err());
    }
}
