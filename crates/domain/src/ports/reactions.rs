//! Reactions and pins.

use std::collections::HashMap;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::InfraError;
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::Message;
use crate::pin::Pinned;
use crate::reaction::{Added, Reaction, ReactionSummary, Reactor};

/// Persistent storage of reactions to messages.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ReactionRepository: Send + Sync {
    /// Adds `user`'s `reaction` to a message, under the message's row
    /// lock: idempotent ([`Added::AlreadyThere`]), and refused with
    /// [`Added::TooMany`] when the reaction is new to the message and it
    /// carries [`crate::reaction::MAX_PER_MESSAGE`] others already — exact
    /// under any concurrency. `None` when the message is missing or
    /// deleted (a deletion and a reaction never interleave).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn add(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
        at: OffsetDateTime,
    ) -> Result<Option<Added>, InfraError>;

    /// Removes `user`'s `reaction`; whether there was one.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn remove(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
    ) -> Result<bool, InfraError>;

    /// Whether `user` has added `reaction` to the message.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn has(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
    ) -> Result<bool, InfraError>;

    /// The reactions of each message in `ids` that has any, as `viewer`
    /// sees them (`me`), in order of first use (then by reaction). One
    /// query for the whole list, whatever its length (≤ 1000).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn summaries(
        &self,
        viewer: UserId,
        ids: &[MessageId],
    ) -> Result<HashMap<MessageId, Vec<ReactionSummary>>, InfraError>;

    /// Up to `limit` members who added `reaction` to the message, in the
    /// order they added it (then by user id), strictly after `after`.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn reactors(
        &self,
        message_id: MessageId,
        reaction: &Reaction,
        after: Option<Reactor>,
        limit: u32,
    ) -> Result<Vec<Reactor>, InfraError>;
}

/// Persistent storage of pins (kept on the message itself).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PinRepository: Send + Sync {
    /// Pins a live message of `chat_id` by `by` at `at`, under the chat's
    /// row lock so that [`crate::pin::MAX_PER_CHAT`] holds under any
    /// concurrency. `None` when the message is missing or of another
    /// chat; [`Pinned::Deleted`] for a tombstone.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn pin(
        &self,
        chat_id: ChatId,
        message_id: MessageId,
        by: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<Pinned>, InfraError>;

    /// Unpins a message of `chat_id`; the message as it is now when it was
    /// pinned, `None` when it was not (or is not of that chat).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn unpin(
        &self,
        chat_id: ChatId,
        message_id: MessageId,
    ) -> Result<Option<Message>, InfraError>;

    /// The pinned messages of a chat, newest pin first (at most
    /// [`crate::pin::MAX_PER_CHAT`]).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn pinned(&self, chat_id: ChatId) -> Result<Vec<Message>, InfraError>;
}
