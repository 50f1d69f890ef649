//! Messages with attachments: stored with the message in one statement or
//! transaction, read back everywhere the message is, visible to the
//! chat's members, released when the message is deleted.

use missive_domain::ids::{UploadId, UserId};
use missive_domain::message::{HistoryCursor, NewMessage};
use missive_domain::ports::{AppendError, Appended, MessageRepository, UploadRepository};
use missive_domain::upload::{ContentType, FileName, Sha256, Upload};
use missive_infra::{SeaMessageRepository, SeaUploadRepository};
use time::Duration;

use crate::support::{group, message, now, on_each_backend, users};

fn upload(owner: UserId, name: &str, content: u8) -> Upload {
    Upload {
        id: UploadId::new(),
        owner,
        filename: FileName::clean(name),
        content_type: ContentType::new("image/png").expect("valid"),
        size: 100 + u64::from(content),
        sha256: Sha256::from_digest(&[content; 32]),
        width: Some(64),
        height: Some(32),
        thumbnail: Some(Sha256::from_digest(&[content.wrapping_add(100); 32])),
        created_at: now(),
    }
}

fn with_files(mut new: NewMessage, uploads: &[&Upload]) -> NewMessage {
    new.attachments = uploads.iter().map(|u| (*u).clone()).collect();
    new
}

#[tokio::test]
async fn a_message_carries_its_attachments_and_releases_them_when_deleted() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let (sender, member, stranger) = (people[0], people[1], people[2]);
        let chat = group(&db, &people[..2]).await;
        let uploads = SeaUploadRepository::new(&db);
        let messages = SeaMessageRepository::new(&db);
        let (first, second) = (upload(sender, "b.png", 1), upload(sender, "a.png", 2));
        for u in [&first, &second] {
            uploads.create(u, 1 << 20).await.expect("upload");
        }
        // Thumbnails are recorded blobs too: the sweep of unrecorded bytes
        // leaves them.
        let thumbnails: Vec<Sha256> = [&first, &second]
            .iter()
            .filter_map(|u| u.thumbnail.clone())
            .collect();
        assert_eq!(
            uploads.unrecorded(thumbnails).await.expect("unrecorded"),
            Vec::<Sha256>::new()
        );

        let new = with_files(message(chat, sender, "look", None), &[&second, &first]);
        let Appended::Created(sent) = messages.append(&new).await.expect("append") else {
            panic!("a new message");
        };
        assert_eq!(sent.attachments, vec![second.clone(), first.clone()]);
        let found = messages.find(new.id).await.expect("find").expect("found");
        assert_eq!(found.attachments, vec![second.clone(), first.clone()]);
        let page = messages
            .history(chat, HistoryCursor::Latest, 10)
            .await
            .expect("history");
        assert_eq!(page.items[0].attachments, found.attachments);

        // A member sees the files; a stranger does not.
        assert!(
            uploads
                .find_visible(member, first.id)
                .await
                .expect("find")
                .is_some()
        );
        assert!(
            uploads
                .find_visible(stranger, first.id)
                .await
                .expect("find")
                .is_none()
        );
        // Attached uploads never expire.
        let later = now() + Duration::days(2);
        assert_eq!(
            uploads.expire_unattached(later, 10).await.expect("expire"),
            0
        );

        // Deleted: the tombstone has none, the member no longer sees them,
        // and, unattached, they expire.
        let tombstone = messages
            .soft_delete(new.id, now())
            .await
            .expect("delete")
            .expect("deleted");
        assert!(tombstone.attachments.is_empty());
        assert!(
            uploads
                .find_visible(member, first.id)
                .await
                .expect("find")
                .is_none()
        );
        assert!(
            uploads
                .find_visible(sender, first.id)
                .await
                .expect("find")
                .is_some()
        );
        assert_eq!(
            uploads.expire_unattached(later, 10).await.expect("expire"),
            2
        );
    })
    .await;
}

#[tokio::test]
async fn only_the_owners_uploads_are_found_for_attaching() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let uploads = SeaUploadRepository::new(&db);
        let (mine, theirs) = (upload(people[0], "m.png", 1), upload(people[1], "t.png", 2));
        uploads.create(&mine, 1 << 20).await.expect("upload");
        uploads.create(&theirs, 1 << 20).await.expect("upload");

        let found = uploads
            .find_owned(people[0], &[mine.id, theirs.id, UploadId::new()])
            .await
            .expect("find");
        assert_eq!(
            uploads.used_bytes(people[0]).await.expect("used"),
            mine.size
        );
        assert_eq!(found, vec![mine]);
        assert!(
            uploads
                .find_owned(people[0], &[])
                .await
                .expect("find")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn an_upload_removed_before_the_message_is_stored_stores_nothing() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat = group(&db, &people).await;
        let uploads = SeaUploadRepository::new(&db);
        let messages = SeaMessageRepository::new(&db);
        let kept = upload(people[0], "kept.png", 1);
        uploads.create(&kept, 1 << 20).await.expect("upload");
        // Checked by the service, then collected before the append.
        let gone = upload(people[0], "gone.png", 2);

        let single = with_files(message(chat, people[0], "", None), &[&kept, &gone]);
        assert!(matches!(
            messages.append(&single).await,
            Err(AppendError::UploadGone)
        ));
        let batch = vec![
            with_files(message(chat, people[0], "one", Some("a")), &[&kept]),
            with_files(message(chat, people[0], "two", Some("b")), &[&gone]),
        ];
        assert!(matches!(
            messages.append_batch(&batch).await,
            Err(AppendError::UploadGone)
        ));
        let page = messages
            .history(chat, HistoryCursor::Latest, 10)
            .await
            .expect("history");
        assert!(page.items.is_empty(), "nothing stored: {:?}", page.items);
        // The chat's order is intact: the next message is seq 1.
        let Appended::Created(next) = messages
            .append(&with_files(message(chat, people[0], "", None), &[&kept]))
            .await
            .expect("append")
        else {
            panic!("a new message");
        };
        assert_eq!(next.seq, 1);
        assert_eq!(next.content, "");
    })
    .await;
}

#[tokio::test]
async fn a_batch_stores_each_messages_attachments() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat = group(&db, &people).await;
        let uploads = SeaUploadRepository::new(&db);
        let messages = SeaMessageRepository::new(&db);
        let (a, b) = (upload(people[0], "a.pdf", 1), upload(people[0], "b.pdf", 2));
        uploads.create(&a, 1 << 20).await.expect("upload");
        uploads.create(&b, 1 << 20).await.expect("upload");
        let batch = vec![
            with_files(message(chat, people[0], "one", None), &[&a, &b]),
            message(chat, people[0], "two", None),
            with_files(message(chat, people[0], "three", None), &[&a]),
        ];
        messages.append_batch(&batch).await.expect("batch");
        let page = messages
            .history(chat, HistoryCursor::Latest, 10)
            .await
            .expect("history");
        let shown: Vec<Vec<UploadId>> = page
            .items
            .iter()
            .map(|m| m.attachments.iter().map(|u| u.id).collect())
            .collect();
        assert_eq!(shown, vec![vec![a.id, b.id], vec![], vec![a.id]]);
        assert!(
            uploads
                .find_visible(people[1], b.id)
                .await
                .expect("find")
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn the_collection_skips_an_upload_a_send_is_attaching() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    on_each_backend(|db| async move {
        if db.connection().get_database_backend() != sea_orm::DbBackend::Postgres {
            return; // SQLite: one writer at a time, nothing to interleave.
        }
        let people = users(&db, 1).await;
        let uploads = SeaUploadRepository::new(&db);
        let mut old = upload(people[0], "old.png", 1);
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
            0
        );
        send.rollback().await.expect("rollback");
        // Released (the send gave up): now it goes.
        assert_eq!(
            uploads.expire_unattached(now(), 10).await.expect("expire"),
            1
        );
    })
    .await;
}
