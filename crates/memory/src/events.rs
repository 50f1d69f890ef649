//! [`EventPublisher`] over a broadcast channel, for subscribers in this
//! process.

use async_trait::async_trait;
use missive_domain::event::Event;
use missive_domain::ports::EventPublisher;
use tokio::sync::broadcast;

/// [`EventPublisher`] that hands every event to every current subscriber
/// (a `tokio::sync::broadcast` channel; it needs no runtime of its own).
/// Publishing with nobody subscribed drops the event, as a real-time
/// channel does; a subscriber that falls more than the capacity behind
/// gets `RecvError::Lagged` and should resynchronise from the change log.
/// Cheap to clone; clones publish to the same subscribers.
#[derive(Debug, Clone)]
pub struct BroadcastPublisher {
    sender: broadcast::Sender<Event>,
}

impl Default for BroadcastPublisher {
    fn default() -> Self {
        Self::new()
    }
}

impl BroadcastPublisher {
    /// Events a slow subscriber may lag behind before it is told it missed
    /// some (`RecvError::Lagged`), by default.
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// A publisher keeping up to [`Self::DEFAULT_CAPACITY`] events per
    /// lagging subscriber.
    #[must_use]
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A publisher keeping up to `capacity` (at least 1) events per
    /// lagging subscriber.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// A new subscriber: it receives every event published from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl EventPublisher for BroadcastPublisher {
    async fn publish(&self, event: Event) {
        // No subscriber is no error: nobody is listening right now.
        let _ = self.sender.send(event);
    }
}
