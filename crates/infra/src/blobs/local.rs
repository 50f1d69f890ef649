//! Blobs on the local file system, under one directory:
//!
//! - `tmp/<uuid>.part` — staged uploads, hashed as they are written;
//! - `blobs/ab/cd/<sha256>` — blobs, named by their digest.
//!
//! A blob is made readable by a hard link from its staged file: atomic
//! (a crash never leaves a half file under a real name), and "already
//! there" when the same bytes were stored before — even by a parallel
//! upload. Files and their directories are fsynced before the blob is
//! reported stored.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ports::{BlobError, BlobStore, ChunkSource, SNIFF_BYTES, Staged};
use missive_domain::upload::{ByteRange, Sha256};
use sha2::Digest;
use time::OffsetDateTime;
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Bytes read per chunk when serving a blob.
const READ_CHUNK: usize = 64 * 1024;

/// A [`BlobStore`] in a local directory; see the module docs.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

fn io(error: std::io::Error) -> BlobError {
    BlobError::Infra(InfraError::unexpected(error))
}

impl LocalBlobStore {
    /// A store under `root`, creating its directories when missing (at
    /// start-up, so synchronously). Staged files left by a crash are
    /// removed by the upload collection ([`BlobStore::sweep_staging`]).
    ///
    /// # Errors
    /// When the directories cannot be created.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        std::fs::create_dir_all(root.join("tmp")).map_err(io)?;
        std::fs::create_dir_all(root.join("blobs")).map_err(io)?;
        Ok(Self { root })
    }

    fn blob_path(&self, sha: &Sha256) -> PathBuf {
        let hex = sha.as_str();
        self.root
            .join("blobs")
            .join(&hex[..2])
            .join(&hex[2..4])
            .join(hex)
    }
}

async fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    File::open(dir)
        .await
        .map_err(io)?
        .sync_all()
        .await
        .map_err(io)
}

/// A blob (or a range of it) read in chunks.
struct FileChunks {
    file: File,
    remaining: u64,
}

#[async_trait]
impl ChunkSource for FileChunks {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let want = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(READ_CHUNK);
        let mut buffer = vec![0; want];
        let read = self.file.read(&mut buffer).await.map_err(io)?;
        if read == 0 {
            return Err(io(std::io::Error::new(
                ErrorKind::UnexpectedEof,
                "the blob is shorter than recorded",
            )));
        }
        buffer.truncate(read);
        self.remaining -= read as u64;
        Ok(Some(buffer))
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn stage(
        &self,
        mut source: Box<dyn ChunkSource>,
        max_bytes: u64,
    ) -> Result<Staged, BlobError> {
        let path = self
            .root
            .join("tmp")
            .join(format!("{}.part", uuid::Uuid::now_v7()));
        let mut file = File::create(&path).await.map_err(io)?;
        let mut hasher = sha2::Sha256::new();
        let mut size: u64 = 0;
        let mut head = Vec::new();
        let written: Result<(), BlobError> = async {
            while let Some(chunk) = source.next_chunk().await? {
                size += chunk.len() as u64;
                if size > max_bytes {
                    return Err(BlobError::TooLarge);
                }
                if head.len() < SNIFF_BYTES {
                    let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await.map_err(io)?;
            }
            file.sync_all().await.map_err(io)
        }
        .await;
        drop(file);
        if let Err(error) = written {
            let _ = fs::remove_file(&path).await;
            return Err(error);
        }
        Ok(Staged {
            sha256: Sha256::from_digest(&hasher.finalize().into()),
            size,
            head,
            handle: path.to_string_lossy().into_owned(),
        })
    }

    async fn commit(&self, staged: &Staged) -> Result<(), BlobError> {
        let target = self.blob_path(&staged.sha256);
        let dir = target
            .parent()
            .expect("a blob path has a directory")
            .to_owned();
        fs::create_dir_all(&dir).await.map_err(io)?;
        match fs::hard_link(&staged.handle, &target).await {
            Ok(()) => sync_dir(&dir).await,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn release(&self, staged: Staged) {
        let _ = fs::remove_file(&staged.handle).await;
    }

    async fn open(
        &self,
        sha256: &Sha256,
        range: Option<ByteRange>,
    ) -> Result<Box<dyn ChunkSource>, BlobError> {
        let mut file = match File::open(self.blob_path(sha256)).await {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(BlobError::NotFound),
            Err(e) => return Err(io(e)),
        };
        let remaining = match range {
            Some(range) => {
                file.seek(std::io::SeekFrom::Start(range.first))
                    .await
                    .map_err(io)?;
                range.len()
            }
            None => file.metadata().await.map_err(io)?.len(),
        };
        Ok(Box::new(FileChunks { file, remaining }))
    }

    async fn exists(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        fs::try_exists(self.blob_path(sha256)).await.map_err(io)
    }

    async fn delete(&self, sha256: &Sha256) -> Result<(), BlobError> {
        match fs::remove_file(self.blob_path(sha256)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn sweep_staging(&self, before: OffsetDateTime) -> Result<usize, BlobError> {
        let before = SystemTime::from(before);
        let mut removed = 0;
        let mut entries = fs::read_dir(self.root.join("tmp")).await.map_err(io)?;
        while let Some(entry) = entries.next_entry().await.map_err(io)? {
            let old = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .is_some_and(|modified| modified < before);
            if old && fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn list_older(
        &self,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Sha256>, BlobError> {
        let before = SystemTime::from(before);
        let mut found = Vec::new();
        let mut level1 = fs::read_dir(self.root.join("blobs")).await.map_err(io)?;
        while let Some(a) = level1.next_entry().await.map_err(io)? {
            let Ok(mut level2) = fs::read_dir(a.path()).await else {
                continue;
            };
            while let Some(b) = level2.next_entry().await.map_err(io)? {
                let Ok(mut blobs) = fs::read_dir(b.path()).await else {
                    continue;
                };
                while let Some(blob) = blobs.next_entry().await.map_err(io)? {
                    let old = blob
                        .metadata()
                        .await
                        .ok()
                        .and_then(|m| m.modified().ok())
                        .is_some_and(|modified| modified < before);
                    let name = blob.file_name();
                    if let (true, Some(Ok(sha))) = (old, name.to_str().map(Sha256::new)) {
                        found.push(sha);
                        if found.len() >= limit {
                            return Ok(found);
                        }
                    }
                }
            }
        }
        Ok(found)
    }
}
