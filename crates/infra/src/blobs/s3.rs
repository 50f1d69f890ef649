//! Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, R2, …),
//! through `object_store`'s S3 client, under an optional key prefix:
//!
//! - `staging/<uuid>` — staged uploads, hashed as they are written;
//! - `blobs/ab/cd/<sha256>` — blobs, named by their digest.
//!
//! **Staging goes straight to the bucket.** Bytes are sent as they
//! arrive: a blob smaller than one part ([`PART_BYTES`], 8 MiB) is
//! gathered in memory and sent as one `PUT` (S3 wants a `PUT`'s length
//! up front); a larger one becomes a multipart upload of 8 MiB parts, at
//! most [`PARTS_IN_FLIGHT`] of them on the wire at once, so an upload
//! holds at most about `(PARTS_IN_FLIGHT + 1) × 8 MiB` in memory whatever
//! its size.
//! An instance then needs no local disk, bytes cross the network once,
//! and staged copies left by a crash are visible to every instance's
//! [`BlobStore::sweep_staging`]. (Spooling to a local temporary file first
//! would use less memory, but needs a disk on every instance and sends
//! every byte twice through the instance.) When more than `max_bytes`
//! arrive, or the source or the storage fails, the multipart upload is
//! aborted (its parts deleted) before the error is returned; a stage
//! dropped mid-way aborts it from a background task.
//!
//! **Commit is a server-side copy** from the staged key to the blob's
//! key, after a `HEAD` that leaves an existing blob as it is. Two commits
//! of the same bytes at once may both copy: the content under a digest is
//! the same whichever copy lands last, and S3 replaces objects atomically,
//! so a reader never sees a half blob. The staged copy stays until
//! [`BlobStore::release`], so a blob collected meanwhile can be committed
//! again.
//!
//! **Reads** are ranged `GET`s streamed chunk by chunk. A read that
//! breaks (a stalled or reset connection — also a client on the other end
//! that reads too slowly for the store's idle timeout) resumes with a new
//! ranged `GET` from where it stopped: a key names one content, so the
//! resumed bytes are the same bytes.
//!
//! **What S3 cannot do as the local store does.** A multipart upload
//! interrupted by a crash is not an object: no listing sees it, and
//! [`BlobStore::sweep_staging`] cannot remove it. Give the bucket a
//! lifecycle rule that aborts incomplete multipart uploads after a day.
//! A copy is one `CopyObject` request, which AWS limits to 5 GiB blobs.
//! On a versioned bucket, deleted blobs stay as old versions. Blob ages
//! ([`BlobStore::list_older`], [`BlobStore::sweep_staging`]) are the
//! objects' `Last-Modified`, as the server's clock reports it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use missive_domain::InfraError;
use missive_domain::ports::{BlobError, BlobStore, ChunkSource, SNIFF_BYTES, Staged};
use missive_domain::upload::{ByteRange, Sha256};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt, RetryConfig,
};
use sha2::Digest;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

/// The size of a multipart upload's parts (S3 wants at least 5 MiB for
/// all but the last), and the size up to which a blob is one `PUT`.
pub const PART_BYTES: usize = 8 * 1024 * 1024;

/// Parts of one upload sent at once (each holds [`PART_BYTES`] in memory).
pub const PARTS_IN_FLIGHT: usize = 2;

/// Failed attempts in a row, without a byte read between them, after
/// which a read gives up.
const READ_RESUMES: u32 = 3;

/// Where an [`S3BlobStore`] keeps its blobs.
#[derive(Clone)]
pub struct S3Config {
    /// The bucket; it must exist.
    pub bucket: String,
    /// The service's URL (`http://127.0.0.1:9000` for MinIO); `None` for
    /// AWS S3 in `region`. A custom endpoint is addressed path-style
    /// (`<endpoint>/<bucket>/<key>`), AWS virtual-host style.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// The access key's id.
    pub access_key_id: String,
    /// The access key's secret (never printed by `Debug`).
    pub secret_access_key: String,
    /// Whether a plain-HTTP endpoint is accepted (tests, a server on the
    /// same host); HTTPS otherwise.
    pub allow_http: bool,
    /// A key prefix (`missive/prod`), so that several deployments can
    /// share a bucket; `None` for the bucket's root.
    pub prefix: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// A [`BlobStore`] in an S3-compatible bucket; see the module docs.
#[derive(Clone)]
pub struct S3BlobStore {
    /// Writes, copies, listings and `HEAD`s: every request must finish
    /// within the client's request timeout.
    store: Arc<AmazonS3>,
    /// Streamed reads: no deadline for the whole body (it flows at the
    /// pace of whoever reads it), only one for each read of the socket.
    reader: Arc<AmazonS3>,
    /// `[prefix/]staging`.
    staging: Path,
    /// `[prefix/]blobs`.
    blobs: Path,
    /// For `Debug`.
    bucket: String,
}

impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .field("blobs", &self.blobs.as_ref())
            .finish_non_exhaustive()
    }
}

/// Storage failed: unavailable when the service could not be reached (or
/// timed out), unexpected otherwise (refused credentials, a missing
/// bucket, an error status).
fn storage(error: object_store::Error) -> BlobError {
    BlobError::Infra(if unreachable(&error) {
        InfraError::Unavailable(Box::new(error))
    } else {
        InfraError::unexpected(error)
    })
}

fn unreachable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(http) = error.downcast_ref::<HttpError>() {
            return matches!(
                http.kind(),
                HttpErrorKind::Connect
                    | HttpErrorKind::Timeout
                    | HttpErrorKind::Request
                    | HttpErrorKind::Interrupted
            );
        }
        next = error.source();
    }
    false
}

/// The same for `object_store`'s `AsyncWrite` side, which wraps its
/// errors in `std::io::Error`.
fn storage_io(error: std::io::Error) -> BlobError {
    match error
        .into_inner()
        .map(|inner| inner.downcast::<object_store::Error>())
    {
        Some(Ok(error)) => storage(*error),
        Some(Err(other)) => BlobError::Infra(InfraError::Unexpected(other)),
        None => BlobError::Infra(InfraError::unexpected("the upload's writer failed")),
    }
}

fn invalid(message: String) -> BlobError {
    BlobError::Infra(InfraError::unexpected(message))
}

/// `Last-Modified` in nanoseconds since the epoch.
fn modified_nanos(meta: &ObjectMeta) -> i128 {
    i128::from(meta.last_modified.timestamp()) * 1_000_000_000
        + i128::from(meta.last_modified.timestamp_subsec_nanos())
}

impl S3BlobStore {
    /// A store in `config.bucket`. Nothing is sent yet (see
    /// [`Self::check`]); the bucket must exist.
    ///
    /// # Errors
    /// When the configuration cannot work: no bucket, an endpoint that is
    /// not an `https://` URL (or `http://` without `allow_http`), a
    /// prefix that is not a key path (empty segments, `.` or `..`).
    pub fn new(config: S3Config) -> Result<Self, BlobError> {
        if config.bucket.trim().is_empty() {
            return Err(invalid("no storage bucket is set".to_owned()));
        }
        if let Some(endpoint) = &config.endpoint {
            let allowed = endpoint.starts_with("https://")
                || (config.allow_http && endpoint.starts_with("http://"));
            if !allowed {
                return Err(invalid(format!(
                    "storage endpoint {endpoint:?} is not an https:// URL (http:// needs allow_http)"
                )));
            }
        }
        let root = match config
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
        {
            Some(prefix) => Path::parse(prefix)
                .map_err(|e| invalid(format!("storage prefix {prefix:?}: {e}")))?,
            None => Path::default(),
        };
        // Retrying for minutes would hold a request that long: a few
        // quick retries, then the caller's error.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        };
        let build = |options: ClientOptions| {
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(&config.bucket)
                .with_region(&config.region)
                .with_access_key_id(&config.access_key_id)
                .with_secret_access_key(&config.secret_access_key)
                .with_retry(retry.clone())
                .with_client_options(
                    options
                        .with_allow_http(config.allow_http)
                        .with_connect_timeout(Duration::from_secs(5)),
                );
            builder = match &config.endpoint {
                Some(endpoint) => builder
                    .with_endpoint(endpoint)
                    .with_virtual_hosted_style_request(false),
                None => builder.with_virtual_hosted_style_request(true),
            };
            builder.build().map(Arc::new).map_err(storage)
        };
        Ok(Self {
            store: build(ClientOptions::new().with_timeout(Duration::from_secs(30)))?,
            reader: build(
                ClientOptions::new()
                    .with_timeout_disabled()
                    .with_read_timeout(Duration::from_secs(30)),
            )?,
            staging: root.clone().join("staging"),
            blobs: root.join("blobs"),
            bucket: config.bucket,
        })
    }

    /// Checks that the bucket answers and takes the credentials (one
    /// listing of at most a page of staged keys), for a start-up check.
    ///
    /// # Errors
    /// [`BlobError::Infra`] when it does not.
    pub async fn check(&self) -> Result<(), BlobError> {
        self.store
            .list_with_delimiter(Some(&self.staging))
            .await
            .map(drop)
            .map_err(storage)
    }

    fn blob_key(&self, sha: &Sha256) -> Path {
        let hex = sha.as_str();
        self.blobs
            .clone()
            .join(&hex[..2])
            .join(&hex[2..4])
            .join(hex)
    }

    /// Whether an object exists (`HEAD`).
    async fn head(&self, key: &Path) -> Result<bool, BlobError> {
        match self.store.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(storage(e)),
        }
    }
}

/// A staging upload that is aborted unless it was finished: on an error,
/// and from a background task when the stage is dropped mid-way.
struct Pending {
    writer: Option<BufWriter>,
}

impl Pending {
    async fn put(&mut self, chunk: Vec<u8>) -> Result<(), BlobError> {
        match self.writer.as_mut() {
            Some(writer) => writer.put(Bytes::from(chunk)).await.map_err(storage),
            None => Err(invalid("the staged upload was already closed".to_owned())),
        }
    }

    /// Completes the upload (the single `PUT`, or the multipart upload's
    /// last part and completion; `object_store` aborts a multipart upload
    /// whose completion fails).
    async fn finish(&mut self) -> Result<(), BlobError> {
        match self.writer.take() {
            Some(mut writer) => writer.shutdown().await.map_err(storage_io),
            None => Ok(()),
        }
    }

    async fn abort(&mut self) {
        if let Some(mut writer) = self.writer.take()
            && let Err(error) = writer.abort().await
        {
            tracing::warn!(error = %error, "could not abort a staged multipart upload");
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(mut writer) = self.writer.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = writer.abort().await;
            });
        }
    }
}

/// A blob (or a range of it) read in chunks, resuming after a broken
/// read.
struct ObjectChunks {
    reader: Arc<AmazonS3>,
    key: Path,
    /// The next byte to read.
    at: u64,
    /// One past the last byte to read.
    end: u64,
    body: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    /// Failed attempts since the last byte read.
    failures: u32,
}

#[async_trait]
impl ChunkSource for ObjectChunks {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        while self.at < self.end {
            if self.body.is_none() {
                match self.get_rest().await {
                    Ok(body) => self.body = Some(body),
                    Err(error) => {
                        self.fail(error)?;
                        continue;
                    }
                }
            }
            let Some(body) = self.body.as_mut() else {
                continue;
            };
            match body.next().await {
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    let left = usize::try_from(self.end - self.at).unwrap_or(usize::MAX);
                    let chunk = if chunk.len() > left {
                        chunk.slice(..left)
                    } else {
                        chunk
                    };
                    self.at += chunk.len() as u64;
                    self.failures = 0;
                    return Ok(Some(Vec::from(chunk)));
                }
                Some(Err(error)) => {
                    self.body = None;
                    self.fail(error)?;
                }
                None => {
                    self.body = None;
                    self.fail(object_store::Error::Generic {
                        store: "S3",
                        source: "the object ended before its recorded length".into(),
                    })?;
                }
            }
        }
        Ok(None)
    }
}

impl ObjectChunks {
    /// A ranged `GET` of what is left to read (owning what it needs: the
    /// future must be `Send`, and the body stream is not `Sync`).
    fn get_rest(
        &self,
    ) -> impl Future<Output = object_store::Result<BoxStream<'static, object_store::Result<Bytes>>>>
    + Send
    + 'static {
        let (reader, key) = (Arc::clone(&self.reader), self.key.clone());
        let options = GetOptions {
            range: Some(GetRange::Bounded(self.at..self.end)),
            ..GetOptions::default()
        };
        async move { Ok(reader.get_opts(&key, options).await?.into_stream()) }
    }

    /// Counts a failed attempt; the error once there were too many.
    fn fail(&mut self, error: object_store::Error) -> Result<(), BlobError> {
        self.failures += 1;
        if self.failures > READ_RESUMES {
            return Err(storage(error));
        }
        tracing::debug!(error = %error, key = %self.key, at = self.at, "resuming a blob read");
        Ok(())
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn stage(
        &self,
        mut source: Box<dyn ChunkSource>,
        max_bytes: u64,
    ) -> Result<Staged, BlobError> {
        let key = self.staging.clone().join(uuid::Uuid::now_v7().to_string());
        let store: Arc<dyn ObjectStore> = self.store.clone();
        let mut pending = Pending {
            writer: Some(
                BufWriter::with_capacity(store, key.clone(), PART_BYTES)
                    .with_max_concurrency(PARTS_IN_FLIGHT),
            ),
        };
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
                pending.put(chunk).await?;
            }
            pending.finish().await
        }
        .await;
        if let Err(error) = written {
            pending.abort().await;
            return Err(error);
        }
        Ok(Staged {
            sha256: Sha256::from_digest(&hasher.finalize().into()),
            size,
            head,
            handle: key.to_string(),
        })
    }

    async fn commit(&self, staged: &Staged) -> Result<(), BlobError> {
        let target = self.blob_key(&staged.sha256);
        if self.head(&target).await? {
            return Ok(());
        }
        let from = Path::parse(&staged.handle)
            .ok()
            .filter(|from| from.prefix_matches(&self.staging))
            .ok_or_else(|| invalid(format!("not a staged blob: {:?}", staged.handle)))?;
        self.store.copy(&from, &target).await.map_err(storage)
    }

    async fn release(&self, staged: Staged) {
        let Ok(key) = Path::parse(&staged.handle) else {
            return;
        };
        if let Err(error) = self.store.delete(&key).await {
            // Swept later (sweep_staging) if it is still there.
            tracing::warn!(error = %error, key = %key, "could not remove a staged blob");
        }
    }

    async fn open(
        &self,
        sha256: &Sha256,
        range: Option<ByteRange>,
    ) -> Result<Box<dyn ChunkSource>, BlobError> {
        let key = self.blob_key(sha256);
        let options = GetOptions {
            range: range.map(|r| GetRange::Bounded(r.first..r.last.saturating_add(1))),
            ..GetOptions::default()
        };
        let found = match self.reader.get_opts(&key, options).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Err(BlobError::NotFound),
            Err(e) => return Err(storage(e)),
        };
        let (at, end) = (found.range.start, found.range.end);
        Ok(Box::new(ObjectChunks {
            reader: Arc::clone(&self.reader),
            key,
            at,
            end,
            body: Some(found.into_stream()),
            failures: 0,
        }))
    }

    async fn exists(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        self.head(&self.blob_key(sha256)).await
    }

    async fn delete(&self, sha256: &Sha256) -> Result<(), BlobError> {
        match self.store.delete(&self.blob_key(sha256)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage(e)),
        }
    }

    async fn sweep_staging(&self, before: OffsetDateTime) -> Result<usize, BlobError> {
        let before = before.unix_timestamp_nanos();
        let mut removed = 0;
        let mut listing = self.store.list(Some(&self.staging));
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(storage)?;
            if modified_nanos(&meta) < before && self.store.delete(&meta.location).await.is_ok() {
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
        let before = before.unix_timestamp_nanos();
        let mut found = Vec::new();
        let mut listing = self.store.list(Some(&self.blobs));
        while found.len() < limit {
            let Some(meta) = listing.next().await else {
                break;
            };
            let meta = meta.map_err(storage)?;
            let sha = meta
                .location
                .filename()
                .and_then(|name| Sha256::new(name).ok());
            if let (true, Some(sha)) = (modified_nanos(&meta) < before, sha) {
                found.push(sha);
            }
        }
        Ok(found)
    }
}
