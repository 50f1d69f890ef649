use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::InfraError;
use crate::ids::UserId;
use crate::sync::{ChangePage, SyncToken};

/// The change log (see [`crate::sync`]). Every repository that changes
/// something a user can see records it here in the same transaction;
/// this port reads and prunes the log.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// The position "now": every change at or below it has committed or
    /// rolled back, so a reader resuming from it misses nothing. Changes
    /// committed before the call are at or below it too, except on a
    /// store whose log trails its commits (PostgreSQL: the position waits
    /// for every transaction still running on the cluster), where some
    /// may be above it for a moment and are then read once more after it
    /// — which a reader's idempotent apply absorbs.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn now(&self) -> Result<SyncToken, InfraError>;

    /// Changes after `after`, in commit order, that `viewer` may see
    /// (those of chats they are a member of now, and those addressed to
    /// them), or every change when `viewer` is `None`: at most `limit`,
    /// looking at no more than `scan` rows whoever they are for (so the
    /// cost is bounded whatever the log holds). MUST never pass a change
    /// that may still commit: the page's `end` is a position below every
    /// transaction still running.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn read(
        &self,
        after: SyncToken,
        viewer: Option<UserId>,
        limit: u32,
        scan: u32,
    ) -> Result<ChangePage, InfraError>;

    /// The position below which changes were pruned: a client behind it
    /// missed changes that are gone.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn floor(&self) -> Result<SyncToken, InfraError>;

    /// Deletes up to `batch` of the oldest changes recorded before
    /// `before`, in one short transaction, and raises the floor past
    /// them. Returns how many it deleted.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn prune(&self, before: OffsetDateTime, batch: u32) -> Result<u64, InfraError>;

    /// When the oldest change still kept was recorded, if any.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn oldest(&self) -> Result<Option<OffsetDateTime>, InfraError>;
}
