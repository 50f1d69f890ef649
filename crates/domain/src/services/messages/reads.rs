//! Reading messages: history, one message, listings, mentions, threads.
//! Every message answered carries its reactions as the caller sees them.

use super::{HistoryLimit, ListLimit, MessageError, MessageService, invalid};
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::{HistoryCursor, Message, MessageFilter, MessagePage};

impl MessageService {
    /// A page of a chat's history (see [`HistoryCursor`]).
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for a non-member.
    pub async fn history(
        &self,
        caller: UserId,
        chat_id: ChatId,
        cursor: HistoryCursor,
        limit: HistoryLimit,
    ) -> Result<MessagePage, MessageError> {
        let mut page = self
            .messages
            .member_history(caller, chat_id, cursor, limit.get())
            .await?
            .ok_or(MessageError::NotFound)?;
        self.read_as(caller, &mut page.items).await?;
        Ok(page)
    }

    /// One page of the live messages that mention the caller, in chats
    /// they are in, newest first, and the id to continue before when more
    /// may follow.
    ///
    /// # Errors
    /// [`MessageError::Infra`] when storage fails.
    pub async fn mentions_of(
        &self,
        caller: UserId,
        before: Option<MessageId>,
        limit: ListLimit,
    ) -> Result<(Vec<Message>, Option<MessageId>), MessageError> {
        let limit = limit.get();
        let mut found = self.messages.mentions_of(caller, before, limit + 1).await?;
        let next = if found.len() > limit as usize {
            found.truncate(limit as usize);
            found.last().map(|m| m.id)
        } else {
            None
        };
        self.read_as(caller, &mut found).await?;
        Ok((found, next))
    }

    /// A page of the replies in the thread of `root` (a message of a chat
    /// the caller is in), like history; an empty page for a message
    /// nobody answered.
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for an unknown message or a non-member;
    /// [`MessageError::Invalid`] naming `offset` for an offset cursor.
    pub async fn replies(
        &self,
        caller: UserId,
        root: MessageId,
        cursor: HistoryCursor,
        limit: HistoryLimit,
    ) -> Result<MessagePage, MessageError> {
        self.visible(caller, root).await?;
        if matches!(cursor, HistoryCursor::Offset(_)) {
            return Err(invalid(
                "offset",
                "threads page by before_seq and after_seq",
            ));
        }
        let mut page = self.messages.replies(root, cursor, limit.get()).await?;
        self.read_as(caller, &mut page.items).await?;
        Ok(page)
    }

    /// A message (a tombstone too) of a chat the caller is in.
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for unknown ids and non-members alike.
    pub async fn get_message(
        &self,
        caller: UserId,
        id: MessageId,
    ) -> Result<Message, MessageError> {
        let mut message = self.visible(caller, id).await?;
        self.read_as(caller, std::slice::from_mut(&mut message))
            .await?;
        Ok(message)
    }

    /// A message (a tombstone too) of a chat the caller is in, without its
    /// reactions.
    pub(super) async fn visible(
        &self,
        caller: UserId,
        id: MessageId,
    ) -> Result<Message, MessageError> {
        let message = self
            .messages
            .find(id)
            .await?
            .ok_or(MessageError::NotFound)?;
        self.ensure_member(message.chat_id, caller).await?;
        Ok(message)
    }

    /// One page of the caller's messages matching `filter`, newest
    /// first, and the id to continue after (`MessageFilter::before`) when
    /// more may follow.
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for a `chat_id` the caller is not in.
    pub async fn list_messages(
        &self,
        caller: UserId,
        filter: MessageFilter,
        limit: ListLimit,
    ) -> Result<(Vec<Message>, Option<MessageId>), MessageError> {
        if let Some(chat_id) = filter.chat_id {
            self.ensure_member(chat_id, caller).await?;
        }
        let limit = limit.get();
        // One more than asked, to know whether another page exists.
        let mut found = self.messages.list(caller, &filter, limit + 1).await?;
        let next = if found.len() > limit as usize {
            found.truncate(limit as usize);
            found.last().map(|m| m.id)
        } else {
            None
        };
        self.read_as(caller, &mut found).await?;
        Ok((found, next))
    }
}
