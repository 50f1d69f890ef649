//! The upload records' SQL: one blob row per content. The rules every
//! upload repository keeps are in `missive_domain::testkit::uploads`.

use missive_domain::ids::{UploadId, UserId};
use missive_domain::ports::UploadRepository;
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
async fn the_same_bytes_uploaded_twice_keep_one_blob_row() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let repo = SeaUploadRepository::new(&db);
        repo.create(&upload(people[0], 1234, 1), 10_000)
            .await
            .expect("create");
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
        assert_eq!(
            blobs.try_get::<i64>("", "n").expect("n"),
            2,
            "one row for the content, one for the thumbnail"
        );
    })
    .await;
}
