//! The indexes these adapters keep beside their rows, checked against
//! what a full scan would answer: bytes used and blobs named as uploads
//! come and go, messages listed across chats newest first, and a chat
//! whose seqs run out.

use missive_domain::chat::{ChatKind, MemberRole};
use missive_domain::ids::MessageId;
use missive_domain::message::MessageFilter;
use missive_domain::ports::{
    AppendError, Appended, ChatRepository, MessageRepository, UploadRepository,
};
use missive_domain::testkit::support::{group, member, message, new_chat, pdf_upload, users};
use missive_domain::upload::Sha256;
use missive_memory::MemoryStore;
use time::Duration;

fn everything() -> MessageFilter {
    MessageFilter {
        chat_id: None,
        sender_id: None,
        role: None,
        since: None,
        until: None,
        metadata: Vec::new(),
        terms: None,
        before: None,
    }
}

#[tokio::test]
async fn bytes_used_and_blobs_named_follow_uploads_as_they_come_and_go() {
    let store = MemoryStore::new();
    let a = store.testkit_adapters();
    let uploads = store.uploads();
    let people = users(&a, 2).await;
    let (ada, bob) = (people[0], people[1]);
    // Two uploads share a blob: one as content, the other as thumbnail
    // (and both share the default thumbnail).
    let shared = Sha256::from_digest(&[9; 32]);
    let mut first = pdf_upload(ada, 300, 1);
    first.sha256 = shared.clone();
    let mut second = pdf_upload(ada, 500, 2);
    second.thumbnail = Some(shared.clone());
    second.created_at = first.created_at + Duration::seconds(1);
    let mut theirs = pdf_upload(bob, 100, 3);
    theirs.created_at = second.created_at;
    for upload in [&first, &second, &theirs] {
        uploads.create(upload, 1000).await.expect("create");
    }
    assert_eq!(uploads.used_bytes(ada).await.expect("used"), 800);
    assert_eq!(uploads.used_bytes(bob).await.expect("used"), 100);
    let too_big = pdf_upload(ada, 201, 4);
    assert!(uploads.create(&too_big, 1000).await.is_err(), "over quota");
    assert!(
        uploads
            .unreferenced_blobs(10)
            .await
            .expect("list")
            .is_empty()
    );

    // The first expires: its bytes leave the quota; the shared blob is
    // still the second's thumbnail.
    let expired = uploads.expire_unattached(second.created_at, 10).await;
    assert_eq!(expired.expect("expire"), 1);
    assert_eq!(uploads.used_bytes(ada).await.expect("used"), 500);
    assert!(
        uploads
            .unreferenced_blobs(10)
            .await
            .expect("list")
            .is_empty()
    );
    uploads.create(&too_big, 1000).await.expect("fits now");

    // The rest expire: every blob only they named is unreferenced.
    let later = too_big.created_at + Duration::hours(1);
    let expired = uploads.expire_unattached(later, 10).await;
    assert_eq!(expired.expect("expire"), 3);
    assert_eq!(uploads.used_bytes(ada).await.expect("used"), 0);
    let mut unnamed = vec![
        shared.clone(),
        second.sha256.clone(),
        too_big.sha256.clone(),
        theirs.sha256.clone(),
        Sha256::from_digest(&[255; 32]),
    ];
    unnamed.sort();
    assert_eq!(uploads.unreferenced_blobs(10).await.expect("list"), unnamed);
    assert_eq!(
        uploads.unreferenced_blobs(2).await.expect("list"),
        unnamed[..2]
    );

    // Named again before it is collected: kept, then collected once free.
    let mut again = pdf_upload(bob, 10, 5);
    again.sha256 = shared.clone();
    again.thumbnail = None;
    uploads.create(&again, 1000).await.expect("create");
    let blobs = std::sync::Arc::new(store.blobs());
    assert!(
        !uploads
            .collect_blob(&shared, blobs.clone())
            .await
            .expect("collect")
    );
    assert!(
        !uploads
            .unreferenced_blobs(10)
            .await
            .expect("list")
            .contains(&shared)
    );
    uploads
        .expire_unattached(later + Duration::hours(1), 10)
        .await
        .expect("expire");
    assert!(uploads.collect_blob(&shared, blobs).await.expect("collect"));
    let left = uploads.unreferenced_blobs(10).await.expect("list");
    assert_eq!(left.len(), 4);
    assert!(!left.contains(&shared));
}

#[tokio::test]
async fn messages_are_listed_newest_first_across_chats_page_by_page() {
    let store = MemoryStore::new();
    let a = store.testkit_adapters();
    let messages = store.messages();
    let people = users(&a, 2).await;
    let (ada, bob) = (people[0], people[1]);
    let chats = [
        group(&a, &[ada, bob]).await,
        group(&a, &[bob, ada]).await,
        group(&a, &[ada]).await,
        group(&a, &[bob]).await,
    ];
    let mut visible: Vec<MessageId> = Vec::new();
    for round in 0..7 {
        for (at, chat) in chats.iter().enumerate() {
            if (round + at) % 3 == 0 {
                continue;
            }
            let from = if at == 3 { bob } else { ada };
            let new = message(*chat, from, "hello", None);
            messages.append(&new).await.expect("send");
            if at != 3 {
                visible.push(new.id);
            }
        }
    }
    visible.sort_unstable_by(|x, y| y.cmp(x));
    let mut paged = Vec::new();
    let mut filter = everything();
    loop {
        let page = messages.list(ada, &filter, 4).await.expect("list");
        assert!(page.len() <= 4);
        let Some(last) = page.last() else {
            break;
        };
        filter.before = Some(last.id);
        paged.extend(page.iter().map(|m| m.id));
    }
    assert_eq!(
        paged, visible,
        "every message of ada's chats once, newest first"
    );
    assert!(
        messages
            .list(ada, &everything(), 0)
            .await
            .expect("list")
            .is_empty()
    );
    let mut only = everything();
    only.chat_id = Some(chats[3]);
    assert!(
        messages
            .list(ada, &only, 10)
            .await
            .expect("list")
            .is_empty(),
        "not hers"
    );
}

#[tokio::test]
async fn a_chat_whose_seqs_run_out_refuses_more_and_the_store_goes_on() {
    let store = MemoryStore::new();
    let a = store.testkit_adapters();
    let ada = users(&a, 1).await[0];
    let messages = store.messages();
    let mut chat = new_chat(ChatKind::Group, ada);
    chat.last_seq = i64::MAX - 1;
    let owner = [member(ada, MemberRole::Owner)];
    store
        .chats()
        .insert_group(&chat, &owner)
        .await
        .expect("chat");

    let batch = [
        message(chat.id, ada, "a", None),
        message(chat.id, ada, "b", None),
    ];
    let refused = messages.append_batch(&batch).await;
    assert!(matches!(refused, Err(AppendError::Infra(_))), "{refused:?}");
    assert!(
        messages.find(batch[0].id).await.expect("find").is_none(),
        "all or nothing"
    );

    let last = messages.append(&batch[0]).await.expect("the last seq");
    assert!(matches!(last, Appended::Created(m) if m.seq == i64::MAX));
    let refused = messages.append(&batch[1]).await;
    assert!(matches!(refused, Err(AppendError::Infra(_))), "{refused:?}");

    // Nothing panicked under the lock: the store answers as before.
    let versions = store.chats().chat_versions(&[chat.id]).await.expect("read");
    assert_eq!(versions[0].last_seq, i64::MAX);
}
