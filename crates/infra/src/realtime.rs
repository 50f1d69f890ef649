//! Real-time signalling between the use cases (which publish domain events)
//! and the WebSocket gateways of every server instance.
//!
//! A domain [`Event`] becomes one small [`Signal`]: a reference
//! ("chat X reached seq N", "message M changed") rather than a payload, so
//! signals fit PostgreSQL's 8000-byte NOTIFY limit whatever the message size,
//! and receivers load what they need from the database — once per signal,
//! not once per recipient. Because `seq` is gap-free, "chat X reached N"
//! also repairs any earlier lost signal for that chat.
//!
//! Two transports, chosen from the database URL:
//! * in-process ([`SignalBus::in_process`]): a broadcast channel, for one
//!   server (the SQLite default);
//! * PostgreSQL ([`SignalBus::postgres`]): signals are batched and coalesced
//!   by one notifier task and sent with `pg_notify` *after* the change has
//!   committed, on a connection of their own (never inside the sending
//!   transaction, whose commit would then take NOTIFY's global lock); every
//!   instance `LISTEN`s and re-broadcasts locally. A lost listener
//!   connection reconnects and emits [`Signal::Resync`]; a signal the
//!   notifier could not queue or send makes its next notification carry a
//!   [`Signal::Resync`] to every instance.

mod postgres;
mod signal;

pub use signal::Signal;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use missive_domain::event::Event;
use missive_domain::ports::EventPublisher;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::Database;

/// Signals a slow local subscriber may lag behind before it is told it
/// missed some (`RecvError::Lagged`, handled as a resync).
const LOCAL_CAPACITY: usize = 65_536;
/// Signals waiting for the PostgreSQL notifier before new ones are dropped
/// (and recovered by receivers' resync).
const OUTBOUND_CAPACITY: usize = 65_536;

/// Carries signals from publishers to every subscriber of every instance.
#[derive(Clone, Debug)]
pub struct SignalBus {
    local: broadcast::Sender<Signal>,
    outbound: Option<mpsc::Sender<Signal>>,
    /// Set when a signal could not even be queued; the notifier then
    /// tells every instance to resync.
    dropped: Arc<AtomicBool>,
}

impl SignalBus {
    /// Signals stay in this process.
    pub fn in_process() -> Self {
        Self {
            local: broadcast::channel(LOCAL_CAPACITY).0,
            outbound: None,
            dropped: Arc::default(),
        }
    }

    /// Signals go through PostgreSQL `NOTIFY` to every instance listening
    /// on the same database (this one included). Spawns the notifier and
    /// listener tasks; they stop when `stop` is cancelled.
    pub fn postgres(db: &Database, stop: CancellationToken) -> Self {
        let local = broadcast::channel(LOCAL_CAPACITY).0;
        let (outbound, queue) = mpsc::channel(OUTBOUND_CAPACITY);
        let dropped = Arc::new(AtomicBool::new(false));
        let pool = db.connection().get_postgres_connection_pool().clone();
        tokio::spawn(postgres::notify_loop(
            pool.clone(),
            queue,
            Arc::clone(&dropped),
            stop.clone(),
        ));
        tokio::spawn(postgres::listen_loop(pool, local.clone(), stop));
        Self {
            local,
            outbound: Some(outbound),
            dropped,
        }
    }

    /// The right transport for `db`'s engine.
    pub fn for_database(db: &Database, stop: CancellationToken) -> Self {
        match db.backend() {
            crate::Backend::Postgres => Self::postgres(db, stop),
            crate::Backend::Sqlite => Self::in_process(),
        }
    }

    /// Every signal from now on, from every instance.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.local.subscribe()
    }

    /// Sends a signal without waiting.
    pub fn send(&self, signal: Signal) {
        match &self.outbound {
            None => {
                let _ = self.local.send(signal);
            }
            Some(outbound) => {
                if outbound.try_send(signal).is_err() {
                    // The notifier sends a resync with its next batch.
                    self.dropped.store(true, Ordering::Release);
                    tracing::warn!("real-time notifier queue full; a signal was dropped");
                }
            }
        }
    }
}

/// The [`EventPublisher`] the use cases are given.
#[derive(Clone, Debug)]
pub struct SignalPublisher {
    bus: SignalBus,
}

impl SignalPublisher {
    /// Publishes onto `bus`.
    pub fn new(bus: SignalBus) -> Self {
        Self { bus }
    }
}

#[async_trait]
impl EventPublisher for SignalPublisher {
    async fn publish(&self, event: Event) {
        self.bus.send(Signal::from(event));
    }
}
