//! Chats and memberships.

use async_trait::async_trait;

use crate::chat::{
    Chat, ChatCursor, ChatDetails, ChatMember, ChatTitle, MemberCursor, MemberRole, Membership,
    ReadState,
};
use crate::error::InfraError;
use crate::ids::{ChatId, UserId};
use crate::metadata::Metadata;

/// Outcome of [`ChatRepository::insert_group`] and
/// [`ChatRepository::insert_direct`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertChatOutcome {
    /// The chat was stored.
    Created,
    /// (Direct chats) the pair already had a direct chat, this one;
    /// nothing was stored.
    Existing(ChatId),
    /// The id is another chat's already; nothing was stored.
    IdTaken,
}

/// Outcome of [`ChatRepository::add_member`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMemberOutcome {
    /// The user is now a member.
    Added,
    /// The user was a member already; nothing changed.
    AlreadyMember,
    /// The chat has `max_members` members already.
    Full,
}

/// A member removal as planned by the use case from the members it read.
/// The adapter carries it out only if the plan still holds when it
/// commits (see [`ChatRepository::remove_member`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// Who leaves or is removed.
    pub user_id: UserId,
    /// Their role when the plan was made.
    pub role: MemberRole,
    /// Who becomes owner, when the owner leaves.
    pub new_owner: Option<UserId>,
}

/// Outcome of [`ChatRepository::remove_member`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveMemberOutcome {
    /// Removed (and the new owner installed, if any).
    Removed,
    /// The user was not a member; nothing changed.
    NotMember,
    /// The plan no longer holds (the target's role changed, or the new
    /// owner left meanwhile); nothing changed: read the members again and
    /// plan anew.
    Stale,
}

/// Where a chat stands: its membership version and its last seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatVersion {
    /// The chat.
    pub chat_id: ChatId,
    /// Grows with every change of the set of members.
    pub member_version: i64,
    /// The highest message seq.
    pub last_seq: i64,
}

/// The members of a chat together with where the chat stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSnapshot {
    /// The chat's version when (or before) the members were read.
    pub version: ChatVersion,
    /// Every member, oldest first.
    pub members: Vec<ChatMember>,
}

/// Persistent storage of chats and memberships.
///
/// Every chat has a *membership version*, a number that grows with each
/// change of its set of members, committed atomically with the change.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChatRepository: Send + Sync {
    /// Stores a group chat and its members atomically, unless its id is
    /// taken: then MUST store nothing and return
    /// [`InsertChatOutcome::IdTaken`] (decided by the store's key, so
    /// concurrent creations of one id store one chat).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn insert_group(
        &self,
        chat: &Chat,
        members: &[ChatMember],
    ) -> Result<InsertChatOutcome, InfraError>;

    /// Stores a direct chat between the two `members` unless the pair
    /// already has one ([`InsertChatOutcome::Existing`]) or its id is taken
    /// ([`InsertChatOutcome::IdTaken`]). MUST be race-safe: concurrent
    /// calls for one pair store one chat (a unique key in the store
    /// decides).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn insert_direct(
        &self,
        chat: &Chat,
        members: &[ChatMember],
    ) -> Result<InsertChatOutcome, InfraError>;

    /// The chat with the user's membership, or `None` when the chat does
    /// not exist or the user is not a member.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_membership(
        &self,
        chat_id: ChatId,
        user_id: UserId,
    ) -> Result<Option<Membership>, InfraError>;

    /// The chat as `viewer` sees it (at most
    /// [`EMBEDDED_MEMBERS`](crate::chat::EMBEDDED_MEMBERS) members, plus
    /// the viewer), or `None` when it does not exist or the viewer is not
    /// a member.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn details(
        &self,
        chat_id: ChatId,
        viewer: UserId,
    ) -> Result<Option<ChatDetails>, InfraError>;

    /// Up to `limit` of the viewer's chats, most recent activity first,
    /// strictly after `after`. MUST use a bounded number of queries per
    /// page, whatever its size (no query per chat).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn list_for_member(
        &self,
        viewer: UserId,
        limit: u32,
        after: Option<ChatCursor>,
    ) -> Result<Vec<ChatDetails>, InfraError>;

    /// Sets a chat's title and/or replaces its metadata.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn update<'a>(
        &self,
        chat_id: ChatId,
        title: Option<&'a ChatTitle>,
        metadata: Option<&'a Metadata>,
    ) -> Result<(), InfraError>;

    /// Deletes a chat with its memberships and messages.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn delete(&self, chat_id: ChatId) -> Result<(), InfraError>;

    /// Those of `users` who are members of the chat (any order). One
    /// query, whatever the chat's size.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn members_among(
        &self,
        chat_id: ChatId,
        users: &[UserId],
    ) -> Result<Vec<UserId>, InfraError>;

    /// Every member of a chat, oldest first (then by user id).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn members(&self, chat_id: ChatId) -> Result<Vec<ChatMember>, InfraError>;

    /// Up to `limit` members of a chat in joining order (then user id),
    /// strictly after `after`. MUST cost the same whatever the chat's size
    /// (an index range, not a sort of every member).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn list_members(
        &self,
        chat_id: ChatId,
        limit: u32,
        after: Option<MemberCursor>,
    ) -> Result<Vec<ChatMember>, InfraError>;

    /// The members of a chat with its membership version, or `None` when
    /// the chat does not exist. The version MUST be read no later than the
    /// members (so a snapshot may look older than its members, never
    /// newer): whoever caches the snapshot and compares versions later
    /// then never keeps a member list that predates a change.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn member_snapshot(&self, chat_id: ChatId) -> Result<Option<MemberSnapshot>, InfraError>;

    /// The current versions of those of `chat_ids` that exist, in one
    /// query.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn chat_versions(&self, chat_ids: &[ChatId]) -> Result<Vec<ChatVersion>, InfraError>;

    /// Adds a member unless they are one already or the chat would exceed
    /// `max_members`; the count check and the insert are atomic, and an
    /// addition bumps the membership version in the same transaction.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn add_member(
        &self,
        chat_id: ChatId,
        member: &ChatMember,
        max_members: usize,
    ) -> Result<AddMemberOutcome, InfraError>;

    /// Carries out `removal` atomically — removes the member, installs
    /// the new owner if any, bumps the membership version — serialised
    /// with every other membership change of the chat, and only if the
    /// plan still holds: the target still has `removal.role`, and the new
    /// owner is still a member. Otherwise MUST change nothing and return
    /// [`RemoveMemberOutcome::Stale`], so that concurrent departures can
    /// never leave a group without an owner.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn remove_member(
        &self,
        chat_id: ChatId,
        removal: &Removal,
    ) -> Result<RemoveMemberOutcome, InfraError>;

    /// Moves the member's read position to `seq` if that is further than
    /// where it is, clamped to the chat's `last_seq`; never backwards.
    /// Returns the resulting state and whether it moved, or `None` when the
    /// user is not a member.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn mark_read(
        &self,
        chat_id: ChatId,
        user_id: UserId,
        seq: i64,
    ) -> Result<Option<(ReadState, bool)>, InfraError>;
}
