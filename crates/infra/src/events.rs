//! In-process event delivery: a tokio broadcast channel. Enough for one
//! server process (and SQLite); the WebSocket gateway subscribes to it.

use std::sync::Arc;

use async_trait::async_trait;
use missive_domain::event::Event;
use missive_domain::ports::EventPublisher;
use tokio::sync::broadcast;

/// How many events a slow subscriber may lag behind before it misses some
/// (and is told so by `RecvError::Lagged`).
const CAPACITY: usize = 4096;

/// [`EventPublisher`] broadcasting to subscribers in this process.
#[derive(Debug, Clone)]
pub struct InProcessEventBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl Default for InProcessEventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessEventBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        Self { sender }
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }
}

#[async_trait]
impl EventPublisher for InProcessEventBus {
    async fn publish(&self, event: Event) {
        // No subscriber is not an error: nobody is listening right now.
        let _ = self.sender.send(Arc::new(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use missive_domain::ids::{ChatId, UserId};

    #[tokio::test]
    async fn subscribers_receive_events_in_publication_order() {
        let bus = InProcessEventBus::new();
        let mut receiver = bus.subscribe();
        let chat_id = ChatId::new();
        for seq in 1..=3 {
            bus.publish(Event::ChatRead {
                chat_id,
                user_id: UserId::new(),
                last_read_seq: seq,
            })
            .await;
        }
        for expected in 1..=3 {
            match receiver.recv().await.expect("event").as_ref() {
                Event::ChatRead { last_read_seq, .. } => assert_eq!(*last_read_seq, expected),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn publishing_without_subscribers_is_fine() {
        InProcessEventBus::new()
            .publish(Event::ChatDeleted {
                chat_id: ChatId::new(),
                member_ids: vec![],
            })
            .await;
    }
}
