//! Real-time delivery over WebSocket: the connection registry, the
//! dispatcher that turns signals into events, and the per-connection loop.
//! See `GET /api/v1/ws` in [`crate::routes::ws`].

pub mod connection;
pub mod dispatcher;
pub mod protocol;
pub mod registry;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::registry::Registry;

/// The gateway's shared parts.
pub struct Realtime {
    /// Open connections.
    pub registry: Arc<Registry>,
    /// Cancelled at shutdown: connections close with 1001, background
    /// tasks stop.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for them.
    pub connections: TaskTracker,
}

impl Realtime {
    /// A gateway whose connections queue up to `queue_capacity` frames.
    pub fn new(queue_capacity: usize) -> Self {
        Self {
            registry: Arc::new(Registry::new(queue_capacity)),
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
        }
    }
}
