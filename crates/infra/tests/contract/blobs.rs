//! The blob store contract: every body runs against each adapter — the
//! local file system, and S3 over HTTP (an in-process S3 server, a fresh
//! one for each body; see `s3.rs`).

use std::sync::Arc;

use missive_domain::ports::{BlobError, BlobStore, ChunkSource, SNIFF_BYTES};
use missive_domain::upload::{ByteRange, Sha256};
use missive_infra::LocalBlobStore;
use sha2::Digest;
use time::OffsetDateTime;

/// Bytes arriving in chunks of `size`.
struct Chunks {
    bytes: Vec<u8>,
    at: usize,
    size: usize,
}

#[async_trait::async_trait]
impl ChunkSource for Chunks {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        if self.at >= self.bytes.len() {
            return Ok(None);
        }
        let end = (self.at + self.size).min(self.bytes.len());
        let chunk = self.bytes[self.at..end].to_vec();
        self.at = end;
        Ok(Some(chunk))
    }
}

fn source(bytes: &[u8]) -> Box<dyn ChunkSource> {
    Box::new(Chunks {
        bytes: bytes.to_vec(),
        at: 0,
        size: 1000,
    })
}

async fn read_all(mut source: Box<dyn ChunkSource>) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = source.next_chunk().await.expect("read") {
        out.extend(chunk);
    }
    out
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// Runs `body` against every adapter.
async fn each_store<F, Fut>(body: F)
where
    F: Fn(Arc<dyn BlobStore>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("a temporary directory");
    let local = LocalBlobStore::new(dir.path()).expect("a local store");
    body(Arc::new(local)).await;

    let server = crate::s3::S3Server::start().await;
    body(Arc::new(server.store())).await;
}

#[tokio::test]
async fn a_staged_blob_is_readable_only_once_committed_and_reads_back_exactly() {
    each_store(|store| async move {
        let bytes = pattern(20_000);
        let staged = store.stage(source(&bytes), 1 << 20).await.expect("staged");
        assert_eq!(staged.size, 20_000);
        assert_eq!(
            staged.sha256,
            Sha256::from_digest(&sha2::Sha256::digest(&bytes).into())
        );
        assert_eq!(staged.head, bytes[..SNIFF_BYTES]);
        assert!(!store.exists(&staged.sha256).await.expect("exists"));
        assert!(matches!(
            store.open(&staged.sha256, None).await,
            Err(BlobError::NotFound)
        ));
        store.commit(&staged).await.expect("commit");
        let sha = staged.sha256.clone();
        store.release(staged).await;
        assert!(store.exists(&sha).await.expect("exists"));
        assert_eq!(
            read_all(store.open(&sha, None).await.expect("open")).await,
            bytes
        );
        let range = ByteRange {
            first: 4095,
            last: 12_000,
        };
        assert_eq!(
            read_all(store.open(&sha, Some(range)).await.expect("open")).await,
            bytes[4095..=12_000]
        );
    })
    .await;
}

#[tokio::test]
async fn more_than_the_limit_is_refused_and_nothing_is_kept() {
    each_store(|store| async move {
        let refused = store.stage(source(&pattern(5001)), 5000).await;
        assert!(matches!(refused, Err(BlobError::TooLarge)), "{refused:?}");
        let exact = store
            .stage(source(&pattern(5000)), 5000)
            .await
            .expect("exactly the limit");
        store.release(exact).await;
        assert!(
            store
                .list_older(OffsetDateTime::now_utc() + time::Duration::hours(1), 10)
                .await
                .expect("list")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn the_same_bytes_committed_twice_at_once_are_one_blob() {
    each_store(|store| async move {
        let bytes = pattern(100_000);
        let (a, b) = tokio::join!(
            store.stage(source(&bytes), 1 << 20),
            store.stage(source(&bytes), 1 << 20)
        );
        let (a, b) = (a.expect("staged"), b.expect("staged"));
        assert_eq!(a.sha256, b.sha256);
        let (x, y) = tokio::join!(store.commit(&a), store.commit(&b));
        x.expect("commit");
        y.expect("commit");
        // Committing again (after a collection, say) is harmless too.
        store.commit(&a).await.expect("commit again");
        let sha = a.sha256.clone();
        store.release(a).await;
        store.release(b).await;
        let listed = store
            .list_older(OffsetDateTime::now_utc() + time::Duration::hours(1), 10)
            .await
            .expect("list");
        assert_eq!(listed, vec![sha.clone()]);
        assert_eq!(
            read_all(store.open(&sha, None).await.expect("open")).await,
            bytes
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_is_final_and_a_missing_blob_is_not_an_error() {
    each_store(|store| async move {
        let staged = store.stage(source(b"bye"), 100).await.expect("staged");
        store.commit(&staged).await.expect("commit");
        let sha = staged.sha256.clone();
        store.release(staged).await;
        store.delete(&sha).await.expect("delete");
        assert!(!store.exists(&sha).await.expect("exists"));
        assert!(matches!(
            store.open(&sha, None).await,
            Err(BlobError::NotFound)
        ));
        store.delete(&sha).await.expect("deleting again");
    })
    .await;
}

#[tokio::test]
async fn only_blobs_older_than_asked_are_listed() {
    each_store(|store| async move {
        let staged = store.stage(source(b"new"), 100).await.expect("staged");
        store.commit(&staged).await.expect("commit");
        store.release(staged).await;
        let hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        assert!(
            store
                .list_older(hour_ago, 10)
                .await
                .expect("list")
                .is_empty()
        );
        let soon = OffsetDateTime::now_utc() + time::Duration::minutes(1);
        assert_eq!(store.list_older(soon, 10).await.expect("list").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_empty_file_is_a_blob_too() {
    each_store(|store| async move {
        let staged = store.stage(source(b""), 100).await.expect("staged");
        assert_eq!(staged.size, 0);
        store.commit(&staged).await.expect("commit");
        let sha = staged.sha256.clone();
        store.release(staged).await;
        assert!(
            read_all(store.open(&sha, None).await.expect("open"))
                .await
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn staged_copies_a_crash_left_are_swept() {
    each_store(|store| async move {
        let staged = store
            .stage(source(b"abandoned"), 100)
            .await
            .expect("staged");
        let hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        assert_eq!(
            store.sweep_staging(hour_ago).await.expect("sweep"),
            0,
            "young: kept"
        );
        let soon = OffsetDateTime::now_utc() + time::Duration::minutes(1);
        assert_eq!(store.sweep_staging(soon).await.expect("sweep"), 1);
        // Committing what was swept fails; nothing was ever readable.
        assert!(store.commit(&staged).await.is_err());
        assert!(!store.exists(&staged.sha256).await.expect("exists"));
    })
    .await;
}
