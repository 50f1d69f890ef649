//! Sync (SPEC §4.8): a user's changes since a token, rendered from the
//! state as it is now, and the rendering shared with live delivery.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::error::InfraError;
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::Message;
use crate::paging::PageLimit;
use crate::ports::{ChangeLog, ChatRepository, MessageRepository, ReactionRepository};
use crate::reaction::Reaction;
use crate::sync::{Audience, Change, ChangeKind, SyncEvent, SyncPage, SyncToken, Synced};

/// Largest page of changes.
pub const MAX_SYNC_PAGE: u32 = 1000;
/// A page size of changes: 1–[`MAX_SYNC_PAGE`].
pub type SyncLimit = PageLimit<MAX_SYNC_PAGE>;
/// Rows of the log looked at per page, per change asked for (so a user
/// who sees little of a busy log still gets bounded requests; the
/// token moves past what was looked at).
const SCAN_PER_CHANGE: u32 = 10;
/// Fewest rows looked at per page.
const MIN_SCAN: u32 = 2000;

/// Why a sync cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The token is older than the retained changes (or is not a position
    /// of this log): reload state and start from a fresh token.
    #[error("the sync token expired")]
    Expired,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// The sync use cases.
#[derive(Clone)]
pub struct SyncService {
    log: Arc<dyn ChangeLog>,
    messages: Arc<dyn MessageRepository>,
    chats: Arc<dyn ChatRepository>,
    reactions: Arc<dyn ReactionRepository>,
}

/// What a rendering pass may skip: one event per thing per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Message(MessageId),
    Thread(MessageId),
    Pin(MessageId),
    Chat(ChatId),
}

impl SyncService {
    /// Wires the service to its ports.
    pub fn new(
        log: Arc<dyn ChangeLog>,
        messages: Arc<dyn MessageRepository>,
        chats: Arc<dyn ChatRepository>,
        reactions: Arc<dyn ReactionRepository>,
    ) -> Self {
        Self {
            log,
            messages,
            chats,
            reactions,
        }
    }

    /// The log itself (for live delivery and retention).
    pub fn log(&self) -> &Arc<dyn ChangeLog> {
        &self.log
    }

    /// The token for "now": a client that loads state after taking it and
    /// then syncs from it misses nothing.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    pub async fn now(&self) -> Result<SyncToken, InfraError> {
        self.log.now().await
    }

    /// Fails with [`SyncError::Expired`] when changes after `since` were
    /// pruned.
    ///
    /// # Errors
    /// [`SyncError`].
    pub async fn check(&self, since: SyncToken) -> Result<(), SyncError> {
        if since < self.log.floor().await? {
            return Err(SyncError::Expired);
        }
        Ok(())
    }

    /// Deletes every change recorded more than `retention` before `now`,
    /// `batch` at a time (each batch its own short transaction, so writers
    /// never wait long), and returns how many went.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails (what was pruned stays pruned).
    pub async fn prune(
        &self,
        now: time::OffsetDateTime,
        retention: time::Duration,
        batch: u32,
    ) -> Result<u64, InfraError> {
        let before = now - retention;
        let batch = batch.max(1);
        let mut pruned = 0;
        loop {
            let deleted = self.log.prune(before, batch).await?;
            pruned += deleted;
            if deleted < u64::from(batch) {
                return Ok(pruned);
            }
        }
    }

    /// Up to `limit` of `viewer`'s changes after `since`, rendered.
    ///
    /// # Errors
    /// [`SyncError::Expired`] when `since` is behind the retained log or
    /// ahead of it (not a position of this log); [`SyncError::Infra`].
    pub async fn since(
        &self,
        viewer: UserId,
        since: SyncToken,
        limit: SyncLimit,
    ) -> Result<SyncPage, SyncError> {
        let scan = limit.get().saturating_mul(SCAN_PER_CHANGE).max(MIN_SCAN);
        let page = self
            .log
            .read(since, Some(viewer), limit.get(), scan)
            .await?;
        // After the read: changes pruned before it are missing from it, and
        // the floor has moved past `since` by then.
        self.check(since).await?;
        if page.end < since {
            // The log never reached this position.
            return Err(SyncError::Expired);
        }
        let changes = self.render(&page.changes, Some(viewer), true).await?;
        Ok(SyncPage {
            changes,
            next_token: page.end,
            has_more: page.has_more,
        })
    }

    /// Renders `changes` (in log order) from the state as it is now, as
    /// `viewer` sees it (reactions' `me` is the client's to work out from
    /// `user_id`; with `None`, as any member sees it). Changes whose
    /// subject is gone (a chat deleted since) render as nothing; their
    /// deletion follows.
    ///
    /// With `compact`, one event per message, pin, thread and chat: a
    /// later change of the same thing is already in it, so it is left out.
    /// Only for a reader that takes the whole batch (a page of `GET /sync`,
    /// a replay): the merged event sits at the *first* change's position,
    /// so whoever skips positions up to some token inside the batch — a
    /// connection dropping live events it replayed — would lose the later
    /// change. Live delivery renders every change on its own.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    pub async fn render(
        &self,
        changes: &[Change],
        viewer: Option<UserId>,
        compact: bool,
    ) -> Result<Vec<Synced>, InfraError> {
        let messages = self.messages_of(changes).await?;
        let counts = self.reaction_counts(changes, viewer).await?;
        let chats = self.chats_of(changes, viewer).await?;
        let mut seen: HashSet<Key> = HashSet::new();
        let mut first = |key: Key| !compact || seen.insert(key);
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let mut push = |event: SyncEvent, audience: Audience| {
                out.push(Synced {
                    token: change.position,
                    chat_id: change.chat_id,
                    audience,
                    event,
                });
            };
            match change.kind {
                ChangeKind::MessageCreated
                | ChangeKind::MessageUpdated
                | ChangeKind::MessageDeleted => {
                    let Some(message) = change.message_id.and_then(|id| messages.get(&id)) else {
                        continue;
                    };
                    if message.chat_id != change.chat_id {
                        continue;
                    }
                    if first(Key::Message(message.id)) {
                        push(
                            message_event(change.kind, message.clone()),
                            Audience::Members,
                        );
                    }
                }
                ChangeKind::Thread => {
                    let Some(root) = change.message_id.and_then(|id| messages.get(&id)) else {
                        continue;
                    };
                    if root.chat_id == change.chat_id && first(Key::Thread(root.id)) {
                        let mut root = root.clone();
                        root.reactions = None;
                        push(SyncEvent::ThreadUpdated(root), Audience::Members);
                    }
                }
                ChangeKind::Pin => {
                    let Some(message) = change.message_id.and_then(|id| messages.get(&id)) else {
                        continue;
                    };
                    if message.chat_id == change.chat_id && first(Key::Pin(message.id)) {
                        let mut message = message.clone();
                        message.reactions = None;
                        let event = if message.pinned.is_some() {
                            SyncEvent::MessagePinned(message)
                        } else {
                            SyncEvent::MessageUnpinned(message)
                        };
                        push(event, Audience::Members);
                    }
                }
                ChangeKind::Reaction => {
                    let (Some(message_id), Some(user_id), Some(seq), Some(detail)) = (
                        change.message_id,
                        change.user_id,
                        change.seq,
                        change.detail.as_deref(),
                    ) else {
                        continue;
                    };
                    let (added, reaction) = match detail.split_at_checked(1) {
                        Some(("+", rest)) => (true, rest),
                        Some(("-", rest)) => (false, rest),
                        _ => continue,
                    };
                    let Ok(reaction) = Reaction::new(reaction.to_owned()) else {
                        continue;
                    };
                    if !messages.contains_key(&message_id) {
                        // Gone with its chat.
                        continue;
                    }
                    let count = counts
                        .get(&(message_id, reaction.as_str().to_owned()))
                        .copied()
                        .unwrap_or(0);
                    push(
                        SyncEvent::Reaction {
                            chat_id: change.chat_id,
                            message_id,
                            seq,
                            reaction,
                            user_id,
                            added,
                            count,
                        },
                        Audience::Members,
                    );
                }
                ChangeKind::Read => {
                    if let (Some(user_id), Some(seq)) = (change.user_id, change.seq) {
                        push(
                            SyncEvent::ChatRead {
                                chat_id: change.chat_id,
                                user_id,
                                last_read_seq: seq,
                            },
                            Audience::Members,
                        );
                    }
                }
                ChangeKind::MemberAdded => {
                    if let Some(user_id) = change.user_id {
                        push(
                            SyncEvent::MemberAdded {
                                chat_id: change.chat_id,
                                user_id,
                            },
                            Audience::Members,
                        );
                    }
                }
                ChangeKind::MemberRemoved => {
                    if let Some(user_id) = change.user_id {
                        push(
                            SyncEvent::MemberRemoved {
                                chat_id: change.chat_id,
                                user_id,
                            },
                            Audience::MembersAnd(user_id),
                        );
                    }
                }
                ChangeKind::ChatCreated | ChangeKind::ChatUpdated => {
                    let Some(details) = chats.get(&change.chat_id) else {
                        continue;
                    };
                    if first(Key::Chat(change.chat_id)) {
                        let event = if change.kind == ChangeKind::ChatCreated {
                            SyncEvent::ChatCreated(details.clone())
                        } else {
                            SyncEvent::ChatUpdated(details.clone())
                        };
                        push(event, Audience::Members);
                    }
                }
                ChangeKind::ChatDeleted => {
                    if let Some(user_id) = change.user_id {
                        push(
                            SyncEvent::ChatDeleted {
                                chat_id: change.chat_id,
                            },
                            Audience::User(user_id),
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    /// The messages the changes name (thread roots included), in one read.
    async fn messages_of(
        &self,
        changes: &[Change],
    ) -> Result<HashMap<MessageId, Message>, InfraError> {
        let mut ids: Vec<MessageId> = changes.iter().filter_map(|c| c.message_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .messages
            .find_many(&ids)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect())
    }

    /// How many members have each reaction the changes name, now.
    async fn reaction_counts(
        &self,
        changes: &[Change],
        viewer: Option<UserId>,
    ) -> Result<HashMap<(MessageId, String), u32>, InfraError> {
        let mut ids: Vec<MessageId> = changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Reaction)
            .filter_map(|c| c.message_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        // `me` is not used: any viewer will do.
        let viewer = viewer.unwrap_or_else(|| UserId::from_uuid(uuid::Uuid::nil()));
        let summaries = self.reactions.summaries(viewer, &ids).await?;
        Ok(summaries
            .into_iter()
            .flat_map(|(id, list)| {
                list.into_iter()
                    .map(move |s| ((id, s.reaction.as_str().to_owned()), s.count))
            })
            .collect())
    }

    /// The chats created or changed, as `viewer` (or their first member)
    /// sees them, with per-reader counts zeroed: one event for everybody.
    async fn chats_of(
        &self,
        changes: &[Change],
        viewer: Option<UserId>,
    ) -> Result<HashMap<ChatId, crate::chat::ChatDetails>, InfraError> {
        let mut ids: Vec<ChatId> = changes
            .iter()
            .filter(|c| matches!(c.kind, ChangeKind::ChatCreated | ChangeKind::ChatUpdated))
            .map(|c| c.chat_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found = HashMap::with_capacity(ids.len());
        for chat in ids {
            let looker = match viewer {
                Some(viewer) => Some(viewer),
                None => self
                    .chats
                    .list_members(chat, 1, None)
                    .await?
                    .first()
                    .map(|m| m.user_id),
            };
            let Some(looker) = looker else { continue };
            if let Some(mut details) = self.chats.details(chat, looker).await? {
                details.unread_count = 0;
                details.mention_count = 0;
                found.insert(chat, details);
            }
        }
        Ok(found)
    }
}

/// The event a message change renders as, from the message as it is now:
/// a tombstone is always `message.deleted`; new messages carry no
/// reactions (reaction events follow), changed ones leave the reader's.
fn message_event(kind: ChangeKind, mut message: Message) -> SyncEvent {
    if message.is_deleted() {
        message.reactions = Some(Vec::new());
        SyncEvent::MessageDeleted(message)
    } else if kind == ChangeKind::MessageCreated {
        message.reactions = Some(Vec::new());
        SyncEvent::MessageCreated(message)
    } else {
        message.reactions = None;
        SyncEvent::MessageUpdated(message)
    }
}

#[cfg(test)]
mod tests;
