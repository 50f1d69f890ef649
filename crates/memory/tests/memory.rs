//! What the shared contract does not check but these adapters promise:
//! an upload of bytes being collected waits for the collection, a
//! far-behind sender catches up as with `missive-infra`, events reach
//! every subscriber, and the test hasher tells passwords apart.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use missive_domain::chat::{ChatKind, MemberRole};
use missive_domain::event::Event;
use missive_domain::ids::UserId;
use missive_domain::ids::{ChatId, UploadId};
use missive_domain::ports::{
    BlobError, BlobStore, ChangeLog, ChatRepository, ChunkSource, EventPublisher,
    MessageRepository, PasswordHasher, Staged, UploadRepository, UserRepository,
};
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
