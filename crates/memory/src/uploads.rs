//! [`UploadRepository`] in memory: upload records, blob rows, and the
//! references messages hold.

use std::sync::Arc;

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{UploadId, UserId};
use missive_domain::ports::{BlobError, BlobStore, CreateUploadError, UploadRepository};
use missive_domain::upload::{Sha256, Upload};
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::state::{State, micros};

/// [`UploadRepository`] over a [`MemoryStore`]. The quota is checked and
/// the record stored in one step; a blob's collection keeps its blob row
/// "locked" (marked as being collected) while it deletes the bytes, and
/// an upload of the same bytes waits for it to end, as with the SQL
/// adapters' row lock.
#[derive(Debug, Clone)]
pub struct MemoryUploadRepository {
    store: MemoryStore,
}

impl MemoryUploadRepository {
    /// The repository over `store` (see [`MemoryStore::uploads`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

/// What a try at creating an upload came to.
enum Creating {
    Done(Result<(), CreateUploadError>),
    /// Its bytes are being collected: wait, then try again.
    Wait,
}

fn try_create(state: &mut State, upload: &Upload, quota_bytes: u64) -> Creating {
    let mut blobs = std::iter::once(&upload.sha256).chain(&upload.thumbnail);
    if blobs.any(|sha| state.collecting.contains(sha)) {
        return Creating::Wait;
    }
    if state.used_by(upload.owner).saturating_add(upload.size) > quota_bytes {
        return Creating::Done(Err(CreateUploadError::QuotaExceeded));
    }
    if state.uploads.contains_key(&upload.id) {
        let taken = InfraError::unexpected("the upload id is taken");
        return Creating::Done(Err(taken.into()));
    }
    if let Err(unknown) = state.user_exists(upload.owner) {
        return Creating::Done(Err(unknown.into()));
    }
    state.add_upload(upload.clone());
    Creating::Done(Ok(()))
}

/// What a try at collecting a blob came to.
enum Collecting {
    /// Named by an upload: kept.
    Named,
    /// Marked as being collected: delete the bytes, then the row (if a
    /// crash did not leave the bytes without one).
    Marked,
    /// Another collection of it is running: wait, then try again.
    Wait,
}

/// A blob marked as being collected; unmarked (and waiters woken) when
/// dropped, also when the collection's future is.
struct Mark<'a> {
    store: &'a MemoryStore,
    sha256: &'a Sha256,
}

impl Drop for Mark<'_> {
    fn drop(&mut self) {
        // A poisoned store refuses every later step anyway.
        let _ = self
            .store
            .with(|state| state.collecting.remove(self.sha256));
        self.store.end_collection();
    }
}

#[async_trait]
impl UploadRepository for MemoryUploadRepository {
    async fn create(&self, upload: &Upload, quota_bytes: u64) -> Result<(), CreateUploadError> {
        loop {
            let ended = self.store.collection_ended();
            match self
                .store
                .with(|state| try_create(state, upload, quota_bytes))?
            {
                Creating::Done(outcome) => return outcome,
                Creating::Wait => ended.await,
            }
        }
    }

    async fn used_bytes(&self, owner: UserId) -> Result<u64, InfraError> {
        self.store.with(|state| state.used_by(owner))
    }

    async fn find_owned(&self, owner: UserId, ids: &[UploadId]) -> Result<Vec<Upload>, InfraError> {
        self.store.with(|state| {
            let mut seen = std::collections::HashSet::new();
            ids.iter()
                .filter(|id| seen.insert(**id))
                .filter_map(|id| state.uploads.get(id))
                .filter(|u| u.owner == owner)
                .cloned()
                .collect()
        })
    }

    async fn find_visible(
        &self,
        viewer: UserId,
        id: UploadId,
    ) -> Result<Option<Upload>, InfraError> {
        self.store.with(|state| {
            let upload = state.uploads.get(&id)?;
            let attached_for_viewer = || {
                state
                    .references
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| state.messages.get(m))
                    .any(|m| !m.message.is_deleted() && state.is_member(m.message.chat_id, viewer))
            };
            (upload.owner == viewer || attached_for_viewer()).then(|| upload.clone())
        })
    }

    async fn expire_unattached(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, InfraError> {
        // Compared at whole microseconds, as stored (and as SQL does).
        let before = micros(before);
        self.store.with(|state| {
            let mut doomed: Vec<(OffsetDateTime, UploadId)> = state
                .uploads
                .values()
                .filter(|u| u.created_at < before && !state.references.contains_key(&u.id))
                .map(|u| (u.created_at, u.id))
                .collect();
            doomed.sort_unstable();
            doomed.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            for (_, id) in &doomed {
                state.remove_upload(*id);
            }
            doomed.len() as u64
        })
    }

    async fn unreferenced_blobs(&self, limit: u32) -> Result<Vec<Sha256>, InfraError> {
        self.store.with(|state| {
            state
                .unnamed_blobs()
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect()
        })
    }

    async fn unrecorded(&self, candidates: Vec<Sha256>) -> Result<Vec<Sha256>, InfraError> {
        self.store.with(|state| {
            candidates
                .into_iter()
                .filter(|sha| !state.blob_rows.contains_key(sha))
                .collect()
        })
    }

    async fn collect_blob(
        &self,
        sha256: &Sha256,
        blobs: Arc<dyn BlobStore>,
    ) -> Result<bool, InfraError> {
        loop {
            let ended = self.store.collection_ended();
            let step = self.store.with(|state| {
                if state.collecting.contains(sha256) {
                    return Collecting::Wait;
                }
                // The mark is the blob row's lock of the SQL adapters: it
                // needs no row, so bytes a crash left without one are
                // collected the same way.
                if state.blob_is_named(sha256) {
                    return Collecting::Named;
                }
                state.collecting.insert(sha256.clone());
                Collecting::Marked
            })?;
            match step {
                Collecting::Wait => ended.await,
                Collecting::Named => return Ok(false),
                Collecting::Marked => break,
            }
        }
        // The bytes go outside the lock; the mark keeps uploads of them
        // waiting meanwhile, and goes when this ends (or is dropped).
        let mark = Mark {
            store: &self.store,
            sha256,
        };
        let deleted = blobs.delete(sha256).await;
        if deleted.is_ok() {
            self.store.with(|state| state.forget_blob(sha256))?;
        }
        drop(mark);
        match deleted {
            Ok(()) => Ok(true),
            Err(BlobError::Infra(e)) => Err(e),
            Err(other) => Err(InfraError::unexpected(other)),
        }
    }
}
