//! Messages.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::InfraError;
use crate::ids::{ChatId, MessageId, UserId};
use crate::mention::Mentions;
use crate::message::{
    HistoryCursor, Message, MessageContent, MessageFilter, MessagePage, NewMessage,
};
use crate::metadata::Metadata;

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
    /// An attached upload was removed (expired) between its check and
    /// the message's storing.
    #[error("an attached upload no longer exists")]
    UploadGone,
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
    /// New mentions, replacing the old (who is notified follows).
    pub mentions: Option<Mentions>,
}

/// Persistent storage of messages.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait MessageRepository: Send + Sync {
    /// Stores a message with `seq = last_seq + 1` of its chat, bumping the
    /// chat's `last_seq` and activity in the same atomic step, so `seq` is
    /// gap-free and unique per chat under any concurrency. Only a member
    /// may append (checked in that same step). A reply (`thread_root_id`)
    /// updates its root's thread summary in that same step, and a row per
    /// mentioned member (every other member for `mention_all`; never the
    /// sender; only members at that moment) is written in it too.
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

    /// Those of `ids` that exist (tombstones included), in any order, with
    /// a bounded number of queries whatever their number.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, InfraError>;

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

    /// A page of the replies in the thread of `root` (messages whose
    /// `thread_root_id` is `root`), items in ascending `seq`, like
    /// [`history`](Self::history); [`HistoryCursor::Offset`] is not
    /// supported (replies are not contiguous in the chat's sequence).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn replies(
        &self,
        root: MessageId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<MessagePage, InfraError>;

    /// Up to `limit` live messages that mention `viewer`, in chats they
    /// are still a member of, newest first, strictly older than `before`.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn mentions_of(
        &self,
        viewer: UserId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, InfraError>;

    /// Applies an edit to a message that is not deleted; returns the
    /// updated message, or `None` when it is missing or deleted.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn edit(&self, id: MessageId, edit: &MessageEdit) -> Result<Option<Message>, InfraError>;

    /// Turns a message into a tombstone (content and metadata emptied,
    /// `deleted_at` set, `seq` kept) and, in the same transaction, drops
    /// its reactions, its pin and its mentions, and — for a reply — recounts its root's
    /// thread summary from the live replies left; returns it, or `None`
    /// when it is missing or already deleted. A root keeps its summary.
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
