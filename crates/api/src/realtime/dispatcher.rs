//! Turns signals into client events and delivers them to this instance's
//! connections: one task, one database read per signal (never per
//! recipient), one serialisation per event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use missive_domain::ids::{ChatId, UserId};
use missive_domain::message::{HistoryCursor, Message};
use missive_domain::ports::{ChatRepository, MessageRepository};
use missive_infra::Signal;
use time::OffsetDateTime;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::protocol::ServerEvent;
use super::registry::Registry;
use crate::routes::chats::ChatView;

/// Messages read per history query when catching up a chat.
const PAGE: u32 = 200;
/// On the first signal for a chat, messages this recent are delivered too,
/// in case signals for one chat arrived out of order (two commits whose
/// notifications crossed).
const FIRST_SIGHT_WINDOW: time::Duration = time::Duration::seconds(5);

/// Fan-out state, owned by one task (no locks).
pub struct Dispatcher {
    registry: Arc<Registry>,
    chats: Arc<dyn ChatRepository>,
    messages: Arc<dyn MessageRepository>,
    /// Highest seq delivered per chat.
    delivered: HashMap<ChatId, i64>,
    /// Members per chat, invalidated by membership signals.
    members: HashMap<ChatId, Arc<Vec<UserId>>>,
}

impl Dispatcher {
    /// A dispatcher delivering to `registry`.
    pub fn new(
        registry: Arc<Registry>,
        chats: Arc<dyn ChatRepository>,
        messages: Arc<dyn MessageRepository>,
    ) -> Self {
        Self {
            registry,
            chats,
            messages,
            delivered: HashMap::new(),
            members: HashMap::new(),
        }
    }

    /// Processes signals until `stop`. A signal whose delivery failed (the
    /// database was unreachable) leaves a resync pending, retried every
    /// second until it succeeds, so nothing is silently missed.
    pub async fn run(mut self, mut signals: broadcast::Receiver<Signal>, stop: CancellationToken) {
        let mut resync_pending = false;
        let mut retry = tokio::time::interval(Duration::from_secs(1));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = retry.tick(), if resync_pending => {
                    resync_pending = !self.handle(Signal::Resync).await;
                }
                signal = signals.recv() => match signal {
                    Ok(signal) => {
                        let seq = match signal {
                            Signal::Seq { c, s } => Some((c, s)),
                            _ => None,
                        };
                        let resync = seq.is_some() || signal == Signal::Resync;
                        if !self.handle(signal).await && resync {
                            resync_pending = true;
                            if let Some((chat, upto)) = seq {
                                // Remember the chat, so the resync covers it.
                                self.delivered.entry(chat).or_insert(upto - 1);
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "real-time dispatcher lagged; resynchronising");
                        resync_pending = !self.handle(Signal::Resync).await;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    /// Handles one signal; returns whether it succeeded. Failures are
    /// logged.
    pub async fn handle(&mut self, signal: Signal) -> bool {
        match self.try_handle(signal).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, "real-time delivery failed for a signal; will retry");
                false
            }
        }
    }

    async fn try_handle(&mut self, signal: Signal) -> Result<(), missive_domain::InfraError> {
        match signal {
            Signal::Seq { c, s } => self.deliver_messages(c, s).await,
            Signal::MessageChanged { m, d } => {
                let Some(message) = self.messages.find(m).await? else {
                    return Ok(());
                };
                let chat_id = message.chat_id;
                let message = message.into();
                let event = if d {
                    ServerEvent::MessageDeleted { message }
                } else {
                    ServerEvent::MessageUpdated { message }
                };
                self.send_to_members(chat_id, &event, None).await
            }
            Signal::ChatChanged { c, n } => {
                self.members.remove(&c);
                let members = self.members_of(c).await?;
                let Some(viewer) = members.first().copied() else {
                    return Ok(());
                };
                let Some(mut details) = self.chats.details(c, viewer).await? else {
                    return Ok(());
                };
                // One view for everybody: the count is per reader.
                details.unread_count = 0;
                let chat = ChatView::from(details);
                let event = if n {
                    ServerEvent::ChatCreated { chat }
                } else {
                    ServerEvent::ChatUpdated { chat }
                };
                self.registry.deliver(members.iter(), &event.frame(), None);
                Ok(())
            }
            Signal::ChatDeleted { c, u } => {
                self.members.remove(&c);
                self.delivered.remove(&c);
                let event = ServerEvent::ChatDeleted {
                    chat_id: c.as_uuid(),
                };
                self.registry.deliver(u.iter(), &event.frame(), None);
                Ok(())
            }
            Signal::Membership { c, u, a } => {
                self.members.remove(&c);
                let members = self.members_of(c).await?;
                let (chat_id, user_id) = (c.as_uuid(), u.as_uuid());
                let event = if a {
                    ServerEvent::MemberAdded { chat_id, user_id }
                } else {
                    ServerEvent::MemberRemoved { chat_id, user_id }
                };
                let frame = event.frame();
                self.registry.deliver(members.iter(), &frame, None);
                if !a {
                    // The removed user is told too.
                    self.registry.deliver([u].iter(), &frame, None);
                }
                Ok(())
            }
            Signal::Read { c, u, s } => {
                let event = ServerEvent::ChatRead {
                    chat_id: c.as_uuid(),
                    user_id: u.as_uuid(),
                    last_read_seq: s,
                };
                self.send_to_members(c, &event, None).await
            }
            Signal::Typing { c, u } => {
                let event = ServerEvent::Typing {
                    chat_id: c.as_uuid(),
                    user_id: u.as_uuid(),
                };
                self.send_to_members(c, &event, Some(u)).await
            }
            Signal::Resync => {
                self.members.clear();
                let chats: Vec<ChatId> = self.delivered.keys().copied().collect();
                for chat in chats {
                    self.deliver_messages(chat, i64::MAX).await?;
                }
                Ok(())
            }
        }
    }

    async fn send_to_members(
        &mut self,
        chat: ChatId,
        event: &ServerEvent,
        except: Option<UserId>,
    ) -> Result<(), missive_domain::InfraError> {
        if self.registry.is_empty() {
            return Ok(());
        }
        let members = self.members_of(chat).await?;
        self.registry
            .deliver(members.iter(), &event.frame(), except);
        Ok(())
    }

    async fn members_of(
        &mut self,
        chat: ChatId,
    ) -> Result<Arc<Vec<UserId>>, missive_domain::InfraError> {
        if let Some(members) = self.members.get(&chat) {
            return Ok(Arc::clone(members));
        }
        let members: Arc<Vec<UserId>> = Arc::new(
            self.chats
                .members(chat)
                .await?
                .into_iter()
                .map(|m| m.user_id)
                .collect(),
        );
        self.members.insert(chat, Arc::clone(&members));
        Ok(members)
    }

    /// Delivers, in seq order, every message of `chat` up to `upto` not yet
    /// delivered. Reading from the database (rather than trusting signals
    /// to arrive in order and complete) keeps per-chat order and repairs
    /// lost signals.
    async fn deliver_messages(
        &mut self,
        chat: ChatId,
        upto: i64,
    ) -> Result<(), missive_domain::InfraError> {
        let known = self.delivered.get(&chat).copied();
        if known.is_some_and(|done| done >= upto) {
            return Ok(());
        }
        if self.registry.is_empty() {
            // Nobody to tell; just remember how far the chat is.
            if upto != i64::MAX {
                self.delivered.insert(chat, known.unwrap_or(0).max(upto));
            }
            return Ok(());
        }
        let members = self.members_of(chat).await?;
        if !self.registry.any_connected(members.iter()) {
            if upto != i64::MAX {
                self.delivered.insert(chat, known.unwrap_or(0).max(upto));
            }
            return Ok(());
        }
        let mut batch: Vec<Message> = match known {
            Some(done) => {
                let page = self
                    .messages
                    .history(chat, HistoryCursor::After(done), PAGE)
                    .await?;
                let more = page.has_more;
                let mut items = page.items;
                if more {
                    let mut after = items.last().map_or(done, |m| m.seq);
                    loop {
                        let next = self
                            .messages
                            .history(chat, HistoryCursor::After(after), PAGE)
                            .await?;
                        after = next.items.last().map_or(after, |m| m.seq);
                        let more = next.has_more;
                        items.extend(next.items);
                        if !more {
                            break;
                        }
                    }
                }
                items
            }
            None => {
                // First signal for this chat on this instance.
                let page = self
                    .messages
                    .history(chat, HistoryCursor::Before(upto.saturating_add(1)), 64)
                    .await?;
                let since = OffsetDateTime::now_utc() - FIRST_SIGHT_WINDOW;
                page.items
                    .into_iter()
                    .filter(|m| m.seq == upto || m.created_at >= since)
                    .collect()
            }
        };
        batch.retain(|m| known.is_none_or(|done| m.seq > done));
        let Some(last) = batch.last().map(|m| m.seq) else {
            return Ok(());
        };
        for message in batch {
            let event = ServerEvent::MessageCreated {
                message: message.into(),
            };
            self.registry.deliver(members.iter(), &event.frame(), None);
        }
        self.delivered.insert(chat, last.max(known.unwrap_or(0)));
        Ok(())
    }
}
