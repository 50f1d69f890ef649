//! Ports: what the domain needs from the outside world. Adapters implement
//! them; services hold them as `Arc<dyn Port>`. With the `mocks` feature
//! each trait has a `mockall` fake named `Mock<Trait>`.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::event::Event;

mod changes;
mod chats;
mod messages;
mod reactions;
mod uploads;
mod users;

pub use changes::*;
pub use chats::*;
pub use messages::*;
pub use reactions::*;
pub use uploads::*;
pub use users::*;

/// The current time, injectable so rules about time are testable.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Delivers events to real-time subscribers (this process, or every
/// instance sharing the database). Called after the change is committed;
/// delivery failures are the adapter's to log, never the caller's.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes one event.
    async fn publish(&self, event: Event);
}
