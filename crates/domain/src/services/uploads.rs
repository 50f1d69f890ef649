//! Uploads: receive a file (streamed, bounded, typed from its bytes,
//! under the owner's quota) and read it back (its owner, or a member of a
//! chat where a live message attaches it; anyone else gets
//! [`UploadError::NotFound`]). The order of the steps is what keeps a
//! referenced blob from being lost: see `docs/design/attachments.md`.

use std::sync::Arc;

use crate::error::InfraError;
use crate::ids::{UploadId, UserId};
use crate::ports::{
    BlobError, BlobStore, ChunkSource, Clock, CreateUploadError, ImagePreviewer, Staged,
    TypeSniffer, UploadRepository,
};
use crate::upload::{ByteRange, ContentType, FileName, Upload, UploadPolicy};

/// Why an upload or a read failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Larger than `uploads.max_bytes`.
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    /// The owner's quota would be exceeded.
    #[error("the upload quota is used up")]
    QuotaExceeded,
    /// The detected type is not allowed (or unknown).
    #[error("files of type {0} are not accepted")]
    UnsupportedType(String),
    /// No such upload, or the caller may not read it.
    #[error("not found")]
    NotFound,
    /// The range starts past the end (HTTP 416); carries the size.
    #[error("the range is not satisfiable")]
    RangeNotSatisfiable(u64),
    /// The client's bytes stopped arriving.
    #[error("the upload was interrupted")]
    Interrupted,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

impl From<BlobError> for UploadError {
    fn from(error: BlobError) -> Self {
        match error {
            BlobError::NotFound => InfraError::unexpected("a recorded blob is missing").into(),
            BlobError::Infra(e) => e.into(),
            BlobError::Source(_) => Self::Interrupted,
            BlobError::TooLarge => Self::Interrupted,
        }
    }
}

/// What a read gives: the upload, the range served (`None`: all of it),
/// and its bytes.
pub struct Download {
    /// The upload.
    pub upload: Upload,
    /// The bytes served, when a range was asked for.
    pub range: Option<ByteRange>,
    /// The bytes.
    pub body: Box<dyn ChunkSource>,
}

/// What one collection run removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    /// Uploads no message attaches, past their time to live.
    pub uploads: u64,
    /// Blobs no upload names any more.
    pub blobs: u64,
    /// Stored bytes no record names (left by a crash), older than an hour.
    pub orphans: u64,
    /// Staged copies left by a crash mid-upload.
    pub staged: u64,
    /// Blobs that could not be collected this time (tried again next run).
    pub failed: u64,
}

/// How long stored bytes without a record, or a staged copy, are left
/// alone: far longer than any upload takes between its steps.
pub const ORPHAN_GRACE: time::Duration = time::Duration::hours(1);

/// The upload use cases.
#[derive(Clone)]
pub struct UploadService {
    uploads: Arc<dyn UploadRepository>,
    blobs: Arc<dyn BlobStore>,
    sniffer: Arc<dyn TypeSniffer>,
    previewer: Arc<dyn ImagePreviewer>,
    clock: Arc<dyn Clock>,
    policy: UploadPolicy,
}

impl UploadService {
    /// Wires the service to its ports.
    pub fn new(
        uploads: Arc<dyn UploadRepository>,
        blobs: Arc<dyn BlobStore>,
        sniffer: Arc<dyn TypeSniffer>,
        previewer: Arc<dyn ImagePreviewer>,
        clock: Arc<dyn Clock>,
        policy: UploadPolicy,
    ) -> Self {
        Self {
            uploads,
            blobs,
            sniffer,
            previewer,
            clock,
            policy,
        }
    }

    /// The limits in force.
    pub fn policy(&self) -> &UploadPolicy {
        &self.policy
    }

    /// Receives a file from `owner`: streamed to storage (never whole in
    /// memory), refused as soon as it passes `max_bytes`, typed from its
    /// first bytes and checked against the allow-list, recorded under the
    /// owner's quota. Nothing is kept when it is refused. An image gets
    /// its dimensions and a thumbnail (when it can be read).
    ///
    /// # Errors
    /// [`UploadError::TooLarge`], [`UploadError::UnsupportedType`],
    /// [`UploadError::QuotaExceeded`], [`UploadError::Interrupted`], or
    /// storage failure.
    pub async fn receive(
        &self,
        owner: UserId,
        filename: &str,
        source: Box<dyn ChunkSource>,
    ) -> Result<Upload, UploadError> {
        let staged = match self.blobs.stage(source, self.policy.max_bytes).await {
            Ok(staged) => staged,
            Err(BlobError::TooLarge) => return Err(UploadError::TooLarge(self.policy.max_bytes)),
            Err(other) => return Err(other.into()),
        };
        let result = self.keep(owner, filename, &staged).await;
        self.blobs.release(staged).await;
        result
    }

    async fn keep(
        &self,
        owner: UserId,
        filename: &str,
        staged: &Staged,
    ) -> Result<Upload, UploadError> {
        let detected = self.sniffer.sniff(&staged.head);
        let content_type = detected
            .as_deref()
            .and_then(|t| ContentType::new(t).ok())
            .filter(|t| self.policy.allowed.allows(t))
            .ok_or_else(|| {
                UploadError::UnsupportedType(detected.unwrap_or_else(|| "unknown".to_owned()))
            })?;
        // A quota already used up is told before any work (the check that
        // counts is `create`'s, under the owner's lock).
        let used = self.uploads.used_bytes(owner).await?;
        if used.saturating_add(staged.size) > self.policy.quota_bytes {
            return Err(UploadError::QuotaExceeded);
        }
        // The blob exists before any record names it; so does the
        // thumbnail's.
        self.blobs.commit(staged).await?;
        let preview = self
            .preview_of(&content_type, &staged.sha256, staged.size)
            .await;
        let thumbnail_bytes = preview.as_ref().and_then(|p| p.thumbnail.as_deref());
        let thumbnail = match thumbnail_bytes {
            Some(bytes) => self.store_small(bytes).await.ok(),
            None => None,
        };
        let upload = Upload {
            id: UploadId::new(),
            owner,
            filename: FileName::clean(filename),
            content_type,
            size: staged.size,
            sha256: staged.sha256.clone(),
            width: preview.as_ref().map(|p| p.width),
            height: preview.as_ref().map(|p| p.height),
            thumbnail,
            created_at: self.clock.now(),
        };
        let refused = match self.uploads.create(&upload, self.policy.quota_bytes).await {
            Ok(()) => None,
            Err(CreateUploadError::QuotaExceeded) => Some(UploadError::QuotaExceeded),
            Err(CreateUploadError::Infra(e)) => Some(e.into()),
        };
        if let Some(refused) = refused {
            // Nothing kept: the bytes go at once, unless another upload
            // names them (the collection's lock decides).
            for sha in std::iter::once(&upload.sha256).chain(&upload.thumbnail) {
                let _ = self
                    .uploads
                    .collect_blob(sha, Arc::clone(&self.blobs))
                    .await;
            }
            return Err(refused);
        }
        // A collection of the same bytes may have removed the blob between
        // the commit and the record (it held the blob's row; the record
        // waited for it): write it again from the staged copy.
        if !self.blobs.exists(&upload.sha256).await? {
            self.blobs.commit(staged).await?;
        }
        if let (Some(sha), Some(bytes)) = (&upload.thumbnail, thumbnail_bytes)
            && !self.blobs.exists(sha).await?
        {
            self.store_small(bytes).await?;
        }
        Ok(upload)
    }

    /// An upload's record, when `viewer` may read it.
    ///
    /// # Errors
    /// [`UploadError::NotFound`], or storage failure.
    pub async fn find(&self, viewer: UserId, id: UploadId) -> Result<Upload, UploadError> {
        self.uploads
            .find_visible(viewer, id)
            .await?
            .ok_or(UploadError::NotFound)
    }

    /// Reads an upload (or its thumbnail), whole or the HTTP range
    /// `range`.
    ///
    /// # Errors
    /// [`UploadError::NotFound`] (also for a thumbnail that does not
    /// exist), [`UploadError::RangeNotSatisfiable`], or storage failure.
    pub async fn open(
        &self,
        viewer: UserId,
        id: UploadId,
        thumbnail: bool,
        range: Option<&str>,
    ) -> Result<Download, UploadError> {
        let upload = self.find(viewer, id).await?;
        let (sha256, size) = if thumbnail {
            let sha = upload.thumbnail.clone().ok_or(UploadError::NotFound)?;
            // A thumbnail's size is not recorded: served whole.
            (sha, None)
        } else {
            (upload.sha256.clone(), Some(upload.size))
        };
        let range = match size {
            Some(size) => ByteRange::resolve(range, size)
                .map_err(|()| UploadError::RangeNotSatisfiable(size))?,
            None => None,
        };
        let body = self.blobs.open(&sha256, range).await?;
        Ok(Download {
            upload,
            range,
            body,
        })
    }
}

impl UploadService {
    /// One collection run (every instance runs them; they only share the
    /// work): uploads no message attaches that are older than
    /// `unattached_ttl`; then blobs no upload names; then stored bytes and
    /// staged copies left by crashes. Each step is safe to interrupt:
    /// the next run finishes it. At most `batch` of each per run.
    ///
    /// # Errors
    /// [`UploadError::Infra`] when storage fails.
    pub async fn collect(
        &self,
        unattached_ttl: time::Duration,
        batch: u32,
    ) -> Result<Collected, UploadError> {
        let now = self.clock.now();
        let mut collected = Collected {
            uploads: self
                .uploads
                .expire_unattached(now - unattached_ttl, batch)
                .await?,
            ..Collected::default()
        };
        for sha in self.uploads.unreferenced_blobs(batch).await? {
            // One blob that cannot be collected does not stop the others.
            match self
                .uploads
                .collect_blob(&sha, Arc::clone(&self.blobs))
                .await
            {
                Ok(true) => collected.blobs += 1,
                Ok(false) => {}
                Err(_) => collected.failed += 1,
            }
        }
        // Bytes without a row: orphans, collected under the same lock.
        let old = self
            .blobs
            .list_older(now - ORPHAN_GRACE, usize::MAX)
            .await?;
        let mut orphans = Vec::new();
        for chunk in old.chunks(500) {
            orphans.extend(self.uploads.unrecorded(chunk.to_vec()).await?);
        }
        for sha in orphans
            .iter()
            .take(usize::try_from(batch).unwrap_or(usize::MAX))
        {
            match self
                .uploads
                .collect_blob(sha, Arc::clone(&self.blobs))
                .await
            {
                Ok(true) => collected.orphans += 1,
                Ok(false) => {}
                Err(_) => collected.failed += 1,
            }
        }
        collected.staged = self.blobs.sweep_staging(now - ORPHAN_GRACE).await? as u64;
        Ok(collected)
    }
}

mod previews;
#[cfg(test)]
mod tests;
