//! [`MessageRepository`] in memory.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{HistoryCursor, Message, MessageFilter, MessagePage, NewMessage};
use missive_domain::metadata::Metadata;
use missive_domain::ports::{AppendError, Appended, MessageEdit, MessageRepository};
use missive_domain::sync::ChangeKind;
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::state::{State, micros};
use crate::{append, listing};

/// [`MessageRepository`] over a [`MemoryStore`]. Appends to a chat are
/// serialised by the store's lock, so seqs are gap-free and a repeated
/// client id stores nothing, whatever the concurrency.
#[derive(Debug, Clone)]
pub struct MemoryMessageRepository {
    store: MemoryStore,
}

impl MemoryMessageRepository {
    /// The repository over `store` (see [`MemoryStore::messages`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

/// A page of `seqs` (a chat's messages, or a thread's replies, by seq),
/// items in ascending seq: a range of the index, so a page costs
/// O(log n + limit) wherever it is.
fn page(
    state: &State,
    seqs: &BTreeMap<i64, MessageId>,
    cursor: HistoryCursor,
    bound: Option<i64>,
    limit: u32,
) -> MessagePage {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let take = limit.saturating_add(1);
    let mut ids: Vec<MessageId> = match cursor {
        // `Excluded`, not `n + 1`: a seq may be `i64::MAX`.
        HistoryCursor::After(n) => seqs
            .range((Excluded(n.get()), Unbounded))
            .take(take)
            .map(|(_, id)| *id)
            .collect(),
        HistoryCursor::Latest | HistoryCursor::Before(_) | HistoryCursor::Offset(_) => {
            let range = match bound {
                Some(bound) => seqs.range(..bound),
                None => seqs.range(..),
            };
            range.rev().take(take).map(|(_, id)| *id).collect()
        }
    };
    let has_more = ids.len() > limit;
    ids.truncate(limit);
    if !matches!(cursor, HistoryCursor::After(_)) {
        ids.reverse();
    }
    MessagePage {
        items: ids.into_iter().filter_map(|id| state.view(id)).collect(),
        has_more,
    }
}

/// An empty page.
fn no_page() -> MessagePage {
    MessagePage {
        items: Vec::new(),
        has_more: false,
    }
}

/// A page of a chat's history (empty for an unknown chat).
fn chat_page(state: &State, chat_id: ChatId, cursor: HistoryCursor, limit: u32) -> MessagePage {
    let Some(chat) = state.chats.get(&chat_id) else {
        return no_page();
    };
    let bound = match cursor {
        HistoryCursor::Latest | HistoryCursor::After(_) => None,
        HistoryCursor::Before(n) => Some(n.get()),
        // Gap-free seqs: skipping the n newest positions is reading
        // before last_seq + 1 - n (no bound when that is past i64::MAX).
        HistoryCursor::Offset(n) => (chat.chat.last_seq - n.get()).checked_add(1),
    };
    page(state, &chat.seqs, cursor, bound, limit)
}

#[async_trait]
impl MessageRepository for MemoryMessageRepository {
    async fn append(&self, message: &NewMessage) -> Result<Appended, AppendError> {
        self.store.with(|state| append::append(state, message))?
    }

    async fn append_batch(&self, messages: &[NewMessage]) -> Result<Vec<Appended>, AppendError> {
        self.store
            .with(|state| append::append_batch(state, messages))?
    }

    async fn find(&self, id: MessageId) -> Result<Option<Message>, InfraError> {
        self.store.with(|state| state.view(id))
    }

    async fn find_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, InfraError> {
        self.store.with(|state| {
            let mut seen = std::collections::HashSet::new();
            ids.iter()
                .filter(|id| seen.insert(**id))
                .filter_map(|id| state.view(*id))
                .collect()
        })
    }

    async fn history(
        &self,
        chat_id: ChatId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<MessagePage, InfraError> {
        self.store
            .with(|state| chat_page(state, chat_id, cursor, limit))
    }

    async fn member_history(
        &self,
        viewer: UserId,
        chat_id: ChatId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<Option<MessagePage>, InfraError> {
        self.store.with(|state| {
            state
                .is_member(chat_id, viewer)
                .then(|| chat_page(state, chat_id, cursor, limit))
        })
    }

    async fn replies(
        &self,
        root: MessageId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<MessagePage, InfraError> {
        let bound = match cursor {
            HistoryCursor::Offset(_) => {
                return Err(InfraError::unexpected("threads are not paged by offset"));
            }
            HistoryCursor::Before(n) => Some(n.get()),
            HistoryCursor::Latest | HistoryCursor::After(_) => None,
        };
        self.store.with(|state| match state.replies.get(&root) {
            Some(replies) => page(state, replies, cursor, bound, limit),
            None => no_page(),
        })
    }

    async fn mentions_of(
        &self,
        viewer: UserId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, InfraError> {
        self.store.with(|state| {
            let Some(rows) = state.mentions.get(&viewer) else {
                return Vec::new();
            };
            let range = match before {
                Some(before) => rows.range(..before),
                None => rows.range(..),
            };
            range
                .rev()
                .filter(|(_, (chat, _))| state.is_member(*chat, viewer))
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .filter_map(|(id, _)| state.view(*id))
                .collect()
        })
    }

    async fn edit(&self, id: MessageId, edit: &MessageEdit) -> Result<Option<Message>, InfraError> {
        self.store.with(|state| {
            let row = state.messages.get_mut(&id)?;
            if row.message.is_deleted() {
                return None;
            }
            let message = &mut row.message;
            if let Some((content, at)) = &edit.content {
                message.content = content.as_str().to_owned();
                message.edited_at = Some(micros(*at));
            }
            if let Some(rating) = edit.rating {
                message.rating = rating;
            }
            if let Some(metadata) = &edit.metadata {
                message.metadata = metadata.clone();
            }
            if let Some(mentions) = &edit.mentions {
                message.mentions = mentions.clone();
                let (chat, sender, all) = (message.chat_id, message.sender_id, message.mention_all);
                let notified = state.notified(chat, sender, mentions.users(), all);
                state.set_mention_rows(id, notified);
            }
            state.record_about_message(ChangeKind::MessageUpdated, id, None, None);
            state.view(id)
        })
    }

    async fn soft_delete(
        &self,
        id: MessageId,
        at: OffsetDateTime,
    ) -> Result<Option<Message>, InfraError> {
        self.store.with(|state| {
            let row = state.messages.get(&id)?;
            if row.message.is_deleted() {
                return None;
            }
            let (chat_id, root) = (row.message.chat_id, row.message.thread_root_id);
            state.drop_mention_rows(id);
            state.drop_references(id);
            if let Some(chat) = state.chats.get_mut(&chat_id) {
                chat.pins.remove(&id);
            }
            let row = state.messages.get_mut(&id)?;
            // A tombstone keeps its position only: no text, no metadata,
            // no pin, no reactions, no attachments.
            row.reactions.clear();
            let message = &mut row.message;
            message.content = String::new();
            message.metadata = Metadata::default();
            message.pinned = None;
            message.attachments = Vec::new();
            message.deleted_at = Some(micros(at));
            if let Some(root) = root {
                state.recount_thread(root);
            }
            state.record_about_message(ChangeKind::MessageDeleted, id, None, None);
            state.view(id)
        })
    }

    async fn list(
        &self,
        viewer: UserId,
        filter: &MessageFilter,
        limit: u32,
    ) -> Result<Vec<Message>, InfraError> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        self.store
            .with(|state| listing::newest(state, viewer, filter, limit))
    }
}
