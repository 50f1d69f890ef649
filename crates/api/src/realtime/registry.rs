//! Which WebSocket connections are open on this instance, per user, each
//! with a bounded outbound queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use missive_domain::ids::{ApiKeyId, UserId};
use missive_domain::sync::SyncToken;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::connection::close_code;

/// Counters for operators (exported as metrics).
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames queued to a connection.
    pub delivered: AtomicU64,
    /// Frames dropped because a connection's queue was full.
    pub dropped: AtomicU64,
    /// Connections closed with 4008 for not keeping up.
    pub slow_consumers_closed: AtomicU64,
    /// Connections closed with 4001 because their credentials ended.
    pub credentials_ended: AtomicU64,
    /// Connections currently open.
    pub open: AtomicU64,
}

/// A frame queued for a connection, with the position of the change it
/// carries (so a connection that replayed up to some position drops what
/// it already wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The change's position, for changes.
    pub token: Option<SyncToken>,
    /// The serialised event (shared by every recipient).
    pub frame: Utf8Bytes,
}

struct Entry {
    id: u64,
    queue: mpsc::Sender<Outbound>,
    /// Why the registry ended the connection (a close code), 0 while open.
    close: Arc<AtomicU16>,
    /// The API key the connection authenticated with, if any.
    api_key: Option<ApiKeyId>,
    /// The position after which the connection needs every change, once
    /// it has read it (`None` before).
    start: Option<SyncToken>,
}

/// The open connections of this instance.
pub struct Registry {
    connections: RwLock<HashMap<UserId, Vec<Entry>>>,
    next_id: AtomicU64,
    queue_capacity: usize,
    /// Delivery counters.
    pub stats: Stats,
}

/// A registered connection's receiving side. Dropping it unregisters the
/// connection, however its task ends (a panic included).
pub struct Registration {
    registry: Arc<Registry>,
    user: UserId,
    /// Registry id.
    pub id: u64,
    /// Frames to write to the socket, in order. Ends when the registry drops
    /// the connection.
    pub queue: mpsc::Receiver<Outbound>,
    close: Arc<AtomicU16>,
}

impl Registration {
    /// This connection needs every change after `start`.
    pub fn note_start(&self, start: SyncToken) {
        self.registry.note_start(self.user, self.id, start);
    }

    /// The close code the registry ended this connection with (4008: its
    /// queue overflowed; 4001: its credentials ended), if it did.
    pub fn ended_with(&self) -> Option<u16> {
        match self.close.load(Ordering::Acquire) {
            0 => None,
            code => Some(code),
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.unregister(self.user, self.id);
    }
}

/// Refused: the user has the maximum number of connections open here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyConnections;

impl Registry {
    /// An empty registry whose connections queue up to `queue_capacity`
    /// frames each.
    pub fn new(queue_capacity: usize) -> Self {
        Self {
            connections: RwLock::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue_capacity: queue_capacity.max(1),
            stats: Stats::default(),
        }
    }

    /// Adds a connection of `user` (authenticated with `api_key`, if any)
    /// unless they already have `max_per_user` here; the count and the
    /// addition are atomic.
    ///
    /// # Errors
    /// [`TooManyConnections`].
    pub fn register(
        self: &Arc<Self>,
        user: UserId,
        api_key: Option<ApiKeyId>,
        max_per_user: usize,
    ) -> Result<Registration, TooManyConnections> {
        let (sender, queue) = mpsc::channel(self.queue_capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(AtomicU16::new(0));
        let entry = Entry {
            id,
            queue: sender,
            close: Arc::clone(&close),
            api_key,
            start: None,
        };
        {
            let mut connections = self.write();
            let entries = connections.entry(user).or_default();
            if entries.len() >= max_per_user {
                if entries.is_empty() {
                    connections.remove(&user);
                }
                return Err(TooManyConnections);
            }
            entries.push(entry);
        }
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        Ok(Registration {
            registry: Arc::clone(self),
            user,
            id,
            queue,
            close,
        })
    }

    /// Removes a connection (idempotent).
    pub fn unregister(&self, user: UserId, id: u64) {
        if self.remove(user, id) {
            self.stats.open.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn remove(&self, user: UserId, id: u64) -> bool {
        let mut connections = self.write();
        let Some(entries) = connections.get_mut(&user) else {
            return false;
        };
        let before = entries.len();
        entries.retain(|e| e.id != id);
        let removed = entries.len() < before;
        if entries.is_empty() {
            connections.remove(&user);
        }
        removed
    }

    /// The distinct API keys open connections authenticated with.
    pub fn api_keys(&self) -> Vec<ApiKeyId> {
        let mut keys: Vec<ApiKeyId> = self
            .read()
            .values()
            .flatten()
            .filter_map(|e| e.api_key)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Ends every connection authenticated with one of `keys`: they close
    /// with 4001 without writing anything still queued. Returns how many.
    pub fn end_key_sessions(&self, keys: &[ApiKeyId]) -> usize {
        if keys.is_empty() {
            return 0;
        }
        let mut ended = 0;
        let mut connections = self.write();
        for entries in connections.values_mut() {
            entries.retain(|entry| {
                let revoked = entry.api_key.is_some_and(|k| keys.contains(&k));
                if revoked {
                    // Dropping the sender ends the connection's queue.
                    entry
                        .close
                        .store(close_code::CREDENTIALS_ENDED, Ordering::Release);
                    ended += 1;
                }
                !revoked
            });
        }
        connections.retain(|_, entries| !entries.is_empty());
        drop(connections);
        let ended_u64 = u64::try_from(ended).unwrap_or(u64::MAX);
        self.stats.open.fetch_sub(ended_u64, Ordering::Relaxed);
        self.stats
            .credentials_ended
            .fetch_add(ended_u64, Ordering::Relaxed);
        ended
    }

    /// Connection `id` of `user` needs every change after `start` (it
    /// read the position after registering).
    pub fn note_start(&self, user: UserId, id: u64, start: SyncToken) {
        if let Some(entry) = self
            .write()
            .get_mut(&user)
            .and_then(|entries| entries.iter_mut().find(|e| e.id == id))
        {
            entry.start = Some(start);
        }
    }

    /// Where a dispatcher without a position must start so that no open
    /// connection misses a change: the lowest start of them all, once every
    /// one has noted its own (`None` while one has not, or none is open).
    /// Connections opened later need nothing before it: they read their
    /// start after registering, when the dispatcher is already reading.
    pub fn start(&self) -> Option<SyncToken> {
        let connections = self.read();
        let mut lowest: Option<SyncToken> = None;
        for entry in connections.values().flatten() {
            let start = entry.start?;
            lowest = Some(lowest.map_or(start, |l| l.min(start)));
        }
        lowest
    }

    /// Whether any connection is open here.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Whether any of `users` has a connection here.
    pub fn any_connected<'a>(&self, mut users: impl Iterator<Item = &'a UserId>) -> bool {
        let connections = self.read();
        users.any(|u| connections.contains_key(u))
    }

    /// Queues `frame` on every connection of every user in `users` except
    /// `except`. Never waits: a connection whose queue is full is dropped
    /// from the registry and told to close with 4008, so one slow reader
    /// never delays the others. The frame is shared, not copied.
    pub fn deliver<'a>(
        &self,
        users: impl IntoIterator<Item = &'a UserId>,
        frame: &Utf8Bytes,
        token: Option<SyncToken>,
        except: Option<UserId>,
    ) {
        let mut overflowed = Vec::new();
        let mut delivered = 0;
        {
            let connections = self.read();
            for user in users {
                if Some(*user) == except {
                    continue;
                }
                let Some(entries) = connections.get(user) else {
                    continue;
                };
                for entry in entries {
                    let outbound = Outbound {
                        token,
                        frame: frame.clone(),
                    };
                    match entry.queue.try_send(outbound) {
                        Ok(()) => delivered += 1,
                        Err(TrySendError::Full(_)) => {
                            entry
                                .close
                                .store(close_code::SLOW_CONSUMER, Ordering::Release);
                            overflowed.push((*user, entry.id));
                        }
                        Err(TrySendError::Closed(_)) => {}
                    }
                }
            }
        }
        self.stats.delivered.fetch_add(delivered, Ordering::Relaxed);
        for (user, id) in overflowed {
            // Dropping the sender ends the connection's queue; it then
            // closes with 4008.
            if self.remove(user, id) {
                self.stats.open.fetch_sub(1, Ordering::Relaxed);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .slow_consumers_closed
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(user.id = %user, "closing a WebSocket that stopped reading (4008)");
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<UserId, Vec<Entry>>> {
        // A panic while holding the lock cannot leave the map inconsistent
        // (every update is a single insert/retain), so poison is ignored.
        self.connections
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<UserId, Vec<Entry>>> {
        self.connections
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(capacity: usize) -> Arc<Registry> {
        Arc::new(Registry::new(capacity))
    }

    #[tokio::test]
    async fn every_connection_of_every_recipient_gets_the_same_frame_except_the_excluded() {
        let registry = registry(4);
        let (ada, bob) = (UserId::new(), UserId::new());
        let mut ada_phone = registry.register(ada, None, 16).expect("room");
        let mut ada_laptop = registry.register(ada, None, 16).expect("room");
        let mut bob_phone = registry.register(bob, None, 16).expect("room");
        let frame = Utf8Bytes::from_static("{\"type\":\"typing\"}");

        registry.deliver([ada, bob].iter(), &frame, None, Some(bob));

        let queued = Outbound { token: None, frame };
        assert_eq!(ada_phone.queue.recv().await.as_ref(), Some(&queued));
        assert_eq!(ada_laptop.queue.recv().await.as_ref(), Some(&queued));
        assert!(
            bob_phone.queue.try_recv().is_err(),
            "the excluded user gets nothing"
        );
        assert_eq!(registry.stats.delivered.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_full_queue_drops_only_that_connection_and_flags_it() {
        let registry = registry(2);
        let user = UserId::new();
        let mut slow = registry.register(user, None, 16).expect("room");
        let mut fast = registry.register(user, None, 16).expect("room");
        let frame = Utf8Bytes::from_static("x");

        for _ in 0..2 {
            registry.deliver([user].iter(), &frame, None, None);
            fast.queue.recv().await.expect("fast keeps up");
        }
        registry.deliver([user].iter(), &frame, None, None);

        assert_eq!(slow.ended_with(), Some(close_code::SLOW_CONSUMER));
        assert_eq!(fast.ended_with(), None);
        assert_eq!(fast.queue.recv().await.map(|o| o.frame), Some(frame));
        // The slow one drains what was queued, then its queue ends.
        assert!(slow.queue.recv().await.is_some());
        assert!(slow.queue.recv().await.is_some());
        assert!(slow.queue.recv().await.is_none());
        assert_eq!(
            registry.stats.slow_consumers_closed.load(Ordering::Relaxed),
            1
        );
        assert_eq!(registry.stats.open.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_start_is_the_lowest_of_the_open_connections_once_all_have_one() {
        let registry = registry(1);
        assert_eq!(registry.start(), None, "nobody connected");
        let (ada, bob) = (UserId::new(), UserId::new());
        let first = registry.register(ada, None, 16).expect("room");
        let second = registry.register(bob, None, 16).expect("room");
        registry.note_start(bob, second.id, SyncToken::new(7, 3));
        assert_eq!(registry.start(), None, "ada's connection has no start yet");
        registry.note_start(ada, first.id, SyncToken::new(9, 0));
        assert_eq!(registry.start(), Some(SyncToken::new(7, 3)));
        drop(second);
        assert_eq!(
            registry.start(),
            Some(SyncToken::new(9, 0)),
            "a closed connection's start is gone with it"
        );
    }

    #[test]
    fn dropping_a_registration_unregisters_it_once() {
        let registry = registry(1);
        let user = UserId::new();
        let registration = registry.register(user, None, 16).expect("room");
        registry.unregister(user, registration.id);
        drop(registration);
        assert!(registry.is_empty());
        assert_eq!(registry.stats.open.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_user_gets_at_most_the_cap_of_connections_and_a_slot_frees_on_drop() {
        let registry = registry(1);
        let user = UserId::new();
        let first = registry.register(user, None, 2).expect("room");
        let _second = registry.register(user, None, 2).expect("room");
        assert!(registry.register(user, None, 2).is_err());
        assert!(
            registry.register(UserId::new(), None, 2).is_ok(),
            "others are not affected"
        );
        drop(first);
        assert!(registry.register(user, None, 2).is_ok());
    }

    #[tokio::test]
    async fn ending_a_keys_sessions_closes_only_its_connections_with_4001() {
        let registry = registry(4);
        let user = UserId::new();
        let (revoked, kept) = (ApiKeyId::new(), ApiKeyId::new());
        let mut by_revoked = registry.register(user, Some(revoked), 16).expect("room");
        let by_kept = registry.register(user, Some(kept), 16).expect("room");
        let by_token = registry.register(user, None, 16).expect("room");
        assert_eq!(registry.api_keys().len(), 2);

        assert_eq!(registry.end_key_sessions(&[revoked]), 1);

        assert_eq!(by_revoked.ended_with(), Some(close_code::CREDENTIALS_ENDED));
        assert!(by_revoked.queue.recv().await.is_none());
        assert_eq!(by_kept.ended_with(), None);
        assert_eq!(by_token.ended_with(), None);
        assert_eq!(registry.api_keys(), vec![kept]);
        assert_eq!(registry.stats.open.load(Ordering::Relaxed), 2);
    }
}
