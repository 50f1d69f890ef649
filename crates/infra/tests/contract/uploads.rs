//! The upload records' SQL: one blob row per content. The rules every
//! upload repository keeps are in `missive_domain::testkit::uploads`.

use missive_domain::ports::UploadRepository;
use missive_infra::SeaUploadRepository;
use sea_orm::ConnectionTrait;

use missive_domain::testkit::support::pdf_upload;

use crate::support::{on_each_backend, users};

#[tokio::test]
async fn the_same_bytes_uploaded_twice_keep_one_blob_row() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let repo = SeaUploadRepository::new(&db);
        repo.create(&pdf_upload(people[0], 1234, 1), 10_000)
            .await
            .expect("create");
        // The same bytes again (another upload, another owner): one blob
        // row, and one for their (same) thumbnail.
        repo.create(&pdf_upload(people[1], 1234, 1), 10_000)
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
