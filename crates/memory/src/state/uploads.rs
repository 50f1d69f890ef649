//! Upload records and blob rows with the bookkeeping kept beside them:
//! the bytes each owner uses, how many records name each blob, and the
//! blob rows nobody names. Quotas and the collector read these, never
//! every upload.

use missive_domain::ids::{UploadId, UserId};
use missive_domain::upload::{Sha256, Upload};
use time::OffsetDateTime;

use super::{State, micros};

/// The blobs an upload record names: its content, then its thumbnail.
fn blobs_of(upload: &Upload) -> impl Iterator<Item = &Sha256> {
    std::iter::once(&upload.sha256).chain(&upload.thumbnail)
}

impl State {
    /// The bytes `owner`'s uploads hold together.
    pub fn used_by(&self, owner: UserId) -> u64 {
        self.used
            .get(&owner)
            .map_or(0, |used| u64::try_from(*used).unwrap_or(u64::MAX))
    }

    /// Whether an upload record names the blob (as content or thumbnail).
    pub fn blob_is_named(&self, sha256: &Sha256) -> bool {
        self.named.contains_key(sha256)
    }

    /// The blob rows no upload record names, in digest order.
    pub fn unnamed_blobs(&self) -> impl Iterator<Item = &Sha256> {
        self.unnamed.iter()
    }

    /// Stores an upload record (its time cut to whole microseconds) and
    /// records its blobs, first recorded at its creation.
    pub fn add_upload(&mut self, mut upload: Upload) {
        upload.created_at = micros(upload.created_at);
        *self.used.entry(upload.owner).or_default() += u128::from(upload.size);
        for sha in blobs_of(&upload) {
            let count = self.named.entry(sha.clone()).or_default();
            *count += 1;
            if *count == 1 {
                self.unnamed.remove(sha);
            }
        }
        for sha in blobs_of(&upload) {
            self.record_blob(sha, upload.created_at);
        }
        if let Some(old) = self.uploads.insert(upload.id, upload) {
            // Never happens (ids are checked first); keep the counts
            // right anyway.
            self.unaccount(&old);
        }
    }

    /// Removes an upload record; the record, if there was one.
    pub fn remove_upload(&mut self, id: UploadId) -> Option<Upload> {
        let upload = self.uploads.remove(&id)?;
        self.unaccount(&upload);
        Some(upload)
    }

    /// Takes a removed record out of the counts.
    fn unaccount(&mut self, upload: &Upload) {
        if let Some(used) = self.used.get_mut(&upload.owner) {
            *used = used.saturating_sub(u128::from(upload.size));
            if *used == 0 {
                self.used.remove(&upload.owner);
            }
        }
        for sha in blobs_of(upload) {
            let Some(count) = self.named.get_mut(sha) else {
                continue;
            };
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.named.remove(sha);
                if self.blob_rows.contains_key(sha) {
                    self.unnamed.insert(sha.clone());
                }
            }
        }
    }

    /// Records a blob row (kept with the time it was first recorded).
    fn record_blob(&mut self, sha256: &Sha256, at: OffsetDateTime) {
        if self.blob_rows.contains_key(sha256) {
            return;
        }
        self.blob_rows.insert(sha256.clone(), micros(at));
        if !self.blob_is_named(sha256) {
            self.unnamed.insert(sha256.clone());
        }
    }

    /// Removes a blob row (its bytes were collected).
    pub fn forget_blob(&mut self, sha256: &Sha256) {
        self.blob_rows.remove(sha256);
        self.unnamed.remove(sha256);
    }
}
