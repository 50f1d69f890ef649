//! [`BlobStore`] in memory: blobs named by the SHA-256 of their bytes,
//! staged copies under opaque handles until released.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ports::{BlobError, BlobStore, ChunkSource, SNIFF_BYTES, Staged};
use missive_domain::upload::{ByteRange, Sha256};
use sha2::Digest;
use time::OffsetDateTime;

use crate::state::micros;

/// Bytes per chunk when a blob is read back.
const CHUNK_BYTES: usize = 64 * 1024;

/// Bytes with when they were stored.
struct Kept {
    bytes: Arc<Vec<u8>>,
    at: OffsetDateTime,
}

#[derive(Default)]
struct Blobs {
    /// Readable blobs by digest.
    committed: BTreeMap<Sha256, Kept>,
    /// Staged copies by handle.
    staged: HashMap<String, Kept>,
}

/// [`BlobStore`] holding every blob in memory (so, unlike the file and S3
/// stores, a file *is* held whole in memory once staged: this store is for
/// tests, trials and small tools). Keeps the blob contract: a staged blob
/// is readable only after `commit`; committing the same bytes twice, even
/// at once, keeps one blob; a read returns exactly the stored bytes or
/// range. Cheap to clone; clones share the blobs.
#[derive(Clone, Default)]
pub struct MemoryBlobStore {
    blobs: Arc<Mutex<Blobs>>,
    handles: Arc<AtomicU64>,
}

impl fmt::Debug for MemoryBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryBlobStore").finish_non_exhaustive()
    }
}

impl MemoryBlobStore {
    /// A new, empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Blobs>, BlobError> {
        self.blobs
            .lock()
            .map_err(|_| InfraError::unexpected("the blob store was poisoned by a panic").into())
    }
}

/// A blob (or a range of it) read back in chunks.
struct Reader {
    bytes: Arc<Vec<u8>>,
    at: usize,
    end: usize,
}

#[async_trait]
impl ChunkSource for Reader {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        if self.at >= self.end {
            return Ok(None);
        }
        let until = self.end.min(self.at.saturating_add(CHUNK_BYTES));
        let chunk = self.bytes.get(self.at..until).unwrap_or_default().to_vec();
        self.at = until;
        Ok(Some(chunk))
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn stage(
        &self,
        mut source: Box<dyn ChunkSource>,
        max_bytes: u64,
    ) -> Result<Staged, BlobError> {
        let mut bytes = Vec::new();
        let mut hasher = sha2::Sha256::new();
        while let Some(chunk) = source.next_chunk().await? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(BlobError::TooLarge);
            }
            hasher.update(&chunk);
            bytes.extend_from_slice(&chunk);
        }
        let sha256 = Sha256::from_digest(&hasher.finalize().into());
        let handle = format!("staged-{}", self.handles.fetch_add(1, Ordering::Relaxed));
        let staged = Staged {
            sha256,
            size: bytes.len() as u64,
            head: bytes.iter().take(SNIFF_BYTES).copied().collect(),
            handle: handle.clone(),
        };
        let kept = Kept {
            bytes: Arc::new(bytes),
            at: micros(OffsetDateTime::now_utc()),
        };
        self.lock()?.staged.insert(handle, kept);
        Ok(staged)
    }

    async fn commit(&self, staged: &Staged) -> Result<(), BlobError> {
        let mut blobs = self.lock()?;
        let Some(copy) = blobs.staged.get(&staged.handle) else {
            return Err(InfraError::unexpected("the staged copy is gone (swept?)").into());
        };
        let bytes = Arc::clone(&copy.bytes);
        blobs
            .committed
            .entry(staged.sha256.clone())
            .or_insert_with(|| Kept {
                bytes,
                at: micros(OffsetDateTime::now_utc()),
            });
        Ok(())
    }

    async fn release(&self, staged: Staged) {
        // Nothing to answer: a poisoned store refuses every later call
        // anyway, and a copy left behind is only memory.
        if let Ok(mut blobs) = self.lock() {
            blobs.staged.remove(&staged.handle);
        }
    }

    async fn open(
        &self,
        sha256: &Sha256,
        range: Option<ByteRange>,
    ) -> Result<Box<dyn ChunkSource>, BlobError> {
        let bytes = match self.lock()?.committed.get(sha256) {
            Some(kept) => Arc::clone(&kept.bytes),
            None => return Err(BlobError::NotFound),
        };
        let len = bytes.len();
        let (at, end) = match range {
            Some(r) => {
                let first = usize::try_from(r.first).unwrap_or(usize::MAX).min(len);
                let last = usize::try_from(r.last).unwrap_or(usize::MAX);
                (first, last.saturating_add(1).min(len))
            }
            None => (0, len),
        };
        Ok(Box::new(Reader { bytes, at, end }))
    }

    async fn exists(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        Ok(self.lock()?.committed.contains_key(sha256))
    }

    async fn delete(&self, sha256: &Sha256) -> Result<(), BlobError> {
        self.lock()?.committed.remove(sha256);
        Ok(())
    }

    async fn list_older(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Sha256>, BlobError> {
        Ok(self
            .lock()?
            .committed
            .iter()
            .filter(|(_, kept)| kept.at < before)
            .take(limit)
            .map(|(sha, _)| sha.clone())
            .collect())
    }

    async fn sweep_staging(&self, before: OffsetDateTime) -> Result<usize, BlobError> {
        let mut blobs = self.lock()?;
        let count = blobs.staged.len();
        blobs.staged.retain(|_, kept| kept.at >= before);
        Ok(count - blobs.staged.len())
    }
}
