//! What the shared contract does not check but these adapters promise:
//! an upload of bytes being collected waits for the collection, a
//! far-behind sender catches up as with `missive-infra`, times are kept
//! at whole microseconds as the databases keep them, events reach every
//! subscriber, and the test hasher tells passwords apart.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use missive_domain::chat::{ChatCursor, ChatKind, MemberCursor, MemberRole};
use missive_domain::event::Event;
use missive_domain::ids::UserId;
use missive_domain::ids::{ChatId, UploadId};
use missive_domain::ports::{
    BlobError, BlobStore, ChangeLog, ChatRepository, ChunkSource, EventPublisher,
    MessageRepository, PasswordHasher, ReactionRepository, Staged, UploadRepository,
    UserRepository,
};
use missive_domain::reaction::{Reaction, Reactor};
use missive_domain::sync::ChangeKind;
use missive_domain::testkit::support::{member, message, new_chat, now};
use missive_domain::upload::{ByteRange, ContentType, FileName, Sha256, Upload};
use missive_domain::user::{Email, FullName, Password, PasswordHash, User};
use missive_memory::{BroadcastPublisher, MemoryBlobStore, MemoryStore, PlainTestHasher};
use time::OffsetDateTime;
use tokio::sync::Notify;

/// A blob store whose deletions wait until released.
struct Gate {
    inner: MemoryBlobStore,
    entered: Notify,
    release: Notify,
}

#[async_trait]
impl BlobStore for Gate {
    async fn stage(&self, s: Box<dyn ChunkSource>, max: u64) -> Result<Staged, BlobError> {
        self.inner.stage(s, max).await
    }
    async fn commit(&self, staged: &Staged) -> Result<(), BlobError> {
        self.inner.commit(staged).await
    }
    async fn release(&self, staged: Staged) {
        self.inner.release(staged).await;
    }
    async fn open(
        &self,
        sha256: &Sha256,
        range: Option<ByteRange>,
    ) -> Result<Box<dyn ChunkSource>, BlobError> {
        self.inner.open(sha256, range).await
    }
    async fn exists(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        self.inner.exists(sha256).await
    }
    async fn delete(&self, sha256: &Sha256) -> Result<(), BlobError> {
        let released = self.release.notified();
        self.entered.notify_one();
        released.await;
        self.inner.delete(sha256).await
    }
    async fn list_older(&self, t: OffsetDateTime, n: usize) -> Result<Vec<Sha256>, BlobError> {
        self.inner.list_older(t, n).await
    }
    async fn sweep_staging(&self, t: OffsetDateTime) -> Result<usize, BlobError> {
        self.inner.sweep_staging(t).await
    }
}

/// A user stored in `store`.
async fn registered(store: &MemoryStore) -> UserId {
    let id = UserId::new();
    let user = User {
        id,
        email: Email::new(&format!("{id}@example.org")).expect("valid"),
        full_name: FullName::new("User").expect("valid"),
        created_at: now(),
    };
    let hash = PasswordHash::new("h");
    store.users().insert(&user, &hash).await.expect("user");
    id
}

fn upload(owner: UserId, sha256: Sha256) -> Upload {
    Upload {
        id: UploadId::new(),
        owner,
        filename: FileName::clean("a.txt"),
        content_type: ContentType::new("text/plain").expect("valid"),
        size: 5,
        sha256,
        width: None,
        height: None,
        thumbnail: None,
        created_at: now(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_of_bytes_being_collected_waits_for_the_collection() {
    let store = MemoryStore::new();
    let uploads = store.uploads();
    let gate = Arc::new(Gate {
        inner: store.blobs(),
        entered: Notify::new(),
        release: Notify::new(),
    });
    let sha = Sha256::from_digest(&[7; 32]);
    let owner = registered(&store).await;
    for round in 0..2 {
        let collect = tokio::spawn({
            let (uploads, gate, sha) = (uploads.clone(), Arc::clone(&gate), sha.clone());
            async move { uploads.collect_blob(&sha, gate).await }
        });
        gate.entered.notified().await;
        let create = tokio::spawn({
            let (uploads, new) = (uploads.clone(), upload(owner, sha.clone()));
            async move { uploads.create(&new, 1000).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!create.is_finished(), "the upload waits for the collection");
        if round == 0 {
            gate.release.notify_one();
            assert!(collect.await.expect("join").expect("collected"));
        } else {
            // A collection given up midway lets the upload go on too.
            collect.abort();
            assert!(collect.await.is_err_and(|e| e.is_cancelled()));
        }
        create.await.expect("join").expect("then stored");
        assert!(
            uploads
                .unrecorded(vec![sha.clone()])
                .await
                .expect("read")
                .is_empty()
        );
        assert_eq!(
            uploads
                .expire_unattached(OffsetDateTime::now_utc() + time::Duration::hours(1), 10)
                .await
                .expect("expire"),
            1
        );
    }
}

#[tokio::test]
async fn a_sender_far_behind_catches_up_to_their_message_and_the_log_says_so() {
    let store = MemoryStore::new();
    let (chats, messages, log) = (store.chats(), store.messages(), store.changes());
    let (me, them) = (registered(&store).await, registered(&store).await);
    let chat = new_chat(ChatKind::Group, me);
    let members = [
        member(me, MemberRole::Owner),
        member(them, MemberRole::Member),
    ];
    chats.insert_group(&chat, &members).await.expect("group");
    let send = |from: UserId| {
        let messages = messages.clone();
        async move { messages.append(&message(chat.id, from, "hi", None)).await }
    };
    for _ in 0..999 {
        send(them).await.expect("send");
    }
    send(me).await.expect("send");
    let position = |chat_id: ChatId| {
        let chats = chats.clone();
        async move {
            let details = chats
                .details(chat_id, me)
                .await
                .expect("read")
                .expect("member");
            (
                details.member(me).map(|m| m.last_read_seq),
                details.unread_count,
            )
        }
    };
    assert_eq!(
        position(chat.id).await,
        (Some(0), 999),
        "seq 1000 is within 1000 of 0: no catch-up"
    );

    send(them).await.expect("send");
    let before = log.now().await.expect("now");
    send(me).await.expect("send");
    assert_eq!(
        position(chat.id).await,
        (Some(1002), 0),
        "caught up to their message"
    );
    let page = log.read(before, Some(me), 10, 100).await.expect("read");
    let kinds: Vec<_> = page.changes.iter().map(|c| (c.kind, c.seq)).collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::MessageCreated, None),
            (ChangeKind::Read, Some(1002))
        ]
    );
}

/// `base` plus `nanos` nanoseconds.
fn at(base: OffsetDateTime, nanos: i64) -> OffsetDateTime {
    base + time::Duration::nanoseconds(nanos)
}

/// `t` cut to whole microseconds, as the API's cursors carry it.
fn micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_microsecond(t.microsecond()).expect("valid")
}

fn whole_micros(t: OffsetDateTime) -> bool {
    t.nanosecond().is_multiple_of(1_000)
}

/// Pages of one item until an empty one; what each page held.
async fn one_by_one<C, T, F: Future<Output = Vec<T>>>(
    mut page: impl FnMut(Option<C>) -> F,
    cursor: impl Fn(&T) -> C,
) -> Vec<T> {
    let (mut seen, mut after) = (Vec::new(), None);
    for _ in 0..10 {
        let mut items = page(after.take()).await;
        assert!(items.len() <= 1, "a page of one");
        let Some(item) = items.pop() else {
            return seen;
        };
        after = Some(cursor(&item));
        seen.push(item);
    }
    panic!("paging never ends");
}

#[tokio::test]
async fn times_with_nanoseconds_are_kept_at_microseconds_and_page_without_repeat_or_skip() {
    let store = MemoryStore::new();
    let (chats, reactions) = (store.chats(), store.reactions());
    let (ada, bob, cy) = (
        registered(&store).await,
        registered(&store).await,
        registered(&store).await,
    );
    // Within one microsecond, nanoseconds apart; and one a microsecond on.
    let base = micros(now()) + time::Duration::microseconds(1);
    let group = new_chat(ChatKind::Group, ada);
    let members: Vec<_> = [(ada, 900), (bob, 100), (cy, 500)]
        .into_iter()
        .map(|(user, nanos)| {
            let mut m = member(user, MemberRole::Member);
            m.joined_at = at(base, nanos);
            m
        })
        .collect();
    chats.insert_group(&group, &members).await.expect("group");
    for nanos in [100, 900, 1_300] {
        let mut chat = new_chat(ChatKind::Group, ada);
        chat.last_activity_at = at(base, nanos);
        let owner = [member(ada, MemberRole::Owner)];
        chats.insert_group(&chat, &owner).await.expect("chat");
    }
    let m = message(group.id, ada, "hi", None);
    store.messages().append(&m).await.expect("send");
    let like = Reaction::new("👍").expect("valid");
    for (user, nanos) in [(cy, 700), (ada, 999), (bob, 1)] {
        let added = reactions.add(m.id, user, &like, at(base, nanos)).await;
        added.expect("add").expect("a message");
    }

    // Each page's cursor as the API hands it back: at microseconds.
    let (r, like) = (&reactions, &like);
    let reactors = one_by_one(
        move |after| async move { r.reactors(m.id, like, after, 1).await.expect("page") },
        |last: &Reactor| Reactor {
            user_id: last.user_id,
            at: micros(last.at),
        },
    )
    .await;
    let mut by_time: Vec<_> = [ada, bob, cy].into_iter().collect();
    by_time.sort_unstable();
    let users: Vec<_> = reactors.iter().map(|r| r.user_id).collect();
    assert_eq!(users, by_time, "one microsecond: by user, each once");
    assert!(reactors.iter().all(|r| whole_micros(r.at)));

    let c = &chats;
    let listed = one_by_one(
        move |after| async move { c.list_members(group.id, 1, after).await.expect("page") },
        |last: &missive_domain::chat::ChatMember| MemberCursor {
            joined_at: micros(last.joined_at),
            user_id: last.user_id,
        },
    )
    .await;
    let users: Vec<_> = listed.iter().map(|m| m.user_id).collect();
    assert_eq!(users, by_time, "one microsecond: by user, each once");
    assert!(listed.iter().all(|m| whole_micros(m.joined_at)));

    let paged = one_by_one(
        move |after| async move { c.list_for_member(ada, 1, after).await.expect("page") },
        |last: &missive_domain::chat::ChatDetails| ChatCursor {
            last_activity_at: micros(last.chat.last_activity_at),
            chat_id: last.chat.id,
        },
    )
    .await;
    let all = chats.list_for_member(ada, 10, None).await.expect("all");
    let ids = |list: &[missive_domain::chat::ChatDetails]| -> Vec<_> {
        list.iter().map(|d| d.chat.id).collect()
    };
    assert_eq!(all.len(), 4);
    assert_eq!(ids(&paged), ids(&all), "every chat once, in order");
    assert!(all.iter().all(|d| whole_micros(d.chat.last_activity_at)));

    // What was sent reads back at microseconds too, as it was answered.
    let stored = store.messages().find(m.id).await.expect("read");
    let stored = stored.expect("stored");
    assert!(whole_micros(stored.created_at) && whole_micros(stored.sent_at));
}

#[tokio::test]
async fn every_subscriber_gets_every_event_and_nobody_listening_is_fine() {
    let publisher = BroadcastPublisher::with_capacity(4);
    let typing = Event::Typing {
        chat_id: ChatId::new(),
        user_id: UserId::new(),
    };
    publisher.publish(typing.clone()).await;
    let (mut first, mut second) = (publisher.subscribe(), publisher.subscribe());
    publisher.publish(typing.clone()).await;
    assert_eq!(first.recv().await.expect("event"), typing);
    assert_eq!(second.recv().await.expect("event"), typing);
    assert!(
        first.try_recv().is_err(),
        "only what was published after subscribing"
    );
}

#[tokio::test]
async fn the_test_hasher_tells_passwords_apart_and_says_what_it_is() {
    let hasher = PlainTestHasher;
    let hash = hasher
        .hash(&Password::new("hunter2hunter2").expect("valid"))
        .await
        .expect("hash");
    assert!(hash.as_str().starts_with("$plaintext-not-for-production$"));
    assert!(
        hasher
            .verify("hunter2hunter2", Some(&hash))
            .await
            .expect("verify")
    );
    assert!(
        !hasher
            .verify("hunter2hunter", Some(&hash))
            .await
            .expect("verify")
    );
    assert!(!hasher.verify("hunter2hunter2", None).await.expect("verify"));
    let foreign = PasswordHash::new("hunter2hunter2");
    assert!(
        !hasher
            .verify("hunter2hunter2", Some(&foreign))
            .await
            .expect("verify"),
        "not one of ours"
    );
}
