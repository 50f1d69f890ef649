//! The blob store contract (as `missive-infra` checks its file and S3
//! stores) against [`MemoryBlobStore`].

use missive_domain::ports::{BlobError, BlobStore, ChunkSource, SNIFF_BYTES};
use missive_domain::upload::{ByteRange, Sha256};
use missive_memory::MemoryBlobStore;
use sha2::Digest;
use time::{Duration, OffsetDateTime};

/// Bytes arriving in chunks of 1000.
struct Chunks {
    bytes: Vec<u8>,
    at: usize,
}

#[async_trait::async_trait]
impl ChunkSource for Chunks {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        if self.at >= self.bytes.len() {
            return Ok(None);
        }
        let end = (self.at + 1000).min(self.bytes.len());
        let chunk = self.bytes[self.at..end].to_vec();
        self.at = end;
        Ok(Some(chunk))
    }
}

fn source(bytes: &[u8]) -> Box<dyn ChunkSource> {
    Box::new(Chunks {
        bytes: bytes.to_vec(),
        at: 0,
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

fn soon() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::minutes(1)
}

#[tokio::test]
async fn a_staged_blob_is_readable_only_once_committed_and_reads_back_exactly() {
    let store = MemoryBlobStore::new();
    let bytes = pattern(200_000);
    let staged = store.stage(source(&bytes), 1 << 20).await.expect("staged");
    assert_eq!(staged.size, 200_000);
    assert_eq!(
        staged.sha256,
        Sha256::from_digest(&sha2::Sha256::digest(&bytes).into()),
        "named by the SHA-256 of the bytes"
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
        last: 120_000,
    };
    assert_eq!(
        read_all(store.open(&sha, Some(range)).await.expect("open")).await,
        bytes[4095..=120_000]
    );
}

#[tokio::test]
async fn more_than_the_limit_is_refused_and_nothing_is_kept() {
    let store = MemoryBlobStore::new();
    let refused = store.stage(source(&pattern(5001)), 5000).await;
    assert!(matches!(refused, Err(BlobError::TooLarge)), "{refused:?}");
    let exact = store
        .stage(source(&pattern(5000)), 5000)
        .await
        .expect("the limit");
    store.release(exact).await;
    assert!(store.list_older(soon(), 10).await.expect("list").is_empty());
    assert_eq!(store.sweep_staging(soon()).await.expect("sweep"), 0);
}

#[tokio::test]
async fn the_same_bytes_committed_twice_at_once_are_one_blob() {
    let store = MemoryBlobStore::new();
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
    store
        .commit(&a)
        .await
        .expect("committing again is harmless");
    let sha = a.sha256.clone();
    store.release(a).await;
    store.release(b).await;
    assert_eq!(
        store.list_older(soon(), 10).await.expect("list"),
        vec![sha.clone()]
    );
    assert_eq!(
        read_all(store.open(&sha, None).await.expect("open")).await,
        bytes
    );
}

#[tokio::test]
async fn deleting_is_final_and_a_missing_blob_is_not_an_error() {
    let store = MemoryBlobStore::new();
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
}

#[tokio::test]
async fn only_blobs_older_than_asked_are_listed_and_an_empty_file_is_a_blob() {
    let store = MemoryBlobStore::new();
    let staged = store.stage(source(b""), 100).await.expect("staged");
    assert_eq!(staged.size, 0);
    store.commit(&staged).await.expect("commit");
    let sha = staged.sha256.clone();
    store.release(staged).await;
    let hour_ago = OffsetDateTime::now_utc() - Duration::hours(1);
    assert!(
        store
            .list_older(hour_ago, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        store.list_older(soon(), 10).await.expect("list"),
        vec![sha.clone()]
    );
    assert!(
        read_all(store.open(&sha, None).await.expect("open"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn staged_copies_a_crash_left_are_swept() {
    let store = MemoryBlobStore::new();
    let staged = store
        .stage(source(b"abandoned"), 100)
        .await
        .expect("staged");
    let hour_ago = OffsetDateTime::now_utc() - Duration::hours(1);
    assert_eq!(
        store.sweep_staging(hour_ago).await.expect("sweep"),
        0,
        "young: kept"
    );
    assert_eq!(store.sweep_staging(soon()).await.expect("sweep"), 1);
    assert!(
        store.commit(&staged).await.is_err(),
        "what was swept cannot be committed"
    );
    assert!(!store.exists(&staged.sha256).await.expect("exists"));
}
