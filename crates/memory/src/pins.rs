//! [`PinRepository`] in memory: a pin is part of its message.

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::Message;
use missive_domain::pin::{MAX_PER_CHAT, Pin, Pinned};
use missive_domain::ports::PinRepository;
use missive_domain::sync::ChangeKind;
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::state::micros;

/// [`PinRepository`] over a [`MemoryStore`]: the count of a chat's pins
/// and the new pin are decided in one step, so
/// [`MAX_PER_CHAT`] holds under any concurrency.
#[derive(Debug, Clone)]
pub struct MemoryPinRepository {
    store: MemoryStore,
}

impl MemoryPinRepository {
    /// The repository over `store` (see [`MemoryStore::pins`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl PinRepository for MemoryPinRepository {
    async fn pin(
        &self,
        chat_id: ChatId,
        message_id: MessageId,
        by: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<Pinned>, InfraError> {
        self.store.with(|state| {
            let pins = state.chats.get(&chat_id)?.pins.len();
            let row = state.messages.get_mut(&message_id)?;
            if row.message.chat_id != chat_id {
                return None;
            }
            if row.message.is_deleted() {
                return Some(Pinned::Deleted);
            }
            if row.message.pinned.is_some() {
                return Some(Pinned::AlreadyPinned(row.view()));
            }
            if pins >= MAX_PER_CHAT {
                return Some(Pinned::TooMany);
            }
            row.message.pinned = Some(Pin { by, at: micros(at) });
            if let Some(chat) = state.chats.get_mut(&chat_id) {
                chat.pins.insert(message_id);
            }
            state.record_about_message(ChangeKind::Pin, message_id, None, None);
            state.view(message_id).map(Pinned::Pinned)
        })
    }

    async fn unpin(
        &self,
        chat_id: ChatId,
        message_id: MessageId,
    ) -> Result<Option<Message>, InfraError> {
        self.store.with(|state| {
            let row = state.messages.get_mut(&message_id)?;
            if row.message.chat_id != chat_id || row.message.pinned.is_none() {
                return None;
            }
            row.message.pinned = None;
            if let Some(chat) = state.chats.get_mut(&chat_id) {
                chat.pins.remove(&message_id);
            }
            state.record_about_message(ChangeKind::Pin, message_id, None, None);
            state.view(message_id)
        })
    }

    async fn pinned(&self, chat_id: ChatId) -> Result<Vec<Message>, InfraError> {
        self.store.with(|state| {
            let Some(chat) = state.chats.get(&chat_id) else {
                return Vec::new();
            };
            let mut pinned: Vec<Message> =
                chat.pins.iter().filter_map(|id| state.view(*id)).collect();
            // Newest pin first, then the newest message.
            pinned.sort_by(|a, b| {
                let key = |m: &Message| (m.pinned.map(|p| p.at), m.seq);
                key(b).cmp(&key(a))
            });
            pinned.truncate(MAX_PER_CHAT);
            pinned
        })
    }
}
