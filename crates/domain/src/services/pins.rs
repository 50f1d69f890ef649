//! Pins: a chat's owner and admins (in a direct chat, either member) pin
//! up to [`MAX_PER_CHAT`] messages; every member lists them. A non-member
//! gets [`MessageError::NotFound`].

use std::sync::Arc;

use crate::chat::{ChatKind, Membership};
use crate::event::Event;
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::Message;
use crate::pin::{MAX_PER_CHAT, Pinned};
use crate::ports::{ChatRepository, Clock, EventPublisher, PinRepository, ReactionRepository};
use crate::services::messages::MessageError;
use crate::services::reactions::with_reactions;

/// The pin use cases.
#[derive(Clone)]
pub struct PinService {
    pins: Arc<dyn PinRepository>,
    reactions: Arc<dyn ReactionRepository>,
    chats: Arc<dyn ChatRepository>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl PinService {
    /// Wires the service to its ports.
    pub fn new(
        pins: Arc<dyn PinRepository>,
        reactions: Arc<dyn ReactionRepository>,
        chats: Arc<dyn ChatRepository>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            pins,
            reactions,
            chats,
            events,
            clock,
        }
    }

    async fn membership(
        &self,
        chat_id: ChatId,
        caller: UserId,
    ) -> Result<Membership, MessageError> {
        self.chats
            .find_membership(chat_id, caller)
            .await?
            .ok_or(MessageError::NotFound)
    }

    /// Checks that the caller is a member allowed to pin in `chat_id`.
    async fn ensure_pinner(&self, chat_id: ChatId, caller: UserId) -> Result<(), MessageError> {
        let membership = self.membership(chat_id, caller).await?;
        if membership.chat.kind == ChatKind::Group && !membership.member.role.is_manager() {
            return Err(MessageError::Forbidden(
                "only the group's owner or admins may pin or unpin messages",
            ));
        }
        Ok(())
    }

    /// Pins a message of the chat (doing nothing when it is pinned
    /// already); returns it as it is now.
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for a non-member or a message not in the
    /// chat; [`MessageError::Forbidden`] for a group member who is not an
    /// owner or admin; [`MessageError::Deleted`] for a tombstone;
    /// [`MessageError::Invalid`] naming `message_id` when the chat has
    /// [`MAX_PER_CHAT`] pins already.
    pub async fn pin(
        &self,
        caller: UserId,
        chat_id: ChatId,
        message_id: MessageId,
    ) -> Result<Message, MessageError> {
        self.ensure_pinner(chat_id, caller).await?;
        let outcome = self
            .pins
            .pin(chat_id, message_id, caller, self.clock.now())
            .await?;
        let mut message = match outcome {
            None => return Err(MessageError::NotFound),
            Some(Pinned::Deleted) => return Err(MessageError::Deleted),
            Some(Pinned::TooMany) => {
                return Err(MessageError::Invalid {
                    field: "message_id".into(),
                    message: format!("a chat keeps at most {MAX_PER_CHAT} pinned messages"),
                });
            }
            Some(Pinned::AlreadyPinned(message)) => message,
            Some(Pinned::Pinned(message)) => {
                self.events
                    .publish(Event::PinChanged(message.clone()))
                    .await;
                message
            }
        };
        with_reactions(&*self.reactions, caller, std::slice::from_mut(&mut message)).await?;
        Ok(message)
    }

    /// Unpins a message of the chat (doing nothing when it is not pinned).
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for a non-member;
    /// [`MessageError::Forbidden`] for a group member who is not an owner
    /// or admin.
    pub async fn unpin(
        &self,
        caller: UserId,
        chat_id: ChatId,
        message_id: MessageId,
    ) -> Result<(), MessageError> {
        self.ensure_pinner(chat_id, caller).await?;
        if let Some(message) = self.pins.unpin(chat_id, message_id).await? {
            self.events.publish(Event::PinChanged(message)).await;
        }
        Ok(())
    }

    /// The chat's pinned messages, newest pin first.
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for a non-member.
    pub async fn pinned(
        &self,
        caller: UserId,
        chat_id: ChatId,
    ) -> Result<Vec<Message>, MessageError> {
        self.membership(chat_id, caller).await?;
        let mut messages = self.pins.pinned(chat_id).await?;
        with_reactions(&*self.reactions, caller, &mut messages).await?;
        Ok(messages)
    }
}

#[cfg(test)]
mod tests;
