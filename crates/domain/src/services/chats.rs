//! Chats and memberships: who may create, see, rename, delete, add and
//! remove; read positions.
//!
//! A user who is not a member of a chat gets [`ChatError::NotFound`] for
//! everything about it, never `Forbidden`, so ids of other people's chats
//! reveal nothing.

use std::sync::Arc;

use crate::chat::{
    Chat, ChatCursor, ChatDetails, ChatKind, ChatMember, ChatTitle, MemberCursor, MemberRole,
    Membership, ReadState,
};
use crate::error::InfraError;
use crate::event::Event;
use crate::ids::{ChatId, UserId};
use crate::metadata::Metadata;
use crate::ports::{
    AddMemberOutcome, ChatRepository, Clock, EventPublisher, InsertChatOutcome, Removal,
    RemoveMemberOutcome, UserRepository,
};

/// Plans a removal is made again after the membership changed under it.
const REMOVAL_ATTEMPTS: usize = 5;

/// Configurable limits of chats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatLimits {
    /// Most members of a group, the owner included.
    pub max_group_members: usize,
}

/// Why a chat operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// No such chat, or the caller is not a member; or (for member
    /// removal) the target is not a member.
    #[error("chat not found")]
    NotFound,
    /// The caller is a member but their role does not allow this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The operation only applies to group chats.
    #[error("this operation is only possible on group chats")]
    NotAGroup,
    /// A chat the caller cannot see already has the id they chose.
    #[error("the chat id is taken")]
    IdTaken,
    /// A request field is invalid in a way only the domain can tell
    /// (unknown user, too many members, …).
    #[error("{field}: {message}")]
    Invalid {
        /// The request field.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> ChatError {
    ChatError::Invalid {
        field,
        message: message.into(),
    }
}

/// A request to create a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateChat {
    /// Direct or group.
    pub kind: ChatKind,
    /// Required for groups, forbidden for direct chats.
    pub title: Option<ChatTitle>,
    /// The other members (the caller is added as owner anyway).
    pub member_ids: Vec<UserId>,
    /// The client's own id for the chat (a transcript store keying
    /// conversations by its ids); a fresh one when absent.
    pub id: Option<ChatId>,
    /// The chat's metadata.
    pub metadata: Metadata,
}

/// A change of a chat by its owner or an admin: either part or both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpdateChat {
    /// A new title (groups only).
    pub title: Option<ChatTitle>,
    /// New metadata, replacing the old whole.
    pub metadata: Option<Metadata>,
}

/// The chat use cases.
#[derive(Clone)]
pub struct ChatService {
    chats: Arc<dyn ChatRepository>,
    users: Arc<dyn UserRepository>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    limits: ChatLimits,
}

impl ChatService {
    /// Wires the service to its ports.
    pub fn new(
        chats: Arc<dyn ChatRepository>,
        users: Arc<dyn UserRepository>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        limits: ChatLimits,
    ) -> Self {
        Self {
            chats,
            users,
            events,
            clock,
            limits,
        }
    }

    /// Creates a chat with the caller as owner. For a direct chat that
    /// already exists between the two users, returns it with `false`.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a direct chat without exactly one other
    /// user or with a title, a group without a title or with too many
    /// members, or unknown member ids.
    pub async fn create_chat(
        &self,
        caller: UserId,
        request: CreateChat,
    ) -> Result<(ChatDetails, bool), ChatError> {
        let mut others: Vec<UserId> = Vec::with_capacity(request.member_ids.len());
        for id in request.member_ids {
            if id != caller && !others.contains(&id) {
                others.push(id);
            }
        }
        match request.kind {
            ChatKind::Direct => {
                if request.title.is_some() {
                    return Err(invalid("title", "direct chats have no title"));
                }
                if others.len() != 1 {
                    return Err(invalid(
                        "member_ids",
                        "a direct chat needs exactly one other user",
                    ));
                }
            }
            ChatKind::Group => {
                if request.title.is_none() {
                    return Err(invalid("title", "is required for group chats"));
                }
                if others.len() + 1 > self.limits.max_group_members {
                    return Err(invalid(
                        "member_ids",
                        format!(
                            "a group has at most {} members, the creator included",
                            self.limits.max_group_members
                        ),
                    ));
                }
            }
        }
        self.ensure_users_exist(&others, "member_ids").await?;

        let now = self.clock.now();
        let chat = Chat {
            id: request.id.unwrap_or_else(ChatId::new),
            kind: request.kind,
            title: request.title,
            created_by: caller,
            created_at: now,
            last_seq: 0,
            last_activity_at: now,
            metadata: request.metadata,
        };
        let member = |user_id, role| ChatMember {
            user_id,
            role,
            joined_at: now,
            last_read_seq: 0,
        };
        let mut members = vec![member(caller, MemberRole::Owner)];
        members.extend(others.iter().map(|id| member(*id, MemberRole::Member)));

        let outcome = match request.kind {
            ChatKind::Group => self.chats.insert_group(&chat, &members).await?,
            ChatKind::Direct => self.chats.insert_direct(&chat, &members).await?,
        };
        let (chat_id, created) = match outcome {
            InsertChatOutcome::Created => (chat.id, true),
            InsertChatOutcome::Existing(id) => (id, false),
            // Creating a chat with one's own id again answers the chat as
            // it is (a retry after a lost answer); anyone else's is a
            // conflict that says nothing about it.
            InsertChatOutcome::IdTaken => match self.chats.details(chat.id, caller).await? {
                Some(existing) => return Ok((existing, false)),
                None => return Err(ChatError::IdTaken),
            },
        };
        let details = self.details(chat_id, caller).await?;
        if created {
            self.events
                .publish(Event::ChatCreated(details.clone()))
                .await;
        }
        Ok((details, created))
    }

    async fn ensure_users_exist(
        &self,
        ids: &[UserId],
        field: &'static str,
    ) -> Result<(), ChatError> {
        if ids.is_empty() {
            return Ok(());
        }
        let existing = self.users.find_existing(ids).await?;
        let unknown: Vec<String> = ids
            .iter()
            .filter(|id| !existing.contains(id))
            .map(ToString::to_string)
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(invalid(
                field,
                format!("unknown user ids: {}", unknown.join(", ")),
            ))
        }
    }

    async fn details(&self, chat_id: ChatId, viewer: UserId) -> Result<ChatDetails, ChatError> {
        self.chats
            .details(chat_id, viewer)
            .await?
            .ok_or(ChatError::NotFound)
    }

    async fn membership(&self, chat_id: ChatId, caller: UserId) -> Result<Membership, ChatError> {
        self.chats
            .find_membership(chat_id, caller)
            .await?
            .ok_or(ChatError::NotFound)
    }

    /// One page of the caller's chats, most recent activity first, and the
    /// cursor of the next page (`None` on the last).
    ///
    /// # Errors
    /// [`ChatError::Invalid`] for a `limit` outside 1–100.
    pub async fn list_chats(
        &self,
        caller: UserId,
        limit: u32,
        after: Option<ChatCursor>,
    ) -> Result<(Vec<ChatDetails>, Option<ChatCursor>), ChatError> {
        if !(1..=100).contains(&limit) {
            return Err(invalid("limit", "must be between 1 and 100"));
        }
        let mut chats = self.chats.list_for_member(caller, limit + 1, after).await?;
        let next = if chats.len() > limit as usize {
            chats.truncate(limit as usize);
            chats.last().map(|c| ChatCursor {
                last_activity_at: c.chat.last_activity_at,
                chat_id: c.chat.id,
            })
        } else {
            None
        };
        Ok((chats, next))
    }

    /// A chat the caller is a member of.
    ///
    /// # Errors
    /// [`ChatError::NotFound`] for strangers and unknown ids alike.
    pub async fn get_chat(
        &self,
        caller: UserId,
        chat_id: ChatId,
    ) -> Result<ChatDetails, ChatError> {
        self.details(chat_id, caller).await
    }

    /// One page of a chat's members in joining order, and the cursor of
    /// the next page (`None` on the last).
    ///
    /// # Errors
    /// [`ChatError::NotFound`] for strangers; [`ChatError::Invalid`] for a
    /// `limit` outside 1–200.
    pub async fn list_members(
        &self,
        caller: UserId,
        chat_id: ChatId,
        limit: u32,
        after: Option<MemberCursor>,
    ) -> Result<(Vec<ChatMember>, Option<MemberCursor>), ChatError> {
        if !(1..=200).contains(&limit) {
            return Err(invalid("limit", "must be between 1 and 200"));
        }
        self.membership(chat_id, caller).await?;
        let mut members = self.chats.list_members(chat_id, limit + 1, after).await?;
        let next = if members.len() > limit as usize {
            members.truncate(limit as usize);
            members.last().map(|m| MemberCursor {
                joined_at: m.joined_at,
                user_id: m.user_id,
            })
        } else {
            None
        };
        Ok((members, next))
    }

    /// Renames a group and/or replaces a chat's metadata; owner or admin
    /// only.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], [`ChatError::Forbidden`];
    /// [`ChatError::NotAGroup`] for a title on a direct chat;
    /// [`ChatError::Invalid`] when nothing is to change.
    pub async fn update_chat(
        &self,
        caller: UserId,
        chat_id: ChatId,
        update: UpdateChat,
    ) -> Result<ChatDetails, ChatError> {
        if update.title.is_none() && update.metadata.is_none() {
            return Err(invalid("body", "give title, metadata, or both"));
        }
        let membership = self.membership(chat_id, caller).await?;
        if update.title.is_some() && membership.chat.kind != ChatKind::Group {
            return Err(ChatError::NotAGroup);
        }
        if !membership.member.role.is_manager() {
            return Err(ChatError::Forbidden(
                "only the owner or an admin may change a chat",
            ));
        }
        self.chats
            .update(chat_id, update.title.as_ref(), update.metadata.as_ref())
            .await?;
        let details = self.details(chat_id, caller).await?;
        self.events
            .publish(Event::ChatUpdated(details.clone()))
            .await;
        Ok(details)
    }

    /// Deletes a chat and its messages; owner only.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], [`ChatError::Forbidden`].
    pub async fn delete_chat(&self, caller: UserId, chat_id: ChatId) -> Result<(), ChatError> {
        let membership = self.membership(chat_id, caller).await?;
        if membership.member.role != MemberRole::Owner {
            return Err(ChatError::Forbidden("only the owner may delete a chat"));
        }
        let member_ids = self
            .chats
            .members(chat_id)
            .await?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        self.chats.delete(chat_id).await?;
        self.events
            .publish(Event::ChatDeleted {
                chat_id,
                member_ids,
            })
            .await;
        Ok(())
    }

    /// Adds a user to a group (owner or admin), as `member` or `admin`,
    /// with the chat read up to its last message. Adding an existing
    /// member changes nothing.
    ///
    /// # Errors
    /// [`ChatError::NotFound`], [`ChatError::NotAGroup`],
    /// [`ChatError::Forbidden`]; [`ChatError::Invalid`] for the `owner`
    /// role, an unknown user, or a full group.
    pub async fn add_member(
        &self,
        caller: UserId,
        chat_id: ChatId,
        user_id: UserId,
        role: MemberRole,
    ) -> Result<ChatDetails, ChatError> {
        let membership = self.membership(chat_id, caller).await?;
        if membership.chat.kind != ChatKind::Group {
            return Err(ChatError::NotAGroup);
        }
        if !membership.member.role.is_manager() {
            return Err(ChatError::Forbidden(
                "only the owner or an admin may add members",
            ));
        }
        if role == MemberRole::Owner {
            return Err(invalid(
                "role",
                "a member can be added as admin or member, not owner",
            ));
        }
        self.ensure_users_exist(&[user_id], "user_id").await?;
        // A newcomer starts with the chat read: the history is theirs to
        // page through, but only what is said after they joined is unread
        // (as in Slack or Matrix).
        let member = ChatMember {
            user_id,
            role,
            joined_at: self.clock.now(),
            last_read_seq: membership.chat.last_seq,
        };
        match self
            .chats
            .add_member(chat_id, &member, self.limits.max_group_members)
            .await?
        {
            AddMemberOutcome::Added => {
                self.events
                    .publish(Event::MemberAdded { chat_id, user_id })
                    .await;
            }
            AddMemberOutcome::AlreadyMember => {}
            AddMemberOutcome::Full => {
                return Err(invalid(
                    "user_id",
                    format!(
                        "the group already has the maximum of {} members",
                        self.limits.max_group_members
                    ),
                ));
            }
        }
        self.details(chat_id, caller).await
    }

    /// Removes `user_id` from a group. Anyone may remove themself (leave);
    /// the owner and admins may remove others, except the owner. When the
    /// owner leaves, the longest-standing admin (else member) becomes
    /// owner; when the last member leaves, the chat is deleted. The plan
    /// is made from the members as read and carried out only if it still
    /// holds (see [`ChatRepository::remove_member`]); otherwise it is made
    /// again, so members leaving at the same time never leave a group
    /// without an owner.
    ///
    /// # Errors
    /// [`ChatError::NotFound`] (also when the target is not a member),
    /// [`ChatError::NotAGroup`], [`ChatError::Forbidden`];
    /// [`InfraError::Unavailable`] when the membership kept changing under
    /// every attempt.
    pub async fn remove_member(
        &self,
        caller: UserId,
        chat_id: ChatId,
        user_id: UserId,
    ) -> Result<(), ChatError> {
        let membership = self.membership(chat_id, caller).await?;
        if membership.chat.kind != ChatKind::Group {
            return Err(ChatError::NotAGroup);
        }
        for _ in 0..REMOVAL_ATTEMPTS {
            let members = self.chats.members(chat_id).await?;
            let caller_role = members
                .iter()
                .find(|m| m.user_id == caller)
                .ok_or(ChatError::NotFound)?
                .role;
            let target = members
                .iter()
                .find(|m| m.user_id == user_id)
                .ok_or(ChatError::NotFound)?;
            let mut new_owner = None;
            if user_id == caller {
                if target.role == MemberRole::Owner {
                    let successor = members
                        .iter()
                        .filter(|m| m.user_id != caller)
                        .min_by_key(|m| (m.role != MemberRole::Admin, m.joined_at));
                    match successor {
                        Some(successor) => new_owner = Some(successor.user_id),
                        None => return self.delete_chat(caller, chat_id).await,
                    }
                }
            } else {
                let allowed = match caller_role {
                    MemberRole::Owner => true,
                    MemberRole::Admin => target.role != MemberRole::Owner,
                    MemberRole::Member => false,
                };
                if !allowed {
                    return Err(ChatError::Forbidden(
                        "owners and admins remove others (nobody removes the owner); anyone may leave",
                    ));
                }
            }
            let removal = Removal {
                user_id,
                role: target.role,
                new_owner,
            };
            match self.chats.remove_member(chat_id, &removal).await? {
                RemoveMemberOutcome::Removed => {
                    self.events
                        .publish(Event::MemberRemoved { chat_id, user_id })
                        .await;
                    return Ok(());
                }
                RemoveMemberOutcome::NotMember => return Ok(()),
                RemoveMemberOutcome::Stale => {}
            }
        }
        Err(ChatError::Infra(InfraError::Unavailable(
            "the chat's membership kept changing; retry".into(),
        )))
    }

    /// Tells the other members that the caller is typing, if `throttle`
    /// allows it. Nothing is stored. Membership is checked first, so a
    /// stranger's notices cost no throttle state and learn nothing; the
    /// throttle (the gateway's per-user-and-chat rate limit) is asked only
    /// for a member. Returns whether the notice went out.
    ///
    /// # Errors
    /// [`ChatError::NotFound`] for a non-member.
    pub async fn typing(
        &self,
        caller: UserId,
        chat_id: ChatId,
        throttle: impl FnOnce() -> bool + Send,
    ) -> Result<bool, ChatError> {
        self.membership(chat_id, caller).await?;
        if !throttle() {
            return Ok(false);
        }
        self.events
            .publish(Event::Typing {
                chat_id,
                user_id: caller,
            })
            .await;
        Ok(true)
    }

    /// Moves the caller's read position forward to `seq` (clamped to the
    /// chat's `last_seq`; never backwards).
    ///
    /// # Errors
    /// [`ChatError::NotFound`]; [`ChatError::Invalid`] for a negative seq.
    pub async fn mark_read(
        &self,
        caller: UserId,
        chat_id: ChatId,
        seq: i64,
    ) -> Result<ReadState, ChatError> {
        if seq < 0 {
            return Err(invalid("seq", "must not be negative"));
        }
        let (state, moved) = self
            .chats
            .mark_read(chat_id, caller, seq)
            .await?
            .ok_or(ChatError::NotFound)?;
        if moved {
            self.events
                .publish(Event::ChatRead {
                    chat_id,
                    user_id: caller,
                    last_read_seq: state.last_read_seq,
                })
                .await;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests;
