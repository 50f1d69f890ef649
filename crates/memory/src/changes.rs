//! [`ChangeLog`] in memory.

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::UserId;
use missive_domain::ports::ChangeLog;
use missive_domain::sync::{ChangePage, SyncToken};
use time::OffsetDateTime;

use crate::MemoryStore;

/// [`ChangeLog`] over a [`MemoryStore`]. Every change is recorded in the
/// same step as what it records, at the next position `(0, n)`; steps are
/// atomic under the store's lock, so positions are commit order and no
/// change can commit behind a reader: a page's `end` is "now" whenever
/// the page holds everything readable.
#[derive(Debug, Clone)]
pub struct MemoryChangeLog {
    store: MemoryStore,
}

impl MemoryChangeLog {
    /// The log over `store` (see [`MemoryStore::changes`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl ChangeLog for MemoryChangeLog {
    async fn now(&self) -> Result<SyncToken, InfraError> {
        self.store.with(|state| state.log.now())
    }

    async fn read(
        &self,
        after: SyncToken,
        viewer: Option<UserId>,
        limit: u32,
        scan: u32,
    ) -> Result<ChangePage, InfraError> {
        self.store
            .with(|state| state.read_changes(after, viewer, limit, scan))
    }

    async fn floor(&self) -> Result<SyncToken, InfraError> {
        self.store.with(|state| state.log.floor())
    }

    async fn prune(&self, before: OffsetDateTime, batch: u32) -> Result<u64, InfraError> {
        self.store.with(|state| state.log.prune(before, batch))
    }

    async fn oldest(&self) -> Result<Option<OffsetDateTime>, InfraError> {
        self.store.with(|state| state.log.oldest())
    }
}
