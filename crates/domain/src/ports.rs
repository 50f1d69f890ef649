//! Ports: what the domain needs from the outside world. Adapters implement
//! them; services hold them as `Arc<dyn Port>`. With the `mocks` feature
//! each trait has a `mockall` fake named `Mock<Trait>`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::api_key::{ApiKey, ApiKeyHash, MintedApiKey};
use crate::chat::{
    Chat, ChatCursor, ChatDetails, ChatMember, ChatTitle, MemberCursor, MemberRole, Membership,
    ReadState,
};
use crate::error::InfraError;
use crate::event::Event;
use crate::ids::{ApiKeyId, ChatId, MessageId, UserId};
use crate::message::{
    HistoryCursor, Message, MessageContent, MessageFilter, MessagePage, NewMessage,
};
use crate::metadata::Metadata;
use crate::user::{Email, Password, PasswordHash, User, UserCredentials};

/// Outcome of [`UserRepository::insert`] other than success.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another user already has this (normalised) e-mail address.
    #[error("email already taken")]
    EmailTaken,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Persistent storage of users.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user with their password hash.
    ///
    /// # Errors
    /// MUST return [`InsertUserError::EmailTaken`] when the e-mail address is
    /// already stored — decided by the store's unique constraint, so that
    /// concurrent registrations cannot both succeed.
    async fn insert(
        &self,
        user: &User,
        password_hash: &PasswordHash,
    ) -> Result<(), InsertUserError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, InfraError>;

    /// The user with this (normalised) e-mail address, if any.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, InfraError>;

    /// The user with this address together with their password hash.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, InfraError>;

    /// Which of `ids` belong to existing users (in any order).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_existing(&self, ids: &[UserId]) -> Result<Vec<UserId>, InfraError>;
}

/// Persistent storage of API keys.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Stores a new key's metadata under its digest.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn insert(&self, key: &ApiKey, hash: &ApiKeyHash) -> Result<(), InfraError>;

    /// The owner's keys that are not revoked, oldest first.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn list_active(&self, owner_id: UserId) -> Result<Vec<ApiKey>, InfraError>;

    /// Marks the owner's key revoked at `at`. MUST return `false` when the
    /// key does not exist, belongs to someone else or is already revoked.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn revoke(
        &self,
        owner_id: UserId,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<bool, InfraError>;

    /// The key stored under this digest, revoked or not.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, InfraError>;

    /// Which of `ids` exist and are not revoked, in any order. MUST cost
    /// one query whatever the number of ids (it is asked every second for
    /// every key with an open WebSocket).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_active_among(&self, ids: &[ApiKeyId]) -> Result<Vec<ApiKeyId>, InfraError>;
}

/// Slow, salted password hashing (argon2id in the shipped adapter). It MUST
/// NOT block the caller's async runtime.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with a fresh salt.
    ///
    /// # Errors
    /// [`InfraError`] when hashing cannot run.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, InfraError>;

    /// Whether `password` matches `hash`. With `hash: None` (unknown user) it
    /// MUST spend about as long as a real verification and return `false`,
    /// so response times do not reveal which e-mail addresses exist.
    ///
    /// # Errors
    /// [`InfraError`] when verification cannot run.
    async fn verify<'a>(
        &self,
        password: &str,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, InfraError>;
}

/// Generates API key secrets and digests them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ApiKeyMinter: Send + Sync {
    /// A new secret from a cryptographically secure generator, with its
    /// prefix and digest.
    fn mint(&self) -> MintedApiKey;

    /// The digest of a presented secret; equal secrets give equal digests.
    fn digest(&self, secret: &str) -> ApiKeyHash;
}

/// The current time, injectable so rules about time are testable.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

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

    /// Every member of a chat, oldest first.
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

/// Outcome of [`MessageRepository::append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored now, with the next `seq`.
    Created(Message),
    /// The sender had already stored a message with this `client_id` in
    /// this chat: that message, unchanged. Nothing was stored.
    Existing(Message),
}

/// Why [`MessageRepository::append`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The chat does not exist or the sender is not (or no longer) a member.
    #[error("not a member of the chat")]
    NotMember,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// A change to a message: either or both parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEdit {
    /// New content, stamped with `edited_at`.
    pub content: Option<(MessageContent, OffsetDateTime)>,
    /// New rating; `Some(None)` clears it.
    pub rating: Option<Option<bool>>,
    /// New metadata, replacing the old.
    pub metadata: Option<Metadata>,
}

/// Persistent storage of messages.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MessageRepository: Send + Sync {
    /// Stores a message with `seq = last_seq + 1` of its chat, bumping the
    /// chat's `last_seq` and activity in the same atomic step, so `seq` is
    /// gap-free and unique per chat under any concurrency. Only a member
    /// may append (checked in that same step).
    ///
    /// With a `client_id` already used by this sender in this chat, it
    /// MUST store nothing, leave `last_seq` untouched and return
    /// [`Appended::Existing`] — decided by a unique constraint, so racing
    /// duplicates store exactly one message.
    ///
    /// # Errors
    /// [`AppendError::NotMember`]; [`AppendError::Infra`].
    async fn append(&self, message: &NewMessage) -> Result<Appended, AppendError>;

    /// Stores many messages of one sender in one chat atomically: those
    /// whose `client_id` this sender already used in this chat are not
    /// stored again ([`Appended::Existing`]); the others get contiguous
    /// seqs in their order ([`Appended::Created`]). All or nothing,
    /// serialised with every other append to the chat (so parallel
    /// retries of one batch store it once). The answer is in the order of
    /// `messages`, which MUST all have the same chat and sender and
    /// distinct client ids.
    ///
    /// # Errors
    /// [`AppendError::NotMember`]; [`AppendError::Infra`].
    async fn append_batch(&self, messages: &[NewMessage]) -> Result<Vec<Appended>, AppendError>;

    /// A message by id (tombstones included).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find(&self, id: MessageId) -> Result<Option<Message>, InfraError>;

    /// A page of a chat's history, items in ascending `seq`.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn history(
        &self,
        chat_id: ChatId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<MessagePage, InfraError>;

    /// Like [`history`](Self::history), for a reader: `None` when `viewer`
    /// is not a member of the chat. Adapters check membership in the same
    /// query as the page, so reading history costs one round trip.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn member_history(
        &self,
        viewer: UserId,
        chat_id: ChatId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<Option<MessagePage>, InfraError>;

    /// Applies an edit to a message that is not deleted; returns the
    /// updated message, or `None` when it is missing or deleted.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn edit(&self, id: MessageId, edit: &MessageEdit) -> Result<Option<Message>, InfraError>;

    /// Turns a message into a tombstone (content emptied, `deleted_at`
    /// set, `seq` kept); returns it, or `None` when it is missing or
    /// already deleted.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn soft_delete(
        &self,
        id: MessageId,
        at: OffsetDateTime,
    ) -> Result<Option<Message>, InfraError>;

    /// Up to `limit` messages of the chats `viewer` is a member of that
    /// match `filter`, never deleted ones, newest first. MUST never read
    /// messages of chats the viewer is not in (on PostgreSQL every
    /// combination of filters is answered chat by chat from indexes).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn list(
        &self,
        viewer: UserId,
        filter: &MessageFilter,
        limit: u32,
    ) -> Result<Vec<Message>, InfraError>;
}

/// Delivers events to real-time subscribers (this process, or every
/// instance sharing the database). Called after the change is committed;
/// delivery failures are the adapter's to log, never the caller's.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes one event.
    async fn publish(&self, event: Event);
}
