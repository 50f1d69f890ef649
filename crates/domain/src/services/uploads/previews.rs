//! Image previews for uploads: dimensions and a thumbnail, made once when
//! the file arrives and stored as a blob of its own. A preview is a
//! nicety: an image that cannot be read (or a thumbnail that cannot be
//! stored) is still accepted, without one.

use async_trait::async_trait;

use super::UploadService;
use crate::ports::{BlobError, ChunkSource, Preview};
use crate::upload::{ContentType, Sha256};

/// Bytes already in memory, as a source (a thumbnail, a few KiB).
struct InMemory(Option<Vec<u8>>);

#[async_trait]
impl ChunkSource for InMemory {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self.0.take())
    }
}

impl UploadService {
    /// The preview of a committed blob, when it is an image the previewer
    /// reads.
    pub(super) async fn preview_of(
        &self,
        content_type: &ContentType,
        sha256: &Sha256,
        size: u64,
    ) -> Option<Preview> {
        if !self.previewer.reads(content_type) {
            return None;
        }
        let image = self.blobs.open(sha256, None).await.ok()?;
        self.previewer.preview(image, size).await
    }

    /// Stores small bytes (a thumbnail) as a blob; its name.
    pub(super) async fn store_small(&self, bytes: &[u8]) -> Result<Sha256, BlobError> {
        let staged = self
            .blobs
            .stage(Box::new(InMemory(Some(bytes.to_vec()))), bytes.len() as u64)
            .await?;
        let committed = self.blobs.commit(&staged).await;
        let sha256 = staged.sha256.clone();
        self.blobs.release(staged).await;
        committed.map(|()| sha256)
    }
}
