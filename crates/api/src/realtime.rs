//! Real-time delivery over WebSocket: the connection registry, the
//! dispatcher that turns signals into events, and the per-connection loop.
//! See `GET /api/v1/ws` in [`crate::routes::ws`].

pub mod connection;
pub mod dispatcher;
pub mod faults;
pub mod protocol;
pub mod registry;

use std::sync::Arc;
use std::time::Duration;

use missive_domain::ports::Clock;
use missive_domain::services::api_keys::ApiKeyService;
use missive_domain::services::sync::SyncService;
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

impl Realtime {
    /// Until `stop`: every `every` (and once at start), deletes the
    /// changes older than `retention` from the sync log, in batches of
    /// `batch` short transactions, and reports what it did in `/metrics`.
    /// Every instance runs it; concurrent runs only share the work.
    pub async fn prune_sync_log(
        sync: SyncService,
        clock: Arc<dyn Clock>,
        retention: time::Duration,
        batch: u32,
        every: Duration,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = clock.now();
            let outcome = match sync.prune(now, retention, batch).await {
                Ok(pruned) => {
                    if pruned > 0 {
                        tracing::info!(pruned, "pruned the sync log");
                    }
                    Ok(pruned)
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot prune the sync log; will retry");
                    Err(())
                }
            };
            let age = match sync.log().oldest().await {
                Ok(Some(oldest)) => Some((now - oldest).as_seconds_f64().max(0.0)),
                Ok(None) => Some(0.0),
                Err(_) => None,
            };
            crate::metrics::sync_pruned(outcome, age);
        }
    }

    /// Until `stop`: every `every` (and once at start), one run of the
    /// upload collection
    /// ([`missive_domain::services::uploads::UploadService::collect`]), reported in
    /// `/metrics`. Every instance runs it; concurrent runs only share the
    /// work.
    pub async fn collect_uploads(
        uploads: missive_domain::services::uploads::UploadService,
        unattached_ttl: time::Duration,
        batch: u32,
        every: Duration,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            match uploads.collect(unattached_ttl, batch).await {
                Ok(collected) => {
                    if collected != Default::default() {
                        tracing::info!(?collected, "collected uploads");
                    }
                    crate::metrics::uploads_collected(Some(collected));
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot collect uploads; will retry");
                    crate::metrics::uploads_collected(None);
                }
            }
        }
    }

    /// Until `stop`: every `every`, asks which API keys of open connections
    /// were revoked (one query, on any instance) and closes their
    /// connections with 4001 — so a revocation ends sessions on every
    /// instance within `every`, without any signal that could be lost.
    pub async fn watch_api_keys(
        registry: Arc<Registry>,
        api_keys: ApiKeyService,
        every: Duration,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let keys = registry.api_keys();
            if keys.is_empty() {
                continue;
            }
            match api_keys.revoked_among(&keys).await {
                Ok(revoked) => {
                    let ended = registry.end_key_sessions(&revoked);
                    if ended > 0 {
                        tracing::info!(
                            connections = ended,
                            "closed WebSockets of revoked API keys (4001)"
                        );
                    }
                }
                // Checked again next tick; a database outage must not end
                // sessions whose keys are fine.
                Err(error) => tracing::debug!(%error, "cannot check API keys of open WebSockets"),
            }
        }
    }
}
