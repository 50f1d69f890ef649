//! Messages with attachments: stored with the message all or nothing,
//! read back everywhere the message is, visible to the chat's members,
//! released when the message is deleted.

use time::Duration;

use super::Adapters;
use super::support::{group, image_upload, message, now, users};
use crate::ids::UploadId;
use crate::message::{HistoryCursor, NewMessage};
use crate::ports::{AppendError, Appended};
use crate::upload::{Sha256, Upload};

super::rules!("attachments":
    a_message_carries_its_attachments_and_releases_them_when_deleted,
    only_the_owners_uploads_are_found_for_attaching,
    an_upload_removed_before_the_message_is_stored_stores_nothing,
    a_batch_stores_each_messages_attachments,
);

fn with_files(mut new: NewMessage, uploads: &[&Upload]) -> NewMessage {
    new.attachments = uploads.iter().map(|u| (*u).clone()).collect();
    new
}

/// A message keeps its attachments in order (on append, find and
/// history); the chat's members see them; attached uploads never expire.
/// Deleted, the tombstone has none, members no longer see them (the
/// owner still does), and they expire.
pub async fn a_message_carries_its_attachments_and_releases_them_when_deleted(a: &Adapters) {
    let people = users(a, 3).await;
    let (sender, member, stranger) = (people[0], people[1], people[2]);
    let chat = group(a, &people[..2]).await;
    let (uploads, messages) = (&a.uploads, &a.messages);
    let (first, second) = (
        image_upload(sender, "b.png", 1),
        image_upload(sender, "a.png", 2),
    );
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
        Vec::<Sha256>::new(),
        "thumbnails are recorded"
    );

    let new = with_files(message(chat, sender, "look", None), &[&second, &first]);
    let Appended::Created(sent) = messages.append(&new).await.expect("append") else {
        panic!("a new message");
    };
    assert_eq!(
        sent.attachments,
        vec![second.clone(), first.clone()],
        "the appended message carries its attachments in order"
    );
    let found = messages.find(new.id).await.expect("find").expect("found");
    assert_eq!(
        found.attachments,
        vec![second.clone(), first.clone()],
        "find reads the attachments in order"
    );
    let page = messages
        .history(chat, HistoryCursor::Latest, 10)
        .await
        .expect("history");
    assert_eq!(
        page.items[0].attachments, found.attachments,
        "history reads the attachments too"
    );

    // A member sees the files; a stranger does not.
    assert!(
        uploads
            .find_visible(member, first.id)
            .await
            .expect("find")
            .is_some(),
        "a member sees an attached upload"
    );
    assert!(
        uploads
            .find_visible(stranger, first.id)
            .await
            .expect("find")
            .is_none(),
        "a stranger does not see an attached upload"
    );
    // Attached uploads never expire.
    let later = now() + Duration::days(2);
    assert_eq!(
        uploads.expire_unattached(later, 10).await.expect("expire"),
        0,
        "attached uploads never expire"
    );

    // Deleted: the tombstone has none, the member no longer sees them,
    // and, unattached, they expire.
    let tombstone = messages
        .soft_delete(new.id, now())
        .await
        .expect("delete")
        .expect("deleted");
    assert!(
        tombstone.attachments.is_empty(),
        "a tombstone has no attachments"
    );
    assert!(
        uploads
            .find_visible(member, first.id)
            .await
            .expect("find")
            .is_none(),
        "a member no longer sees the upload of a deleted message"
    );
    assert!(
        uploads
            .find_visible(sender, first.id)
            .await
            .expect("find")
            .is_some(),
        "the owner still sees it"
    );
    assert_eq!(
        uploads.expire_unattached(later, 10).await.expect("expire"),
        2,
        "released by the deletion, both expire"
    );
}

/// `find_owned` finds the owner's uploads among the ids, nobody else's
/// and no unknown one; `used_bytes` counts the owner's alone.
pub async fn only_the_owners_uploads_are_found_for_attaching(a: &Adapters) {
    let people = users(a, 2).await;
    let uploads = &a.uploads;
    let (mine, theirs) = (
        image_upload(people[0], "m.png", 1),
        image_upload(people[1], "t.png", 2),
    );
    uploads.create(&mine, 1 << 20).await.expect("upload");
    uploads.create(&theirs, 1 << 20).await.expect("upload");

    let found = uploads
        .find_owned(people[0], &[mine.id, theirs.id, UploadId::new()])
        .await
        .expect("find");
    assert_eq!(
        uploads.used_bytes(people[0]).await.expect("used"),
        mine.size,
        "used bytes count the owner's uploads alone"
    );
    assert_eq!(found, vec![mine], "only the owner's upload is found");
    assert!(
        uploads
            .find_owned(people[0], &[])
            .await
            .expect("find")
            .is_empty(),
        "no ids, nothing found"
    );
}

/// A message (or a batch) attaching an upload that is gone is
/// `UploadGone` and stores nothing: the chat's order stays intact.
pub async fn an_upload_removed_before_the_message_is_stored_stores_nothing(a: &Adapters) {
    let people = users(a, 2).await;
    let chat = group(a, &people).await;
    let (uploads, messages) = (&a.uploads, &a.messages);
    let kept = image_upload(people[0], "kept.png", 1);
    uploads.create(&kept, 1 << 20).await.expect("upload");
    // Checked by the service, then collected before the append.
    let gone = image_upload(people[0], "gone.png", 2);

    let single = with_files(message(chat, people[0], "", None), &[&kept, &gone]);
    let appended = messages.append(&single).await;
    assert!(
        matches!(appended, Err(AppendError::UploadGone)),
        "a message attaching a gone upload: {appended:?}"
    );
    let batch = vec![
        with_files(message(chat, people[0], "one", Some("a")), &[&kept]),
        with_files(message(chat, people[0], "two", Some("b")), &[&gone]),
    ];
    let appended = messages.append_batch(&batch).await;
    assert!(
        matches!(appended, Err(AppendError::UploadGone)),
        "a batch attaching a gone upload: {appended:?}"
    );
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
    assert_eq!(next.seq, 1, "no seq was used up");
    assert_eq!(next.content, "", "a message may be attachments alone");
}

/// A batch stores each message's own attachments; the chat's members see
/// them.
pub async fn a_batch_stores_each_messages_attachments(a: &Adapters) {
    let people = users(a, 2).await;
    let chat = group(a, &people).await;
    let (uploads, messages) = (&a.uploads, &a.messages);
    let (first, second) = (
        image_upload(people[0], "a.pdf", 1),
        image_upload(people[0], "b.pdf", 2),
    );
    uploads.create(&first, 1 << 20).await.expect("upload");
    uploads.create(&second, 1 << 20).await.expect("upload");
    let batch = vec![
        with_files(message(chat, people[0], "one", None), &[&first, &second]),
        message(chat, people[0], "two", None),
        with_files(message(chat, people[0], "three", None), &[&first]),
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
    assert_eq!(
        shown,
        vec![vec![first.id, second.id], vec![], vec![first.id]],
        "each message with its own attachments"
    );
    assert!(
        uploads
            .find_visible(people[1], second.id)
            .await
            .expect("find")
            .is_some(),
        "a member sees an upload attached in a batch"
    );
}
