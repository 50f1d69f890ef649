//! Uploads: blob storage and the uploads' records.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::error::{BoxError, InfraError};
use crate::ids::{UploadId, UserId};
use crate::upload::{ByteRange, ContentType, Sha256, Upload};

/// How many leading bytes a staged blob keeps for type detection.
pub const SNIFF_BYTES: usize = 8192;

/// Bytes arriving (a request body) or leaving (a stored blob) in chunks,
/// so that no file is ever held whole in memory.
#[async_trait]
pub trait ChunkSource: Send {
    /// The next chunk; `None` at the end.
    ///
    /// # Errors
    /// [`BlobError`] when the source fails (a client that went away, a
    /// storage read error).
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError>;
}

/// A blob spooled to a temporary place, hashed and counted, not yet
/// readable under its name.
#[derive(Debug)]
pub struct Staged {
    /// The digest of its bytes.
    pub sha256: Sha256,
    /// Its size in bytes.
    pub size: u64,
    /// Its first [`SNIFF_BYTES`] bytes (fewer when it is smaller).
    pub head: Vec<u8>,
    /// Where the adapter keeps it (opaque to the domain).
    pub handle: String,
}

/// A failure of blob storage or of the bytes' source.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// More than the allowed bytes arrived; nothing was kept.
    #[error("the upload is larger than allowed")]
    TooLarge,
    /// No blob of that name.
    #[error("no such blob")]
    NotFound,
    /// The bytes' source failed (e.g. the client went away mid-upload).
    #[error("the upload was interrupted")]
    Source(#[source] BoxError),
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Where blobs live: content-addressed, written once, read in ranges.
/// Contract (`missive_infra`'s blob contract suite): a staged blob is
/// readable only after `commit`; committing the same bytes twice (even at
/// once) keeps one blob; a read returns exactly the stored bytes or range.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Spools `source` while hashing and counting; [`BlobError::TooLarge`]
    /// as soon as more than `max_bytes` arrived (the partial copy is
    /// removed).
    ///
    /// # Errors
    /// [`BlobError`] as above, or when the source or storage fails.
    async fn stage(
        &self,
        source: Box<dyn ChunkSource>,
        max_bytes: u64,
    ) -> Result<Staged, BlobError>;

    /// Makes a staged blob readable under its digest; an existing blob is
    /// left as it is. The staged copy stays until [`Self::release`], so a
    /// blob removed meanwhile can be committed again.
    ///
    /// # Errors
    /// [`BlobError::Infra`] when storage fails.
    async fn commit(&self, staged: &Staged) -> Result<(), BlobError>;

    /// Removes the staged copy.
    async fn release(&self, staged: Staged);

    /// Reads a blob, whole or a range of it.
    ///
    /// # Errors
    /// [`BlobError::NotFound`], or [`BlobError::Infra`].
    async fn open(
        &self,
        sha256: &Sha256,
        range: Option<ByteRange>,
    ) -> Result<Box<dyn ChunkSource>, BlobError>;

    /// Whether a blob exists.
    ///
    /// # Errors
    /// [`BlobError::Infra`] when storage fails.
    async fn exists(&self, sha256: &Sha256) -> Result<bool, BlobError>;

    /// Deletes a blob; a missing one is not an error.
    ///
    /// # Errors
    /// [`BlobError::Infra`] when storage fails.
    async fn delete(&self, sha256: &Sha256) -> Result<(), BlobError>;

    /// Up to `limit` blobs stored before `before` (for the sweep of blobs
    /// no record names).
    ///
    /// # Errors
    /// [`BlobError::Infra`] when storage fails.
    async fn list_older(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Sha256>, BlobError>;

    /// Removes staged copies older than `before` (left by a crash
    /// mid-upload); how many.
    ///
    /// # Errors
    /// [`BlobError::Infra`] when storage fails.
    async fn sweep_staging(&self, before: OffsetDateTime) -> Result<usize, BlobError>;
}

/// An image's size in pixels, and a small preview of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// A small copy (encoded; its type is told by its bytes), when the
    /// image could be decoded within the adapter's limits.
    pub thumbnail: Option<Vec<u8>>,
}

/// Reads images: their dimensions and a thumbnail. Decoding is CPU and
/// memory heavy, so adapters do it off the async runtime, a bounded
/// number at a time, within pixel and memory limits.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ImagePreviewer: Send + Sync {
    /// Whether it reads images of this type (so the bytes need not be
    /// read for any other).
    fn reads(&self, content_type: &ContentType) -> bool;

    /// The image's preview; `None` when it cannot be read as one.
    async fn preview(&self, image: Box<dyn ChunkSource>, size: u64) -> Option<Preview>;
}

/// Detects a file's media type from its first bytes.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TypeSniffer: Send + Sync {
    /// The media type the bytes are (by their magic numbers), text when
    /// they are UTF-8 text, `None` when unknown.
    fn sniff(&self, head: &[u8]) -> Option<String>;
}

/// Refusals of [`UploadRepository::create`].
#[derive(Debug, thiserror::Error)]
pub enum CreateUploadError {
    /// The owner's uploads would hold more than their quota.
    #[error("the upload quota is used up")]
    QuotaExceeded,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// The uploads' records.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UploadRepository: Send + Sync {
    /// Records an upload (and its blob) under the owner's quota, checked
    /// under a lock on the owner so parallel uploads cannot overrun it.
    ///
    /// # Errors
    /// [`CreateUploadError::QuotaExceeded`], or storage failure.
    async fn create(&self, upload: &Upload, quota_bytes: u64) -> Result<(), CreateUploadError>;

    /// The bytes `owner`'s uploads hold together (what the quota counts).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn used_bytes(&self, owner: UserId) -> Result<u64, InfraError>;

    /// Those of `ids` that `owner` uploaded (and that still exist), in
    /// any order.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_owned(&self, owner: UserId, ids: &[UploadId]) -> Result<Vec<Upload>, InfraError>;

    /// The upload, when `viewer` may read it: its owner, or a member of a
    /// chat where a live message attaches it.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_visible(
        &self,
        viewer: UserId,
        id: UploadId,
    ) -> Result<Option<Upload>, InfraError>;

    /// Deletes up to `limit` uploads created before `before` that no
    /// message attaches (never attached, or every attaching message
    /// deleted); how many.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn expire_unattached(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, InfraError>;

    /// Up to `limit` blobs no upload names (as its content or thumbnail).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn unreferenced_blobs(&self, limit: u32) -> Result<Vec<Sha256>, InfraError>;

    /// Those of `candidates` that have no blob row (stored bytes a crash
    /// left unrecorded).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn unrecorded(&self, candidates: Vec<Sha256>) -> Result<Vec<Sha256>, InfraError>;

    /// Deletes a blob's bytes from `blobs` and its row, when no upload
    /// names it — all inside one transaction that holds the blob row's
    /// lock from its first statement (creating the row if a crash left
    /// bytes without one), so an upload of the same bytes either waits
    /// and writes them again, or keeps them. Whether it was deleted.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails (nothing is deleted then, or
    /// only the bytes: the next run finishes).
    async fn collect_blob(
        &self,
        sha256: &Sha256,
        blobs: std::sync::Arc<dyn BlobStore>,
    ) -> Result<bool, InfraError>;
}
