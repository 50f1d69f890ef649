//! Reactions: any member adds or takes back an emoji or `:shortcode:` on a
//! message, and lists who reacted. As everywhere, a non-member gets
//! [`MessageError::NotFound`].

use std::sync::Arc;

use crate::event::Event;
use crate::ids::{MessageId, UserId};
use crate::message::Message;
use crate::paging::PageLimit;
use crate::ports::{ChatRepository, Clock, EventPublisher, MessageRepository, ReactionRepository};
use crate::reaction::{Added, MAX_PER_MESSAGE, Reaction, Reactor};
use crate::services::messages::MessageError;

/// Largest page of reactors.
pub const MAX_REACTORS_PAGE: u32 = 100;
/// A page size of reactors: 1–[`MAX_REACTORS_PAGE`].
pub type ReactorLimit = PageLimit<MAX_REACTORS_PAGE>;

/// Fills in each message's reactions as `viewer` sees them, with one
/// read for all those not known to have none (none when no message has
/// any).
///
/// # Errors
/// [`MessageError::Infra`] when storage fails.
pub(crate) async fn with_reactions(
    reactions: &dyn ReactionRepository,
    viewer: UserId,
    messages: &mut [Message],
) -> Result<(), MessageError> {
    // Storage marks the messages it knows have none.
    let ids: Vec<MessageId> = messages
        .iter()
        .filter(|m| m.reactions.is_none())
        .map(|m| m.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let mut found = reactions.summaries(viewer, &ids).await?;
    for message in messages.iter_mut().filter(|m| m.reactions.is_none()) {
        message.reactions = Some(found.remove(&message.id).unwrap_or_default());
    }
    Ok(())
}

/// The reaction use cases.
#[derive(Clone)]
pub struct ReactionService {
    reactions: Arc<dyn ReactionRepository>,
    messages: Arc<dyn MessageRepository>,
    chats: Arc<dyn ChatRepository>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl ReactionService {
    /// Wires the service to its ports.
    pub fn new(
        reactions: Arc<dyn ReactionRepository>,
        messages: Arc<dyn MessageRepository>,
        chats: Arc<dyn ChatRepository>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            reactions,
            messages,
            chats,
            events,
            clock,
        }
    }

    /// A message of a chat the caller is in (tombstones too).
    async fn visible(&self, caller: UserId, id: MessageId) -> Result<Message, MessageError> {
        let message = self
            .messages
            .find(id)
            .await?
            .ok_or(MessageError::NotFound)?;
        self.chats
            .find_membership(message.chat_id, caller)
            .await?
            .ok_or(MessageError::NotFound)?;
        Ok(message)
    }

    /// Adds the caller's `reaction` to a message (doing nothing when it is
    /// there already) and returns the message with its reactions.
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for an unknown message or a non-member;
    /// [`MessageError::Deleted`] for a tombstone; [`MessageError::Invalid`]
    /// naming `reaction` when the message carries
    /// [`MAX_PER_MESSAGE`] other reactions already.
    pub async fn add(
        &self,
        caller: UserId,
        message_id: MessageId,
        reaction: Reaction,
    ) -> Result<Message, MessageError> {
        let mut message = self.visible(caller, message_id).await?;
        if message.is_deleted() {
            return Err(MessageError::Deleted);
        }
        let now = self.clock.now();
        match self
            .reactions
            .add(message_id, caller, &reaction, now)
            .await?
        {
            None => return Err(MessageError::Deleted),
            Some(Added::TooMany) => {
                return Err(MessageError::Invalid {
                    field: "reaction".into(),
                    message: format!(
                        "a message carries at most {MAX_PER_MESSAGE} different reactions"
                    ),
                });
            }
            Some(Added::AlreadyThere) => {}
            Some(Added::Added) => {
                self.events
                    .publish(Event::Reaction {
                        chat_id: message.chat_id,
                        message_id,
                        seq: message.seq,
                        reaction,
                        user_id: caller,
                        added: true,
                    })
                    .await;
            }
        }
        // Read before the reaction: read its reactions again.
        message.reactions = None;
        with_reactions(&*self.reactions, caller, std::slice::from_mut(&mut message)).await?;
        Ok(message)
    }

    /// Takes back the caller's `reaction` (doing nothing when there is
    /// none, a tombstone included).
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for an unknown message or a non-member.
    pub async fn remove(
        &self,
        caller: UserId,
        message_id: MessageId,
        reaction: Reaction,
    ) -> Result<(), MessageError> {
        let message = self.visible(caller, message_id).await?;
        if self.reactions.remove(message_id, caller, &reaction).await? {
            self.events
                .publish(Event::Reaction {
                    chat_id: message.chat_id,
                    message_id,
                    seq: message.seq,
                    reaction,
                    user_id: caller,
                    added: false,
                })
                .await;
        }
        Ok(())
    }

    /// One page of the members who added `reaction` to a message, in the
    /// order they added it, and where the next page starts when more may
    /// follow.
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for an unknown message or a non-member.
    pub async fn reactors(
        &self,
        caller: UserId,
        message_id: MessageId,
        reaction: Reaction,
        after: Option<Reactor>,
        limit: ReactorLimit,
    ) -> Result<(Vec<Reactor>, Option<Reactor>), MessageError> {
        self.visible(caller, message_id).await?;
        let limit = limit.get();
        let mut found = self
            .reactions
            .reactors(message_id, &reaction, after, limit + 1)
            .await?;
        let next = if found.len() > limit as usize {
            found.truncate(limit as usize);
            found.last().cloned()
        } else {
            None
        };
        Ok((found, next))
    }
}

#[cfg(test)]
mod tests;
