//! The upload records: quota under parallel uploads, one blob row per
//! content, visibility to the owner only (until attached).

use std::sync::Arc;

use missive_domain::ids::{UploadId, UserId};
use missive_domain::ports::{
    BlobError, BlobStore, ChunkSource, CreateUploadError, UploadRepository,
};
use missive_domain::upload::{ContentType, FileName, Sha256, Upload};
use missive_infra::{LocalBlobStore, SeaUploadRepository};
use sea_orm::ConnectionTrait;

use crate::support::{now, on_each_backend, users};

fn upload(owner: UserId, size: u64, content: u8) -> Upload {
    Upload {
        id: UploadId::new(),
        owner,
        filename: FileName::clean("report.pdf"),
        content_type: ContentType::new("application/pdf").expect("valid"),
        size,
        sha256: Sha256::from_digest(&[content; 32]),
        width: Some(640),
        height: None,
        thumbnail: Some(Sha256::from_digest(&[255; 32])),
        created_at: now(),
    }
}

#[tokio::test]
async fn an_upload_reads_back_as_stored_and_only_for_its_owner() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let repo = SeaUploadRepository::new(&db);
        let stored = upload(people[0], 1234, 1);
        repo.create(&stored, 10_000).await.expect("create");
        let found = repo.find_visible(people[0], stored.id).await.expect("find");
        assert_eq!(found.as_ref(), Some(&stored));
        assert_eq!(
            repo.find_visible(people[1], stored.id).await.expect("find"),
            None
        );
        assert_eq!(
            repo.find_visible(people[0], UploadId::new())
                .await
                .expect("find"),
            None
        );
        // The same bytes again (another upload, another owner): one blob
        // row, and one for their (same) thumbnail.
        repo.create(&upload(people[1], 1234, 1), 10_000)
            .await
            .expect("create");
        let blobs = db
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                db.connection().get_database_backend(),
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM blobs",
            ))
            .await
            .expect("count")
            .expect("a row");
        assert_eq!(blobs.try_get::<i64>("", "n").expect("n"), 2);
    })
    .await;
}

#[tokio::test]
async fn parallel_uploads_never_overrun_the_quota() {
    on_each_backend(|db| async move {
        let owner = users(&db, 1).await[0];
        let repo = Arc::new(SeaUploadRepository::new(&db));
        // Ten uploads of 300 bytes against a quota of 1000: exactly three fit.
        let tasks: Vec<_> = (0..10u8)
            .map(|n| {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move { repo.create(&upload(owner, 300, n), 1000).await })
            })
            .collect();
        let mut kept = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(()) => kept += 1,
                Err(CreateUploadError::QuotaExceeded) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(kept, 3);
    })
    .await;
}

/// Bytes stored in `store` (staged and committed), and their digest.
async fn stored_bytes(store: &Arc<dyn BlobStore>, bytes: &[u8]) -> Sha256 {
    struct Once(Option<Vec<u8>>);
    #[async_trait::async_trait]
    impl ChunkSource for Once {
        async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
            Ok(self.0.take())
        }
    }
    let staged = store
        .stage(Box::new(Once(Some(bytes.to_vec()))), 1 << 20)
        .await
        .expect("staged");
    store.commit(&staged).await.expect("commit");
    let sha = staged.sha256.clone();
    store.release(staged).await;
    sha
}

#[tokio::test]
async fn collection_removes_expired_uploads_then_their_blob_and_what_crashes_left() {
    on_each_backend(|db| async move {
        let dir = tempfile::tempdir().expect("dir");
        let store: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::new(dir.path()).expect("store"));
        let owner = users(&db, 1).await[0];
        let repo = SeaUploadRepository::new(&db);

        // A named blob is kept; once its upload expires, it goes.
        let sha = stored_bytes(&store, b"kept until expired").await;
        let mut kept = upload(owner, 18, 0);
        kept.sha256 = sha.clone();
        kept.thumbnail = None;
        repo.create(&kept, 1000).await.expect("create");
        assert!(repo.unreferenced_blobs(10).await.expect("list").is_empty());
        assert!(
            !repo
                .collect_blob(&sha, Arc::clone(&store))
                .await
                .expect("collect")
        );
        assert!(store.exists(&sha).await.expect("exists"));
        assert_eq!(
            repo.expire_unattached(kept.created_at, 10)
                .await
                .expect("expire"),
            0,
            "not yet"
        );
        let later = kept.created_at + time::Duration::seconds(1);
        assert_eq!(repo.expire_unattached(later, 10).await.expect("expire"), 1);
        assert_eq!(repo.find_visible(owner, kept.id).await.expect("find"), None);
        assert_eq!(
            repo.unreferenced_blobs(10).await.expect("list"),
            vec![sha.clone()]
        );
        assert!(
            repo.collect_blob(&sha, Arc::clone(&store))
                .await
                .expect("collect")
        );
        assert!(!store.exists(&sha).await.expect("exists"));
        assert!(repo.unreferenced_blobs(10).await.expect("list").is_empty());

        // A crash after deleting the bytes, before the row: the next run
        // finishes (missing bytes are not an error).
        let gone = stored_bytes(&store, b"deleted, row left").await;
        let mut half = upload(owner, 17, 0);
        half.sha256 = gone.clone();
        half.thumbnail = None;
        repo.create(&half, 1000).await.expect("create");
        repo.expire_unattached(later + time::Duration::hours(1), 10)
            .await
            .expect("expire");
        store.delete(&gone).await.expect("crash after the bytes");
        assert!(
            repo.collect_blob(&gone, Arc::clone(&store))
                .await
                .expect("collect")
        );
        assert!(repo.unreferenced_blobs(10).await.expect("list").is_empty());

        // A crash between storing the bytes and recording them: an orphan.
        let orphan = stored_bytes(&store, b"never recorded").await;
        assert_eq!(
            repo.unrecorded(vec![orphan.clone()])
                .await
                .expect("unrecorded"),
            vec![orphan.clone()]
        );
        assert!(
            repo.collect_blob(&orphan, Arc::clone(&store))
                .await
                .expect("collect")
        );
        assert!(!store.exists(&orphan).await.expect("exists"));
        assert!(
            repo.unrecorded(vec![])
                .await
                .expect("unrecorded")
                .is_empty()
        );
    })
    .await;
}
