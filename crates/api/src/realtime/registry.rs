//! Which WebSocket connections are open on this instance, per user, each
//! with a bounded outbound queue.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use missive_domain::ids::UserId;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

/// Counters for operators (exported as metrics).
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames queued to a connection.
    pub delivered: AtomicU64,
    /// Frames dropped because a connection's queue was full.
    pub dropped: AtomicU64,
    /// Connections closed with 4008 for not keeping up.
    pub slow_consumers_closed: AtomicU64,
    /// Connections currently open.
    pub open: AtomicU64,
}

struct Entry {
    id: u64,
    queue: mpsc::Sender<Utf8Bytes>,
    overflowed: Arc<AtomicBool>,
}

/// The open connections of this instance.
pub struct Registry {
    connections: RwLock<HashMap<UserId, Vec<Entry>>>,
    next_id: AtomicU64,
    queue_capacity: usize,
    /// Delivery counters.
    pub stats: Stats,
}

/// A registered connection's receiving side.
pub struct Registration {
    /// Registry id, for [`Registry::unregister`].
    pub id: u64,
    /// Frames to write to the socket, in order. Ends when the registry drops
    /// the connection.
    pub queue: mpsc::Receiver<Utf8Bytes>,
    /// Set when the queue overflowed: close with 4008.
    pub overflowed: Arc<AtomicBool>,
}

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

    /// Adds a connection of `user`.
    pub fn register(&self, user: UserId) -> Registration {
        let (sender, queue) = mpsc::channel(self.queue_capacity);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let overflowed = Arc::new(AtomicBool::new(false));
        let entry = Entry {
            id,
            queue: sender,
            overflowed: Arc::clone(&overflowed),
        };
        self.write().entry(user).or_default().push(entry);
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        Registration {
            id,
            queue,
            overflowed,
        }
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
                    match entry.queue.try_send(frame.clone()) {
                        Ok(()) => delivered += 1,
                        Err(TrySendError::Full(_)) => {
                            entry.overflowed.store(true, Ordering::Release);
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

    #[tokio::test]
    async fn every_connection_of_every_recipient_gets_the_same_frame_except_the_excluded() {
        let registry = Registry::new(4);
        let (ada, bob) = (UserId::new(), UserId::new());
        let mut ada_phone = registry.register(ada);
        let mut ada_laptop = registry.register(ada);
        let mut bob_phone = registry.register(bob);
        let frame = Utf8Bytes::from_static("{\"type\":\"typing\"}");

        registry.deliver([ada, bob].iter(), &frame, Some(bob));

        assert_eq!(ada_phone.queue.recv().await.as_ref(), Some(&frame));
        assert_eq!(ada_laptop.queue.recv().await.as_ref(), Some(&frame));
        assert!(
            bob_phone.queue.try_recv().is_err(),
            "the excluded user gets nothing"
        );
        assert_eq!(registry.stats.delivered.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn a_full_queue_drops_only_that_connection_and_flags_it() {
        let registry = Registry::new(2);
        let user = UserId::new();
        let mut slow = registry.register(user);
        let mut fast = registry.register(user);
        let frame = Utf8Bytes::from_static("x");

        for _ in 0..2 {
            registry.deliver([user].iter(), &frame, None);
            fast.queue.recv().await.expect("fast keeps up");
        }
        registry.deliver([user].iter(), &frame, None);

        assert!(slow.overflowed.load(Ordering::Acquire));
        assert!(!fast.overflowed.load(Ordering::Acquire));
        assert_eq!(fast.queue.recv().await.as_ref(), Some(&frame));
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
    fn unregistering_is_idempotent() {
        let registry = Registry::new(1);
        let user = UserId::new();
        let registration = registry.register(user);
        registry.unregister(user, registration.id);
        registry.unregister(user, registration.id);
        assert!(registry.is_empty());
        assert_eq!(registry.stats.open.load(Ordering::Relaxed), 0);
    }
}
