//! The upload records: read back as stored by their owner only (until
//! attached), the quota under parallel uploads, and the collection of
//! expired uploads and of their blobs.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::future::join_all;

use super::Adapters;
use super::support::{pdf_upload, users};
use crate::ids::UploadId;
use crate::ports::{BlobError, BlobStore, ChunkSource, CreateUploadError};
use crate::upload::{Sha256, Upload};

super::rules!("uploads":
    an_upload_reads_back_as_stored_and_only_for_its_owner,
    parallel_uploads_never_overrun_the_quota,
    collection_removes_expired_uploads_then_their_blob_and_what_crashes_left,
);

/// Bytes handed over in one chunk.
struct Once(Option<Vec<u8>>);

#[async_trait]
impl ChunkSource for Once {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self.0.take())
    }
}

/// Bytes stored in `store` (staged and committed), and their digest.
async fn stored_bytes(store: &Arc<dyn BlobStore>, bytes: &[u8]) -> Sha256 {
    let staged = store
        .stage(Box::new(Once(Some(bytes.to_vec()))), 1 << 20)
        .await
        .expect("staged");
    store.commit(&staged).await.expect("commit");
    let sha = staged.sha256.clone();
    store.release(staged).await;
    sha
}

/// An upload reads back exactly as stored, for its owner and nobody else;
/// an unknown id is `None`; the same bytes uploaded again (by another
/// owner) are stored too.
pub async fn an_upload_reads_back_as_stored_and_only_for_its_owner(a: &Adapters) {
    let people = users(a, 2).await;
    let repo = &a.uploads;
    let stored = pdf_upload(people[0], 1234, 1);
    repo.create(&stored, 10_000).await.expect("create");
    let found = repo.find_visible(people[0], stored.id).await.expect("find");
    assert_eq!(
        found.as_ref(),
        Some(&stored),
        "the owner reads it as stored"
    );
    assert_eq!(
        repo.find_visible(people[1], stored.id).await.expect("find"),
        None,
        "someone else does not see an unattached upload"
    );
    assert_eq!(
        repo.find_visible(people[0], UploadId::new())
            .await
            .expect("find"),
        None,
        "an unknown upload is none"
    );
    // The same bytes again (another upload, another owner), with the same
    // thumbnail: both share their blobs.
    repo.create(&pdf_upload(people[1], 1234, 1), 10_000)
        .await
        .expect("the same bytes again, another owner: stored too");
}

/// Ten uploads of 300 bytes at once against a quota of 1000: exactly
/// three are kept, the others `QuotaExceeded`.
pub async fn parallel_uploads_never_overrun_the_quota(a: &Adapters) {
    let owner = users(a, 1).await[0];
    let uploads: Vec<Upload> = (0..10u8).map(|n| pdf_upload(owner, 300, n)).collect();
    let outcomes = join_all(uploads.iter().map(|u| a.uploads.create(u, 1000))).await;
    let mut kept = 0;
    for outcome in outcomes {
        match outcome {
            Ok(()) => kept += 1,
            Err(CreateUploadError::QuotaExceeded) => {}
            Err(other) => panic!("kept or quota exceeded, not {other:?}"),
        }
    }
    assert_eq!(kept, 3, "exactly three fit the quota");
}

/// A blob an upload names is kept; once the upload expires, its blob is
/// unreferenced and collected (bytes and record). A crash between
/// deleting the bytes and the record, or between storing the bytes and
/// recording them, is finished by the next collection.
pub async fn collection_removes_expired_uploads_then_their_blob_and_what_crashes_left(
    a: &Adapters,
) {
    let store = &a.blobs;
    let owner = users(a, 1).await[0];
    let repo = &a.uploads;

    // A named blob is kept; once its upload expires, it goes.
    let sha = stored_bytes(store, b"kept until expired").await;
    let mut kept = pdf_upload(owner, 18, 0);
    kept.sha256 = sha.clone();
    kept.thumbnail = None;
    repo.create(&kept, 1000).await.expect("create");
    assert!(
        repo.unreferenced_blobs(10).await.expect("list").is_empty(),
        "a blob an upload names is referenced"
    );
    assert!(
        !repo
            .collect_blob(&sha, Arc::clone(store))
            .await
            .expect("collect"),
        "a referenced blob is not collected"
    );
    assert!(
        store.exists(&sha).await.expect("exists"),
        "a referenced blob keeps its bytes"
    );
    assert_eq!(
        repo.expire_unattached(kept.created_at, 10)
            .await
            .expect("expire"),
        0,
        "not yet"
    );
    let later = kept.created_at + time::Duration::seconds(1);
    assert_eq!(
        repo.expire_unattached(later, 10).await.expect("expire"),
        1,
        "the unattached upload expires"
    );
    assert_eq!(
        repo.find_visible(owner, kept.id).await.expect("find"),
        None,
        "an expired upload is gone"
    );
    assert_eq!(
        repo.unreferenced_blobs(10).await.expect("list"),
        vec![sha.clone()],
        "its blob is unreferenced now"
    );
    assert!(
        repo.collect_blob(&sha, Arc::clone(store))
            .await
            .expect("collect"),
        "an unreferenced blob is collected"
    );
    assert!(
        !store.exists(&sha).await.expect("exists"),
        "a collected blob's bytes are deleted"
    );
    assert!(
        repo.unreferenced_blobs(10).await.expect("list").is_empty(),
        "a collected blob's record is deleted"
    );

    // A crash after deleting the bytes, before the row: the next run
    // finishes (missing bytes are not an error).
    let gone = stored_bytes(store, b"deleted, row left").await;
    let mut half = pdf_upload(owner, 17, 0);
    half.sha256 = gone.clone();
    half.thumbnail = None;
    repo.create(&half, 1000).await.expect("create");
    repo.expire_unattached(later + time::Duration::hours(1), 10)
        .await
        .expect("expire");
    store.delete(&gone).await.expect("crash after the bytes");
    assert!(
        repo.collect_blob(&gone, Arc::clone(store))
            .await
            .expect("collect"),
        "a record whose bytes are already gone is collected"
    );
    assert!(
        repo.unreferenced_blobs(10).await.expect("list").is_empty(),
        "no record is left"
    );

    // A crash between storing the bytes and recording them: an orphan.
    let orphan = stored_bytes(store, b"never recorded").await;
    assert_eq!(
        repo.unrecorded(vec![orphan.clone()])
            .await
            .expect("unrecorded"),
        vec![orphan.clone()],
        "bytes without a record are unrecorded"
    );
    assert!(
        repo.collect_blob(&orphan, Arc::clone(store))
            .await
            .expect("collect"),
        "an orphan is collected"
    );
    assert!(
        !store.exists(&orphan).await.expect("exists"),
        "an orphan's bytes are deleted"
    );
    assert!(
        repo.unrecorded(vec![])
            .await
            .expect("unrecorded")
            .is_empty(),
        "no candidates, none unrecorded"
    );
}
