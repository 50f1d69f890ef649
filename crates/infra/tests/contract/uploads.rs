//! The upload records: quota under parallel uploads, one blob row per
//! content, visibility to the owner only (until attached).

use std::sync::Arc;

use missive_domain::ids::{UploadId, UserId};
use missive_domain::ports::{CreateUploadError, UploadRepository};
use missive_domain::upload::{ContentType, FileName, Sha256, Upload};
use missive_infra::SeaUploadRepository;
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
        // The same bytes again (another upload, another owner): one blob row.
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
        assert_eq!(blobs.try_get::<i64>("", "n").expect("n"), 1);
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
