//! Attachments on PostgreSQL, where a send and the collection
//! interleave. The rules every adapter keeps are in
//! `missive_domain::testkit::attachments`.

use missive_domain::ports::UploadRepository;
use missive_infra::SeaUploadRepository;
use time::Duration;

use missive_domain::testkit::support::image_upload;

use crate::support::{now, on_each_backend, users};

#[tokio::test]
async fn the_collection_skips_an_upload_a_send_is_attaching() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    on_each_backend(|db| async move {
        if db.connection().get_database_backend() != sea_orm::DbBackend::Postgres {
            return; // SQLite: one writer at a time, nothing to interleave.
        }
        let people = users(&db, 1).await;
        let uploads = SeaUploadRepository::new(&db);
        let mut old = image_upload(people[0], "old.png", 1);
        old.created_at = now() - Duration::days(2);
        uploads.create(&old, 1 << 20).await.expect("upload");
        // A send's reference check holds a key-share lock on the upload
        // until it commits.
        let send = db.connection().begin().await.expect("begin");
        send.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT id FROM uploads WHERE id = $1 FOR KEY SHARE",
            [old.id.as_uuid().into()],
        ))
        .await
        .expect("lock");
        assert_eq!(
            uploads.expire_unattached(now(), 10).await.expect("expire"),
            0,
            "an upload a send holds is skipped, not waited for"
        );
        send.rollback().await.expect("rollback");
        // Released (the send gave up): now it goes.
        assert_eq!(
            uploads.expire_unattached(now(), 10).await.expect("expire"),
            1,
            "released, the old upload expires"
        );
    })
    .await;
}
