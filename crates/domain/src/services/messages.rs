//! Messages: sending (ordered, idempotent), history, reading one, editing,
//! rating, deleting, and searching.
//!
//! As for chats, a non-member gets [`MessageError::NotFound`], never
//! `Forbidden`.

use std::sync::Arc;

use crate::chat::ChatKind;
use crate::error::InfraError;
use crate::event::Event;
use crate::ids::{ChatId, MessageId, UserId};
use crate::mention::Mentions;
use crate::message::{ClientId, Message, MessageContent, MessageRole, NewMessage, SentAt};
use crate::metadata::Metadata;
use crate::paging::PageLimit;
use crate::ports::{
    AppendError, Appended, ChatRepository, Clock, EventPublisher, MessageEdit, MessageRepository,
    ReactionRepository, UploadRepository,
};
use crate::services::reactions::with_reactions;
use crate::upload::{AttachmentIds, Upload};
use attachments::{check_not_blank, upload_gone};

/// Most messages in one batch.
pub const MAX_BATCH: usize = 1000;
/// Largest history page.
pub const MAX_PAGE: u32 = 200;
/// A history page size: 1–[`MAX_PAGE`].
pub type HistoryLimit = PageLimit<MAX_PAGE>;
/// Largest page of a listing across chats.
pub const MAX_LIST_PAGE: u32 = 100;
/// A page size of a listing across chats: 1–[`MAX_LIST_PAGE`].
pub type ListLimit = PageLimit<MAX_LIST_PAGE>;

/// Why a message operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// No such message or chat, or the caller is not a member.
    #[error("not found")]
    NotFound,
    /// A member, but not allowed (editing someone else's message, …).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The message is a tombstone and cannot be edited.
    #[error("the message was deleted")]
    Deleted,
    /// A request field is invalid in a way only the domain can tell.
    #[error("{field}: {message}")]
    Invalid {
        /// The request field.
        field: String,
        /// Why.
        message: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> MessageError {
    MessageError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessage {
    /// Target chat.
    pub chat_id: ChatId,
    /// Text.
    pub content: MessageContent,
    /// Idempotency key.
    pub client_id: Option<ClientId>,
    /// Transcript role (default `user`).
    pub role: MessageRole,
    /// Initial rating.
    pub rating: Option<bool>,
    /// Client-side send time (default: now).
    pub sent_at: Option<SentAt>,
    /// A message of the same chat this one answers.
    pub reply_to: Option<MessageId>,
    /// The sender's metadata.
    pub metadata: Metadata,
    /// Members it mentions (each must be a member of the chat).
    pub mentions: Mentions,
    /// Mention everyone (a group's owner or admin only).
    pub mention_all: bool,
    /// The caller's own uploads to attach; with at least one, `content`
    /// may be empty.
    pub attachments: AttachmentIds,
}

/// A change requested by a member.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EditMessage {
    /// New text (sender only).
    pub content: Option<MessageContent>,
    /// New rating, `Some(None)` to clear it (any member).
    pub rating: Option<Option<bool>>,
    /// New metadata, replacing the old (sender only).
    pub metadata: Option<Metadata>,
    /// New mentions, replacing the old (sender only).
    pub mentions: Option<Mentions>,
}

/// The message use cases.
#[derive(Clone)]
pub struct MessageService {
    messages: Arc<dyn MessageRepository>,
    chats: Arc<dyn ChatRepository>,
    reactions: Arc<dyn ReactionRepository>,
    uploads: Arc<dyn UploadRepository>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
}

impl MessageService {
    /// Wires the service to its ports.
    pub fn new(
        messages: Arc<dyn MessageRepository>,
        chats: Arc<dyn ChatRepository>,
        reactions: Arc<dyn ReactionRepository>,
        uploads: Arc<dyn UploadRepository>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            messages,
            chats,
            reactions,
            uploads,
            events,
            clock,
        }
    }

    /// Stores a message as the next in its chat. Returns it with `true`,
    /// or, when the caller already sent a message with this `client_id` in
    /// this chat, that message unchanged with `false` (nothing stored, no
    /// event).
    ///
    /// # Errors
    /// [`MessageError::NotFound`] for a non-member; [`MessageError::Invalid`]
    /// when `reply_to` is not a message of this chat, when an attachment
    /// is not one of the caller's uploads, or when there is neither
    /// content nor an attachment.
    pub async fn send(
        &self,
        caller: UserId,
        request: SendMessage,
    ) -> Result<(Message, bool), MessageError> {
        check_not_blank(&request, "")?;
        if !request.mentions.is_empty() || request.mention_all {
            self.check_mentions(
                request.chat_id,
                caller,
                &[(request.mentions.users(), request.mention_all, String::new())],
            )
            .await?;
        }
        let thread_root_id = match request.reply_to {
            Some(reply_to) => {
                // Membership first, so a stranger learns nothing from the 422.
                self.ensure_member(request.chat_id, caller).await?;
                Some(
                    self.thread_root(request.chat_id, reply_to)
                        .await?
                        .ok_or_else(|| invalid("reply_to", "must be a message of the same chat"))?,
                )
            }
            None => None,
        };
        let attachments = if request.attachments.is_empty() {
            Vec::new()
        } else {
            self.ensure_member(request.chat_id, caller).await?;
            self.own_uploads(caller, &[(&request.attachments, String::new())])
                .await?
                .remove(0)
        };
        let now = self.clock.now();
        let new = NewMessage {
            id: MessageId::new(),
            chat_id: request.chat_id,
            sender_id: caller,
            content: request.content,
            role: request.role,
            rating: request.rating,
            client_id: request.client_id,
            reply_to: request.reply_to,
            thread_root_id,
            sent_at: request.sent_at.map_or(now, SentAt::get),
            created_at: now,
            metadata: request.metadata,
            mentions: request.mentions,
            mention_all: request.mention_all,
            attachments,
        };
        match self.messages.append(&new).await {
            Ok(Appended::Created(mut message)) => {
                self.events
                    .publish(Event::MessageCreated(message.clone()))
                    .await;
                if let Some(root_id) = message.thread_root_id {
                    self.events
                        .publish(Event::ThreadUpdated {
                            chat_id: message.chat_id,
                            root_id,
                        })
                        .await;
                }
                // Nobody has reacted to it yet.
                message.reactions = Some(Vec::new());
                Ok((message, true))
            }
            Ok(Appended::Existing(mut message)) => {
                self.read_as(caller, std::slice::from_mut(&mut message))
                    .await?;
                Ok((message, false))
            }
            Err(AppendError::NotMember) => Err(MessageError::NotFound),
            Err(AppendError::UploadGone) => Err(upload_gone("")),
            Err(AppendError::Infra(e)) => Err(e.into()),
        }
    }

    /// Stores up to [`MAX_BATCH`] messages of the caller in one chat,
    /// atomically (all or none), with contiguous seqs in their order; an
    /// item whose `client_id` the caller already used in the chat is not
    /// stored again but answered as it was. One event per new message.
    /// Answers every item's message in order, each with whether it is new.
    ///
    /// # Errors
    /// [`MessageError::Invalid`] naming `items` (none, or too many), or
    /// `items[i].client_id` (repeated within the batch), or
    /// `items[i].reply_to`; [`MessageError::NotFound`] for a non-member.
    pub async fn send_batch(
        &self,
        caller: UserId,
        chat_id: ChatId,
        items: Vec<SendMessage>,
    ) -> Result<Vec<(Message, bool)>, MessageError> {
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(invalid(
                "items",
                format!("must hold 1 to {MAX_BATCH} messages"),
            ));
        }
        for (index, item) in items.iter().enumerate() {
            check_not_blank(item, &format!("items[{index}]."))?;
        }
        let mut seen = std::collections::HashMap::new();
        for (index, item) in items.iter().enumerate() {
            if let Some(client_id) = &item.client_id
                && let Some(first) = seen.insert(client_id.as_str().to_owned(), index)
            {
                return Err(invalid(
                    format!("items[{index}].client_id"),
                    format!("repeats items[{first}].client_id"),
                ));
            }
        }
        let reply_tos: Vec<(usize, MessageId)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| item.reply_to.map(|r| (i, r)))
            .collect();
        let mentioning: Vec<(&[UserId], bool, String)> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.mentions.is_empty() || item.mention_all)
            .map(|(i, item)| {
                (
                    item.mentions.users(),
                    item.mention_all,
                    format!("items[{i}]."),
                )
            })
            .collect();
        if !mentioning.is_empty() {
            self.check_mentions(chat_id, caller, &mentioning).await?;
        }
        let mut roots = vec![None; items.len()];
        if !reply_tos.is_empty() {
            // Membership first, so a stranger learns nothing from a 422.
            self.ensure_member(chat_id, caller).await?;
            for (index, reply_to) in reply_tos {
                roots[index] =
                    Some(self.thread_root(chat_id, reply_to).await?.ok_or_else(|| {
                        invalid(
                            format!("items[{index}].reply_to"),
                            "must be a message of the same chat",
                        )
                    })?);
            }
        }
        let attaching: Vec<(&AttachmentIds, String)> = items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.attachments.is_empty())
            .map(|(i, item)| (&item.attachments, format!("items[{i}].")))
            .collect();
        let mut attachments: Vec<Vec<Upload>> = vec![Vec::new(); items.len()];
        if !attaching.is_empty() {
            self.ensure_member(chat_id, caller).await?;
            let indexes: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| !item.attachments.is_empty())
                .map(|(i, _)| i)
                .collect();
            let found = self.own_uploads(caller, &attaching).await?;
            for (index, uploads) in indexes.into_iter().zip(found) {
                attachments[index] = uploads;
            }
        }
        let now = self.clock.now();
        let batch: Vec<NewMessage> = items
            .into_iter()
            .zip(roots)
            .zip(attachments)
            .map(|((item, thread_root_id), attachments)| NewMessage {
                id: MessageId::new(),
                chat_id,
                sender_id: caller,
                content: item.content,
                role: item.role,
                rating: item.rating,
                client_id: item.client_id,
                reply_to: item.reply_to,
                thread_root_id,
                sent_at: item.sent_at.map_or(now, SentAt::get),
                created_at: now,
                metadata: item.metadata,
                mentions: item.mentions,
                mention_all: item.mention_all,
                attachments,
            })
            .collect();
        let stored = match self.messages.append_batch(&batch).await {
            Ok(stored) => stored,
            Err(AppendError::NotMember) => return Err(MessageError::NotFound),
            Err(AppendError::UploadGone) => return Err(upload_gone("items[].")),
            Err(AppendError::Infra(e)) => return Err(e.into()),
        };
        let mut answer = Vec::with_capacity(stored.len());
        let mut threads = Vec::new();
        for appended in stored {
            match appended {
                Appended::Created(mut message) => {
                    self.events
                        .publish(Event::MessageCreated(message.clone()))
                        .await;
                    if let Some(root) = message.thread_root_id
                        && !threads.contains(&root)
                    {
                        threads.push(root);
                    }
                    message.reactions = Some(Vec::new());
                    answer.push((message, true));
                }
                Appended::Existing(message) => answer.push((message, false)),
            }
        }
        for root_id in threads {
            self.events
                .publish(Event::ThreadUpdated { chat_id, root_id })
                .await;
        }
        let mut repeats: Vec<Message> = answer
            .iter()
            .filter(|(_, new)| !new)
            .map(|(m, _)| m.clone())
            .collect();
        if !repeats.is_empty() {
            self.read_as(caller, &mut repeats).await?;
            let mut repeats = repeats.into_iter();
            for (message, new) in &mut answer {
                if !*new && let Some(read) = repeats.next() {
                    *message = read;
                }
            }
        }
        Ok(answer)
    }

    /// Checks mentions for messages the caller sends to (or edits in) a
    /// chat: each `(users, all, prefix)` names its fields `{prefix}mentions`
    /// and `{prefix}mention_all`. The caller must be a member (else
    /// [`MessageError::NotFound`], before anything else is told); everyone
    /// named must be a member (one query for all); `all` only in groups,
    /// by an owner or admin.
    async fn check_mentions(
        &self,
        chat_id: ChatId,
        caller: UserId,
        items: &[(&[UserId], bool, String)],
    ) -> Result<(), MessageError> {
        let membership = self
            .chats
            .find_membership(chat_id, caller)
            .await?
            .ok_or(MessageError::NotFound)?;
        for (_, all, prefix) in items {
            if !*all {
                continue;
            }
            if membership.chat.kind != ChatKind::Group {
                return Err(invalid(
                    format!("{prefix}mention_all"),
                    "mentions everyone in group chats only",
                ));
            }
            if !membership.member.role.is_manager() {
                return Err(MessageError::Forbidden(
                    "only the group's owner or admins may mention everyone",
                ));
            }
        }
        let mut named: Vec<UserId> = items
            .iter()
            .flat_map(|(users, _, _)| users.iter().copied())
            .collect();
        named.sort_unstable();
        named.dedup();
        if named.is_empty() {
            return Ok(());
        }
        let members: std::collections::HashSet<UserId> = self
            .chats
            .members_among(chat_id, &named)
            .await?
            .into_iter()
            .collect();
        for (users, _, prefix) in items {
            let strangers: Vec<String> = users
                .iter()
                .filter(|u| !members.contains(u))
                .map(ToString::to_string)
                .collect();
            if !strangers.is_empty() {
                return Err(invalid(
                    format!("{prefix}mentions"),
                    format!(
                        "must be members of the chat; not members: {}",
                        strangers.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The root of the thread a reply to `reply_to` joins: `reply_to`
    /// itself, or its own root when it is a reply. `None` when it is not
    /// a message of `chat_id`.
    async fn thread_root(
        &self,
        chat_id: ChatId,
        reply_to: MessageId,
    ) -> Result<Option<MessageId>, MessageError> {
        Ok(self
            .messages
            .find(reply_to)
            .await?
            .filter(|target| target.chat_id == chat_id)
            .map(|target| target.thread_root_id.unwrap_or(target.id)))
    }

    /// Fills in the reactions of messages as `caller` sees them.
    async fn read_as(&self, caller: UserId, messages: &mut [Message]) -> Result<(), MessageError> {
        with_reactions(&*self.reactions, caller, messages).await
    }

    async fn ensure_member(&self, chat_id: ChatId, caller: UserId) -> Result<(), MessageError> {
        self.chats
            .find_membership(chat_id, caller)
            .await?
            .map(|_| ())
            .ok_or(MessageError::NotFound)
    }

    /// Changes a message: `content` and `metadata` by its sender only
    /// (content stamping `edited_at` when it really changes), `rating` by
    /// any member.
    ///
    /// # Errors
    /// [`MessageError::NotFound`], [`MessageError::Forbidden`] (someone
    /// else's content), [`MessageError::Deleted`], and
    /// [`MessageError::Invalid`] when nothing is to change.
    pub async fn edit_message(
        &self,
        caller: UserId,
        id: MessageId,
        edit: EditMessage,
    ) -> Result<Message, MessageError> {
        if edit.content.is_none()
            && edit.rating.is_none()
            && edit.metadata.is_none()
            && edit.mentions.is_none()
        {
            return Err(invalid(
                "body",
                "give content, rating, metadata or mentions",
            ));
        }
        let mut message = self.visible(caller, id).await?;
        if message.is_deleted() {
            return Err(MessageError::Deleted);
        }
        if (edit.content.is_some() || edit.metadata.is_some() || edit.mentions.is_some())
            && message.sender_id != caller
        {
            return Err(MessageError::Forbidden(
                "only the sender may change a message's content, metadata or mentions",
            ));
        }
        let mentions = edit.mentions.filter(|m| *m != message.mentions);
        if let Some(mentions) = &mentions {
            self.check_mentions(
                message.chat_id,
                caller,
                &[(mentions.users(), false, String::new())],
            )
            .await?;
        }
        if edit.content.as_ref().is_some_and(MessageContent::is_empty)
            && message.attachments.is_empty()
        {
            return Err(invalid("content", MessageContent::EMPTY_NEEDS_ATTACHMENTS));
        }
        let content = edit
            .content
            .filter(|c| c.as_str() != message.content)
            .map(|c| (c, self.clock.now()));
        let rating = edit.rating.filter(|r| *r != message.rating);
        let metadata = edit.metadata.filter(|m| *m != message.metadata);
        if content.is_none() && rating.is_none() && metadata.is_none() && mentions.is_none() {
            self.read_as(caller, std::slice::from_mut(&mut message))
                .await?;
            return Ok(message);
        }
        let change = MessageEdit {
            content,
            rating,
            metadata,
            mentions,
        };
        let mut updated = self
            .messages
            .edit(id, &change)
            .await?
            .ok_or(MessageError::Deleted)?;
        self.events
            .publish(Event::MessageUpdated(updated.clone()))
            .await;
        self.read_as(caller, std::slice::from_mut(&mut updated))
            .await?;
        Ok(updated)
    }

    /// Deletes a message, leaving a tombstone in its place. The sender,
    /// and the chat's owner and admins, may; deleting a tombstone again
    /// changes nothing.
    ///
    /// # Errors
    /// [`MessageError::NotFound`], [`MessageError::Forbidden`].
    pub async fn delete_message(&self, caller: UserId, id: MessageId) -> Result<(), MessageError> {
        let message = self
            .messages
            .find(id)
            .await?
            .ok_or(MessageError::NotFound)?;
        let membership = self
            .chats
            .find_membership(message.chat_id, caller)
            .await?
            .ok_or(MessageError::NotFound)?;
        if message.sender_id != caller && !membership.member.role.is_manager() {
            return Err(MessageError::Forbidden(
                "only the sender or the chat's owner or admins may delete a message",
            ));
        }
        if message.is_deleted() {
            return Ok(());
        }
        if let Some(tombstone) = self.messages.soft_delete(id, self.clock.now()).await? {
            let thread = tombstone.thread_root_id;
            self.events.publish(Event::MessageDeleted(tombstone)).await;
            if let Some(root_id) = thread {
                self.events
                    .publish(Event::ThreadUpdated {
                        chat_id: message.chat_id,
                        root_id,
                    })
                    .await;
            }
        }
        Ok(())
    }
}

mod attachments;
mod reads;

#[cfg(test)]
mod tests;
