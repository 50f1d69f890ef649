//! Delivers changes to this instance's connections by tailing the change
//! log (SPEC §4.8, `docs/design/lossless-sync.md`): one task, one log read
//! per wake-up (never per recipient), one rendering and one serialisation
//! per change, each frame carrying the change's `token`.
//!
//! **The log is the truth; signals are wake-ups.** Any signal but typing
//! only says "something changed": the dispatcher reads the log past its
//! position, in commit order, so nothing is delivered twice, nothing is
//! skipped (a late commit holds the log's horizon back until it ends), a
//! lost or forged signal changes nothing, and every instance delivers the
//! same changes in the same order. A timer tails the log too, so a lost
//! signal costs at most [`POLL_EVERY`] of latency.
//!
//! **Recipients are the members of now.** Members are cached per chat;
//! a page of the log holding a membership change of a chat drops that
//! chat's cache before anything in the page is delivered, so nothing after
//! a removal reaches the removed (who still gets their removal), on every
//! instance — the same rule `GET /sync` follows.
//!
//! **Bounded.** Chats none of whose members is connected here are
//! forgotten every [`SWEEP_EVERY`]; with nobody connected the dispatcher
//! reads nothing at all and forgets its position (a connection notes
//! where it needs changes from when it registers).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use missive_domain::ids::{ChatId, UserId};
use missive_domain::ports::ChatRepository;
use missive_domain::services::sync::SyncService;
use missive_domain::sync::{Audience, ChangeKind, SyncToken};
use missive_infra::Signal;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::protocol::ServerEvent;
use super::registry::Registry;

/// Changes read per log query.
const PAGE: u32 = 500;
/// Most signals handled as one batch.
const MAX_BATCH: usize = 1024;
/// How often chats without a connected member are forgotten.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// How often the log is read without any signal (repairs lost ones).
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// After a wake-up that found nothing yet (an older transaction still
/// running holds the horizon back), the first quick retry.
const FIRST_RETRY: Duration = Duration::from_millis(5);

/// Fan-out state, owned by one task (no locks).
pub struct Dispatcher {
    registry: Arc<Registry>,
    chats: Arc<dyn ChatRepository>,
    sync: SyncService,
    /// How far the log was delivered; `None` while nobody is connected.
    position: Option<SyncToken>,
    /// Members per chat, as of the last membership change seen.
    members: HashMap<ChatId, Arc<Vec<UserId>>>,
}

impl Dispatcher {
    /// A dispatcher delivering to `registry`.
    pub fn new(registry: Arc<Registry>, chats: Arc<dyn ChatRepository>, sync: SyncService) -> Self {
        Self {
            registry,
            chats,
            sync,
            position: None,
            members: HashMap::new(),
        }
    }

    /// Processes signals until `stop`, reading the log on each batch and
    /// every [`POLL_EVERY`]; a wake-up that found nothing is retried
    /// quickly a few times (its change may wait behind an older
    /// transaction), and a failed read is retried on the next tick.
    pub async fn run(mut self, mut signals: broadcast::Receiver<Signal>, stop: CancellationToken) {
        let mut poll = tokio::time::interval(POLL_EVERY);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut retry: Option<(Instant, Duration)> = None;
        loop {
            let retry_at = retry.map(|(at, _)| at);
            tokio::select! {
                () = stop.cancelled() => return,
                _ = poll.tick() => {
                    self.tail_logged().await;
                }
                () = sleep_until(retry_at), if retry_at.is_some() => {
                    let delivered = self.tail_logged().await;
                    retry = match retry {
                        Some((_, wait)) if delivered == Some(0) && wait < POLL_EVERY / 4 => {
                            Some((Instant::now() + wait * 2, wait * 2))
                        }
                        _ => None,
                    };
                }
                _ = sweep.tick() => self.forget_idle_chats(),
                signal = signals.recv() => {
                    let mut batch = Vec::new();
                    let mut closed = false;
                    match signal {
                        Ok(first) => batch.push(first),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            // Nothing is lost: the log has it all.
                            tracing::debug!(missed, "real-time dispatcher lagged behind its signals");
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                    while batch.len() < MAX_BATCH {
                        match signals.try_recv() {
                            Ok(signal) => batch.push(signal),
                            Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                            Err(broadcast::error::TryRecvError::Closed) => {
                                closed = true;
                                break;
                            }
                            Err(broadcast::error::TryRecvError::Empty) => break,
                        }
                    }
                    if self.process(batch).await == Some(0) && retry.is_none() {
                        retry = Some((Instant::now() + FIRST_RETRY, FIRST_RETRY));
                    }
                    if closed {
                        return;
                    }
                }
            }
        }
    }

    /// Handles a batch of signals: reads the log once unless the batch is
    /// only typing, then relays typing. Returns how many changes were
    /// delivered (`None`: no read, or it failed).
    pub async fn process(&mut self, batch: Vec<Signal>) -> Option<usize> {
        let changed = batch.iter().any(|s| !matches!(s, Signal::Typing { .. }));
        let delivered = if changed {
            self.tail_logged().await
        } else {
            None
        };
        for signal in batch {
            if let Signal::Typing { chat_id, user_id } = signal
                && let Err(error) = self.relay_typing(chat_id, user_id).await
            {
                tracing::debug!(%error, "cannot relay typing");
            }
        }
        delivered
    }

    async fn tail_logged(&mut self) -> Option<usize> {
        match self.tail().await {
            Ok(delivered) => delivered,
            Err(error) => {
                tracing::warn!(%error, "real-time delivery cannot read the change log; will retry");
                None
            }
        }
    }

    /// Delivers every change past the position, page by page, up to the
    /// log's horizon. Returns how many were delivered (`None` when there
    /// is nobody to deliver to).
    ///
    /// # Errors
    /// When the log or the state cannot be read; the position stays
    /// where delivery stopped.
    pub async fn tail(&mut self) -> Result<Option<usize>, missive_domain::InfraError> {
        if self.registry.is_empty() {
            // Nobody to tell: remember nothing, read nothing.
            self.position = None;
            self.members.clear();
            return Ok(None);
        }
        let Some(mut position) = self.position.or_else(|| self.registry.start()) else {
            // A connection is still reading its starting position.
            return Ok(None);
        };
        // Kept even if the first read fails: the start is where the open
        // connections need changes from, whatever happens next.
        self.position = Some(position);
        let mut delivered = 0;
        loop {
            let page = self.sync.log().read(position, None, PAGE, PAGE).await?;
            tracing::trace!(
                from = %position,
                to = %page.end,
                changes = page.changes.len(),
                "dispatcher read the change log"
            );
            // Membership changes first: their chats' recipients are
            // reloaded as they are now.
            for change in &page.changes {
                if matches!(
                    change.kind,
                    ChangeKind::MemberAdded
                        | ChangeKind::MemberRemoved
                        | ChangeKind::ChatCreated
                        | ChangeKind::ChatDeleted
                ) {
                    self.members.remove(&change.chat_id);
                }
            }
            // Only what someone connected here will get is rendered.
            let mut wanted = Vec::with_capacity(page.changes.len());
            let mut idle: HashSet<ChatId> = HashSet::new();
            for change in page.changes {
                let addressed = change
                    .kind
                    .addressed_to_user()
                    .then_some(change.user_id)
                    .flatten();
                let addressee_here =
                    addressed.is_some_and(|u| self.registry.any_connected([u].iter()));
                if addressee_here {
                    wanted.push(change);
                    continue;
                }
                if change.kind == ChangeKind::ChatDeleted || idle.contains(&change.chat_id) {
                    continue;
                }
                let members = self.members_of(change.chat_id).await?;
                if self.registry.any_connected(members.iter()) {
                    wanted.push(change);
                } else {
                    idle.insert(change.chat_id);
                }
            }
            // Not compacted: a connection drops what it replayed, up to its
            // start, and a merged event would carry a later change below it.
            let rendered = self.sync.render(&wanted, None, false).await?;
            // Every recipient list first: a read failing half-way must not
            // leave half a page delivered (the page is read again).
            let mut recipients: HashMap<ChatId, Arc<Vec<UserId>>> = HashMap::new();
            for synced in &rendered {
                if !matches!(synced.audience, Audience::User(_))
                    && !recipients.contains_key(&synced.chat_id)
                {
                    let members = self.members_of(synced.chat_id).await?;
                    recipients.insert(synced.chat_id, members);
                }
            }
            for synced in rendered {
                tracing::trace!(token = %synced.token, chat = %synced.chat_id, "dispatcher delivers");
                let frame = ServerEvent::from(synced.event).frame_with_token(synced.token);
                let token = Some(synced.token);
                let members = recipients.get(&synced.chat_id).cloned().unwrap_or_default();
                match synced.audience {
                    Audience::Members => {
                        self.registry.deliver(members.iter(), &frame, token, None);
                    }
                    Audience::MembersAnd(user) => {
                        let others = members.iter().filter(|m| **m != user);
                        self.registry
                            .deliver(others.chain([user].iter()), &frame, token, None);
                    }
                    Audience::User(user) => {
                        self.registry.deliver([user].iter(), &frame, token, None);
                    }
                }
                delivered += 1;
            }
            position = position.max(page.end);
            self.position = Some(position);
            if !page.has_more {
                return Ok(Some(delivered));
            }
        }
    }

    /// Relays `user`'s typing to the other members of `chat` if they are
    /// one (a signal is only a hint).
    async fn relay_typing(
        &mut self,
        chat: ChatId,
        user: UserId,
    ) -> Result<(), missive_domain::InfraError> {
        if self.registry.is_empty() {
            return Ok(());
        }
        let members = self.members_of(chat).await?;
        if members.contains(&user) {
            let event = ServerEvent::Typing {
                chat_id: chat.as_uuid(),
                user_id: user.as_uuid(),
            };
            self.registry
                .deliver(members.iter(), &event.frame(), None, Some(user));
        }
        Ok(())
    }

    /// Forgets chats none of whose members is connected here.
    fn forget_idle_chats(&mut self) {
        let registry = &self.registry;
        self.members
            .retain(|_, members| registry.any_connected(members.iter()));
        self.members.shrink_to_fit();
    }

    /// The members of `chat` (none when it does not exist).
    async fn members_of(
        &mut self,
        chat: ChatId,
    ) -> Result<Arc<Vec<UserId>>, missive_domain::InfraError> {
        if let Some(members) = self.members.get(&chat) {
            return Ok(Arc::clone(members));
        }
        let users: Arc<Vec<UserId>> = Arc::new(
            self.chats
                .member_snapshot(chat)
                .await?
                .map(|s| s.members.into_iter().map(|m| m.user_id).collect())
                .unwrap_or_default(),
        );
        self.members.insert(chat, Arc::clone(&users));
        Ok(users)
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
