//! Turns signals into client events and delivers them to this instance's
//! connections: one task, one database read per signal (never per
//! recipient), one serialisation per event.
//!
//! **Removal is final.** Members are cached per chat together with the
//! chat's membership version. Before a batch of signals is handled, one
//! query reads the current versions of the cached chats it touches, and
//! any whose version moved is reloaded. Because that query runs after the
//! signals arrived, and every signal is sent after its change committed,
//! an event caused after a member's removal is never delivered with a
//! member list from before it — whether the removal's own signal was lost,
//! delayed, or overtaken by another instance's.
//!
//! **Signals are hints, not facts.** Anything that can `NOTIFY` can forge
//! one, so each is checked against the database: a seq is never trusted
//! as "delivered up to" (messages are read and the real seqs kept), a
//! typing, read or reaction notice must come from a member, a reaction,
//! pin, membership change or deletion must match the state as it is.
//!
//! **Bounded.** Chats none of whose members is connected here are
//! forgotten every [`SWEEP_EVERY`], and at once when nobody is connected.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use missive_domain::ids::{ChatId, UserId};
use missive_domain::message::{HistoryCursor, Message};
use missive_domain::paging::Seq;
use missive_domain::ports::{ChatRepository, Clock, MessageRepository, ReactionRepository};
use missive_domain::reaction::Reaction;
use missive_infra::Signal;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::protocol::ServerEvent;
use super::registry::Registry;
use crate::views::ChatView;

/// Messages read per history query when catching up a chat.
const PAGE: u32 = 200;
/// On the first signal for a chat, messages this recent are delivered too,
/// in case signals for one chat arrived out of order (two commits whose
/// notifications crossed).
const FIRST_SIGHT_WINDOW: time::Duration = time::Duration::seconds(5);
/// Most signals handled as one batch (one version query).
const MAX_BATCH: usize = 1024;
/// How often chats without a connected member are forgotten.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Most chats remembered as "first signal failed, retry" during an outage.
const MAX_UNSEEN: usize = 10_000;

/// Members of a chat as of a membership version, and the chat's last seq
/// when that was last checked (after the signals being handled arrived).
struct Members {
    version: i64,
    last_seq: i64,
    users: Arc<Vec<UserId>>,
}

/// Fan-out state, owned by one task (no locks).
pub struct Dispatcher {
    registry: Arc<Registry>,
    chats: Arc<dyn ChatRepository>,
    messages: Arc<dyn MessageRepository>,
    reactions: Arc<dyn ReactionRepository>,
    /// What "the last moments" of a first sight are measured from.
    clock: Arc<dyn Clock>,
    /// Highest seq delivered per chat.
    delivered: HashMap<ChatId, i64>,
    /// Chats whose first signal here could not be handled (the database
    /// was unreachable), with the seq it named: the resync delivers them.
    unseen: HashMap<ChatId, i64>,
    /// Members per chat, checked against the chat's membership version
    /// before every batch.
    members: HashMap<ChatId, Members>,
}

impl Dispatcher {
    /// A dispatcher delivering to `registry`.
    pub fn new(
        registry: Arc<Registry>,
        chats: Arc<dyn ChatRepository>,
        messages: Arc<dyn MessageRepository>,
        reactions: Arc<dyn ReactionRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            registry,
            chats,
            messages,
            reactions,
            clock,
            delivered: HashMap::new(),
            unseen: HashMap::new(),
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
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = retry.tick(), if resync_pending => {
                    resync_pending = !self.handle(Signal::Resync).await;
                }
                _ = sweep.tick() => self.forget_idle_chats(),
                signal = signals.recv() => match signal {
                    Ok(first) => {
                        let mut batch = vec![first];
                        let mut closed = false;
                        while batch.len() < MAX_BATCH {
                            match signals.try_recv() {
                                Ok(signal) => batch.push(signal),
                                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                                    tracing::warn!(missed, "real-time dispatcher lagged; resynchronising");
                                    batch.push(Signal::Resync);
                                }
                                Err(broadcast::error::TryRecvError::Closed) => {
                                    closed = true;
                                    break;
                                }
                                Err(broadcast::error::TryRecvError::Empty) => break,
                            }
                        }
                        if !self.process(batch).await {
                            resync_pending = true;
                        }
                        if closed {
                            return;
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

    /// Handles a batch of signals in order; returns `false` when a resync
    /// is needed (a delivery failed).
    pub async fn process(&mut self, batch: Vec<Signal>) -> bool {
        if self.registry.is_empty() {
            // Nobody to tell here; whoever connects next catches up by
            // `after_seq`. Remember nothing, so nothing grows.
            self.delivered.clear();
            self.unseen.clear();
            self.members.clear();
            return true;
        }
        self.check_member_versions(&batch).await;
        let mut ok = true;
        for signal in batch {
            let first_sight = match signal {
                Signal::Seq { chat_id, seq } if !self.delivered.contains_key(&chat_id) => {
                    Some((chat_id, seq))
                }
                _ => None,
            };
            let must_succeed = matches!(signal, Signal::Seq { .. } | Signal::Resync);
            if !self.handle(signal).await && must_succeed {
                ok = false;
                if let Some((chat, upto)) = first_sight
                    && self.unseen.len() < MAX_UNSEEN
                {
                    self.unseen.insert(chat, upto);
                }
            }
        }
        ok
    }

    /// Drops the cached members of every chat in `batch` whose membership
    /// version moved (or that is gone), with one query. When the versions
    /// cannot be read, the cached members of those chats are dropped too:
    /// an unverifiable list is never used.
    async fn check_member_versions(&mut self, batch: &[Signal]) {
        let mut cached: Vec<ChatId> = batch
            .iter()
            .filter_map(signal_chat)
            .filter(|chat| self.members.contains_key(chat))
            .collect();
        cached.sort_unstable();
        cached.dedup();
        if cached.is_empty() {
            return;
        }
        match self.chats.chat_versions(&cached).await {
            Ok(current) => {
                let current: HashMap<ChatId, _> =
                    current.into_iter().map(|v| (v.chat_id, v)).collect();
                for chat in cached {
                    let now = current.get(&chat);
                    match (self.members.get_mut(&chat), now) {
                        (Some(known), Some(now)) if known.version == now.member_version => {
                            known.last_seq = now.last_seq;
                        }
                        _ => {
                            self.members.remove(&chat);
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot check membership versions; reloading members");
                for chat in cached {
                    self.members.remove(&chat);
                }
            }
        }
    }

    /// Forgets chats none of whose members is connected here.
    fn forget_idle_chats(&mut self) {
        let registry = &self.registry;
        self.members
            .retain(|_, members| registry.any_connected(members.users.iter()));
        let members = &self.members;
        self.delivered.retain(|chat, _| members.contains_key(chat));
        self.members.shrink_to_fit();
        self.delivered.shrink_to_fit();
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
            Signal::Seq { chat_id, seq } => self.deliver_messages(chat_id, seq).await,
            Signal::MessageChanged {
                chat_id,
                message_id,
                deleted,
            } => {
                let Some(message) = self.messages.find(message_id).await? else {
                    return Ok(());
                };
                if deleted != message.is_deleted() || message.chat_id != chat_id {
                    // Not what the signal claims (forged, or overtaken by a
                    // later change whose own signal follows).
                    return Ok(());
                }
                let mut message = message;
                // A tombstone has none; an edit keeps the reader's (a
                // per-reader field is never in a shared frame).
                message.reactions = deleted.then(Vec::new);
                let message = message.into();
                let event = if deleted {
                    ServerEvent::MessageDeleted { message }
                } else {
                    ServerEvent::MessageUpdated { message }
                };
                self.send_to_members(chat_id, &event, None).await
            }
            Signal::Reaction {
                chat_id,
                message_id,
                reaction,
                user_id,
                added,
            } => {
                let Ok(reaction) = Reaction::new(reaction) else {
                    return Ok(());
                };
                let Some(message) = self.messages.find(message_id).await? else {
                    return Ok(());
                };
                if message.chat_id != chat_id
                    || self.reactions.has(message_id, user_id, &reaction).await? != added
                {
                    // Not how things are (forged, or overtaken by a later
                    // change whose own signal follows).
                    return Ok(());
                }
                let (chat, message_uuid, user) =
                    (chat_id.as_uuid(), message_id.as_uuid(), user_id.as_uuid());
                let reaction = reaction.as_str().to_owned();
                let seq = message.seq;
                let event = if added {
                    ServerEvent::ReactionAdded {
                        chat_id: chat,
                        message_id: message_uuid,
                        seq,
                        reaction,
                        user_id: user,
                    }
                } else {
                    ServerEvent::ReactionRemoved {
                        chat_id: chat,
                        message_id: message_uuid,
                        seq,
                        reaction,
                        user_id: user,
                    }
                };
                self.send_from_member(chat_id, user_id, &event, None).await
            }
            Signal::Thread { chat_id, root_id } => {
                let Some(root) = self.messages.find(root_id).await? else {
                    return Ok(());
                };
                if root.chat_id != chat_id {
                    return Ok(());
                }
                // The summary as it is now: a forged signal only repeats
                // the truth.
                let event = ServerEvent::ThreadUpdated {
                    chat_id: chat_id.as_uuid(),
                    root_id: root_id.as_uuid(),
                    thread: root.thread.map(Into::into),
                };
                self.send_to_members(chat_id, &event, None).await
            }
            Signal::Pin {
                chat_id,
                message_id,
                pinned,
            } => {
                let Some(message) = self.messages.find(message_id).await? else {
                    return Ok(());
                };
                if message.chat_id != chat_id || message.pinned.is_some() != pinned {
                    return Ok(());
                }
                let mut message = message;
                message.reactions = None;
                let message = message.into();
                let event = if pinned {
                    ServerEvent::MessagePinned { message }
                } else {
                    ServerEvent::MessageUnpinned { message }
                };
                self.send_to_members(chat_id, &event, None).await
            }
            Signal::ChatChanged { chat_id, created } => {
                self.members.remove(&chat_id);
                let Some(members) = self.members_of(chat_id).await? else {
                    return Ok(());
                };
                let Some(viewer) = members.first().copied() else {
                    return Ok(());
                };
                let Some(mut details) = self.chats.details(chat_id, viewer).await? else {
                    return Ok(());
                };
                // One view for everybody: the count is per reader.
                details.unread_count = 0;
                details.mention_count = 0;
                let chat = ChatView::from(details);
                let event = if created {
                    ServerEvent::ChatCreated { chat }
                } else {
                    ServerEvent::ChatUpdated { chat }
                };
                self.registry.deliver(members.iter(), &event.frame(), None);
                Ok(())
            }
            Signal::ChatDeleted { chat_id, members } => {
                self.members.remove(&chat_id);
                self.delivered.remove(&chat_id);
                if !self.chats.chat_versions(&[chat_id]).await?.is_empty() {
                    // The chat exists: a forged or mistaken signal.
                    return Ok(());
                }
                let event = ServerEvent::ChatDeleted {
                    chat_id: chat_id.as_uuid(),
                };
                self.registry.deliver(members.iter(), &event.frame(), None);
                Ok(())
            }
            Signal::Membership {
                chat_id,
                user_id,
                added,
            } => {
                self.members.remove(&chat_id);
                let members = self.members_of(chat_id).await?.unwrap_or_default();
                if members.contains(&user_id) != added {
                    // Not how things are (forged, or overtaken by a later
                    // change whose own signal follows): nothing to tell.
                    return Ok(());
                }
                let (chat, user) = (chat_id.as_uuid(), user_id.as_uuid());
                let event = if added {
                    ServerEvent::MemberAdded {
                        chat_id: chat,
                        user_id: user,
                    }
                } else {
                    ServerEvent::MemberRemoved {
                        chat_id: chat,
                        user_id: user,
                    }
                };
                let frame = event.frame();
                self.registry.deliver(members.iter(), &frame, None);
                if !added {
                    // The removed user is told too.
                    self.registry.deliver([user_id].iter(), &frame, None);
                }
                Ok(())
            }
            Signal::Read {
                chat_id,
                user_id,
                seq,
            } => {
                let event = ServerEvent::ChatRead {
                    chat_id: chat_id.as_uuid(),
                    user_id: user_id.as_uuid(),
                    last_read_seq: seq,
                };
                self.send_from_member(chat_id, user_id, &event, None).await
            }
            Signal::Typing { chat_id, user_id } => {
                let event = ServerEvent::Typing {
                    chat_id: chat_id.as_uuid(),
                    user_id: user_id.as_uuid(),
                };
                self.send_from_member(chat_id, user_id, &event, Some(user_id))
                    .await
            }
            Signal::Resync => {
                self.members.clear();
                let chats: Vec<ChatId> = self.delivered.keys().copied().collect();
                for chat in chats {
                    self.deliver_messages(chat, i64::MAX).await?;
                }
                let unseen: Vec<(ChatId, i64)> = self.unseen.drain().collect();
                for (index, (chat, upto)) in unseen.iter().enumerate() {
                    if let Err(error) = self.deliver_messages(*chat, *upto).await {
                        self.unseen.extend(unseen[index..].iter().copied());
                        return Err(error);
                    }
                }
                Ok(())
            }
        }
    }

    /// Delivers `event` to the members of `chat` if `from` is one of them.
    async fn send_from_member(
        &mut self,
        chat: ChatId,
        from: UserId,
        event: &ServerEvent,
        except: Option<UserId>,
    ) -> Result<(), missive_domain::InfraError> {
        let Some(members) = self.members_of(chat).await? else {
            return Ok(());
        };
        if members.contains(&from) {
            self.registry
                .deliver(members.iter(), &event.frame(), except);
        }
        Ok(())
    }

    async fn send_to_members(
        &mut self,
        chat: ChatId,
        event: &ServerEvent,
        except: Option<UserId>,
    ) -> Result<(), missive_domain::InfraError> {
        let Some(members) = self.members_of(chat).await? else {
            return Ok(());
        };
        self.registry
            .deliver(members.iter(), &event.frame(), except);
        Ok(())
    }

    /// The members of `chat`, `None` when it does not exist.
    async fn members_of(
        &mut self,
        chat: ChatId,
    ) -> Result<Option<Arc<Vec<UserId>>>, missive_domain::InfraError> {
        if let Some(members) = self.members.get(&chat) {
            return Ok(Some(Arc::clone(&members.users)));
        }
        let Some(snapshot) = self.chats.member_snapshot(chat).await? else {
            return Ok(None);
        };
        let users: Arc<Vec<UserId>> =
            Arc::new(snapshot.members.into_iter().map(|m| m.user_id).collect());
        self.members.insert(
            chat,
            Members {
                version: snapshot.version.member_version,
                last_seq: snapshot.version.last_seq,
                users: Arc::clone(&users),
            },
        );
        Ok(Some(users))
    }

    /// Delivers, in seq order, every message of `chat` up to `upto` not yet
    /// delivered. Reading from the database (rather than trusting signals
    /// to arrive in order and complete) keeps per-chat order and repairs
    /// lost signals; only seqs of messages actually read are remembered,
    /// so a signal naming a seq beyond the chat's end cannot hold back
    /// later deliveries.
    async fn deliver_messages(
        &mut self,
        chat: ChatId,
        upto: i64,
    ) -> Result<(), missive_domain::InfraError> {
        let known = self.delivered.get(&chat).copied();
        if known.is_some_and(|done| done >= upto) {
            return Ok(());
        }
        let Some(members) = self.members_of(chat).await? else {
            self.delivered.remove(&chat);
            return Ok(());
        };
        if !self.registry.any_connected(members.iter()) {
            // Nobody to tell here: remember how far the chat is, but never
            // beyond its real last seq as read after this signal arrived
            // (a signal naming a seq beyond it must not hold back later
            // deliveries).
            let real = self.members.get(&chat).map_or(0, |m| m.last_seq);
            if upto != i64::MAX {
                let reached = upto.min(real).max(known.unwrap_or(0));
                self.delivered.insert(chat, reached);
            }
            return Ok(());
        }
        let mut batch: Vec<Message> = match known {
            Some(done) => {
                let mut items = Vec::new();
                let mut after = done;
                loop {
                    let page = self
                        .messages
                        .history(chat, HistoryCursor::After(Seq::clamped(after)), PAGE)
                        .await?;
                    after = page.items.last().map_or(after, |m| m.seq);
                    let more = page.has_more && after < upto;
                    items.extend(page.items);
                    if !more {
                        break;
                    }
                }
                items
            }
            None => {
                // First signal for this chat on this instance: everything
                // stored in the last moments, page by page back (a batch
                // import arrives as one signal for its last seq).
                let since = self.clock.now() - FIRST_SIGHT_WINDOW;
                let mut recent = Vec::new();
                let mut before = upto.saturating_add(1);
                loop {
                    let page = self
                        .messages
                        .history(chat, HistoryCursor::Before(Seq::clamped(before)), PAGE)
                        .await?;
                    let Some(oldest) = page.items.first() else {
                        break;
                    };
                    before = oldest.seq;
                    let reached_older = oldest.created_at < since && oldest.seq != upto;
                    recent.extend(
                        page.items
                            .into_iter()
                            .rev()
                            .filter(|m| m.seq == upto || m.created_at >= since),
                    );
                    if reached_older || !page.has_more {
                        break;
                    }
                }
                recent.reverse();
                recent
            }
        };
        batch.retain(|m| known.is_none_or(|done| m.seq > done));
        let Some(last) = batch.last().map(|m| m.seq) else {
            return Ok(());
        };
        for mut message in batch {
            // A new message has no reactions; any added since it was
            // stored follow as `reaction.added` events.
            message.reactions = Some(Vec::new());
            let event = ServerEvent::MessageCreated {
                message: message.into(),
            };
            self.registry.deliver(members.iter(), &event.frame(), None);
        }
        self.delivered.insert(chat, last.max(known.unwrap_or(0)));
        Ok(())
    }
}

/// The chat a signal is about, if one.
fn signal_chat(signal: &Signal) -> Option<ChatId> {
    match signal {
        Signal::Seq { chat_id, .. }
        | Signal::MessageChanged { chat_id, .. }
        | Signal::ChatChanged { chat_id, .. }
        | Signal::ChatDeleted { chat_id, .. }
        | Signal::Membership { chat_id, .. }
        | Signal::Read { chat_id, .. }
        | Signal::Typing { chat_id, .. }
        | Signal::Reaction { chat_id, .. }
        | Signal::Pin { chat_id, .. }
        | Signal::Thread { chat_id, .. } => Some(*chat_id),
        Signal::Resync => None,
    }
}

#[cfg(test)]
mod tests;
