//! Blob stores: content-addressed, written once, read in ranges — a
//! staged blob is readable only after `commit`, the same bytes committed
//! twice (even at once) are one blob, a read returns exactly the stored
//! bytes or range.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::Adapters;
use crate::ports::{BlobError, ChunkSource, SNIFF_BYTES};
use crate::upload::{ByteRange, Sha256};

super::rules!("blobs":
    a_staged_blob_is_readable_only_once_committed_and_reads_back_exactly,
    more_than_the_limit_is_refused_and_nothing_is_kept,
    the_same_bytes_committed_twice_at_once_are_one_blob,
    deleting_is_final_and_a_missing_blob_is_not_an_error,
    only_blobs_older_than_asked_are_listed,
    an_empty_file_is_a_blob_too,
    staged_copies_a_crash_left_are_swept,
);

/// Bytes arriving in chunks of `size`.
struct Chunks {
    bytes: Vec<u8>,
    at: usize,
    size: usize,
}

#[async_trait]
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

/// `len` bytes of a fixed pattern.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| u8::try_from(i * 7 % 251).expect("below 251"))
        .collect()
}

/// The SHA-256 of `pattern(20_000)`.
const PATTERN_20000_SHA256: &str =
    "0cd121c2457ff7ed3802865f6f1446d9064ac9bb7b35af743fd46a8f633a9569";

/// A staged blob is hashed and counted, readable only once committed, and reads back exactly, whole or a range.
pub async fn a_staged_blob_is_readable_only_once_committed_and_reads_back_exactly(a: &Adapters) {
    let store = &a.blobs;
    let bytes = pattern(20_000);
    let staged = store.stage(source(&bytes), 1 << 20).await.expect("staged");
    assert_eq!(staged.size, 20_000);
    assert_eq!(
        staged.sha256,
        Sha256::new(PATTERN_20000_SHA256).expect("a digest"),
        "the digest of the bytes staged"
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
}

/// More than the limit is refused while staging and nothing is kept; exactly the limit is fine.
pub async fn more_than_the_limit_is_refused_and_nothing_is_kept(a: &Adapters) {
    let store = &a.blobs;
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
}

/// The same bytes staged and committed twice at once (and once more later) are one blob.
pub async fn the_same_bytes_committed_twice_at_once_are_one_blob(a: &Adapters) {
    let store = &a.blobs;
    let bytes = pattern(100_000);
    let (a, b) = futures_util::join!(
        store.stage(source(&bytes), 1 << 20),
        store.stage(source(&bytes), 1 << 20)
    );
    let (a, b) = (a.expect("staged"), b.expect("staged"));
    assert_eq!(a.sha256, b.sha256);
    let (x, y) = futures_util::join!(store.commit(&a), store.commit(&b));
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
}

/// Deleting is final, and deleting a missing blob is not an error.
pub async fn deleting_is_final_and_a_missing_blob_is_not_an_error(a: &Adapters) {
    let store = &a.blobs;
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

/// Only blobs stored before the time asked are listed.
pub async fn only_blobs_older_than_asked_are_listed(a: &Adapters) {
    let store = &a.blobs;
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
}

/// An empty file is a blob too.
pub async fn an_empty_file_is_a_blob_too(a: &Adapters) {
    let store = &a.blobs;
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
}

/// Staged copies older than asked are swept (a crash left them); what was swept cannot be committed.
pub async fn staged_copies_a_crash_left_are_swept(a: &Adapters) {
    let store = &a.blobs;
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
}
