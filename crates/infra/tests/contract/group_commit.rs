//! Group commit on SQLite: sends that arrive together share one
//! transaction, and each is answered exactly as it would be alone, only
//! after that transaction committed. PostgreSQL keeps one statement per
//! send (the shared suite runs with group commit on for both).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::join_all;
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::mention::Mentions;
use missive_domain::message::{HistoryCursor, NewMessage};
use missive_domain::ports::{
    AppendError, Appended, ChatRepository, MessageRepository, UploadRepository,
};
use missive_domain::testkit::support::image_upload;
use missive_infra::scratch::{fresh_database, postgres_test_url};
use missive_infra::{
    Database, GroupCommit, GroupCommitStats, SeaChatRepository, SeaMessageRepository,
    SeaUploadRepository,
};
use tempfile::TempDir;

use crate::support::{group, message, users};

async fn sqlite() -> (Database, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, _) = fresh_database(dir.path(), None, 4)
        .await
        .expect("a fresh SQLite database");
    (db, dir)
}

async fn last_seq(db: &Database, chat_id: ChatId, viewer: UserId) -> i64 {
    SeaChatRepository::new(db)
        .details(chat_id, viewer)
        .await
        .expect("details")
        .expect("member")
        .chat
        .last_seq
}

fn created(answer: &Result<Appended, AppendError>) -> Option<(MessageId, i64)> {
    match answer {
        Ok(Appended::Created(m)) => Some((m.id, m.seq)),
        _ => None,
    }
}

fn since(before: GroupCommitStats, after: GroupCommitStats) -> (u64, u64) {
    (after.flushes - before.flushes, after.items - before.items)
}

/// What a send of the burst is, and so what it must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// One of ten racing sends of one `client_id`.
    Racing,
    /// A repeat of a `client_id` committed before the burst.
    Repeat,
    Stranger,
    Reply,
    /// A reply naming a member and attaching an upload that is gone.
    GoneReply,
    Attached,
    Mentioning,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_sends_shares_transactions_and_each_is_answered_as_alone() {
    let (db, _dir) = sqlite().await;
    let people = users(&db, 5).await;
    let (a, b, c, d, stranger) = (people[0], people[1], people[2], people[3], people[4]);
    let mut chats = Vec::new();
    for _ in 0..4 {
        chats.push(group(&db, &people[..4]).await);
    }
    let repo = SeaMessageRepository::new(&db).with_group_commit(GroupCommit::default());
    let uploads = SeaUploadRepository::new(&db);
    let kept = image_upload(a, "kept.png", 1);
    uploads.create(&kept, 1 << 30).await.expect("upload");
    let gone = image_upload(d, "gone.png", 2);
    // Committed before the burst: a client_id repeated in it, and a root.
    let early = message(chats[0], a, "early", Some("early"));
    let Ok(Appended::Created(early)) = repo.append(&early).await else {
        panic!("stored");
    };
    let root = message(chats[1], b, "root", None);
    repo.append(&root).await.expect("root");

    let mut burst: Vec<(Kind, NewMessage)> = Vec::new();
    for i in 0..10 {
        let racing = message(chats[0], a, &format!("racing {i}"), Some("racing"));
        burst.push((Kind::Racing, racing));
    }
    for _ in 0..2 {
        let repeat = message(chats[0], a, "early again", Some("early"));
        burst.push((Kind::Repeat, repeat));
    }
    burst.push((
        Kind::Stranger,
        message(chats[0], stranger, "let me in", None),
    ));
    for i in 0..3 {
        let mut reply = message(chats[1], c, &format!("reply {i}"), None);
        reply.reply_to = Some(root.id);
        reply.thread_root_id = Some(root.id);
        burst.push((Kind::Reply, reply));
    }
    let mut gone_reply = message(chats[1], d, "gone", None);
    gone_reply.reply_to = Some(root.id);
    gone_reply.thread_root_id = Some(root.id);
    gone_reply.mentions = Mentions::new(vec![b]).expect("mentions");
    gone_reply.attachments = vec![gone];
    burst.push((Kind::GoneReply, gone_reply));
    let mut attached = message(chats[2], a, "", None);
    attached.attachments = vec![kept];
    burst.push((Kind::Attached, attached));
    let mut mentioning = message(chats[3], a, "hi b", None);
    mentioning.mentions = Mentions::new(vec![b]).expect("mentions");
    burst.push((Kind::Mentioning, mentioning));
    let mut i = 0;
    while burst.len() < 64 {
        let client_id = (i % 2 == 0).then(|| format!("plain {i}"));
        let plain = message(chats[i % 4], people[i % 4], "plain", client_id.as_deref());
        burst.push((Kind::Plain, plain));
        i += 1;
    }

    let before = repo.group_commit_stats();
    // Each sender reads its message back on the pool as soon as it is
    // answered: acknowledged means committed.
    let answers = join_all(burst.iter().map(|(_, new)| async {
        let answer = repo.append(new).await;
        let read = match created(&answer) {
            Some((id, _)) => repo.find(id).await.expect("find"),
            None => None,
        };
        (answer, read)
    }))
    .await;
    let (flushes, items) = since(before, repo.group_commit_stats());

    assert_eq!(items, 64, "every send of the burst went through a group");
    assert!(
        flushes < items,
        "groups formed: {flushes} flushes for {items} sends"
    );
    assert!(repo.group_commit_stats().largest <= 32, "max_batch holds");
    let mut seqs: HashMap<ChatId, Vec<i64>> = HashMap::new();
    seqs.entry(chats[0]).or_default().push(early.seq);
    seqs.entry(chats[1]).or_default().push(1);
    let mut racing = Vec::new();
    for ((kind, new), (answer, read)) in burst.iter().zip(&answers) {
        match kind {
            Kind::Racing => match answer {
                Ok(Appended::Created(m) | Appended::Existing(m)) => {
                    racing.push((created(answer).is_some(), m.id, m.seq));
                }
                Err(e) => panic!("a racing send: {e:?}"),
            },
            Kind::Repeat => match answer {
                Ok(Appended::Existing(m)) => {
                    assert_eq!((m.id, m.seq, m.content.as_str()), (early.id, 1, "early"));
                }
                other => panic!("a repeat of a committed client_id: {other:?}"),
            },
            Kind::Stranger => assert!(
                matches!(answer, Err(AppendError::NotMember)),
                "a stranger: {answer:?}"
            ),
            Kind::GoneReply => assert!(
                matches!(answer, Err(AppendError::UploadGone)),
                "an upload gone: {answer:?}"
            ),
            Kind::Plain | Kind::Reply | Kind::Attached | Kind::Mentioning => {
                let Some((id, _)) = created(answer) else {
                    panic!("{kind:?}: {answer:?}");
                };
                assert_eq!(id, new.id, "{kind:?} answers its own message");
            }
        }
        if let Some((_, seq)) = created(answer) {
            seqs.entry(new.chat_id).or_default().push(seq);
            let stored = read.as_ref().expect("committed when acknowledged");
            assert_eq!(
                (stored.seq, stored.content.as_str(), stored.chat_id),
                (seq, new.content.as_str(), new.chat_id),
                "an acknowledged send reads back as answered"
            );
        }
    }

    let firsts: Vec<_> = racing.iter().filter(|(first, _, _)| *first).collect();
    assert_eq!(firsts.len(), 1, "one racing send is created: {racing:?}");
    let (_, id, seq) = *firsts[0];
    assert!(
        racing.iter().all(|r| (r.1, r.2) == (id, seq)),
        "the others answer Existing with its message: {racing:?}"
    );
    let mut stored_seqs = 0;
    for chat in &chats {
        let mut chat_seqs = seqs.remove(chat).unwrap_or_default();
        chat_seqs.sort_unstable();
        let n = i64::try_from(chat_seqs.len()).expect("small");
        assert_eq!(
            chat_seqs,
            (1..=n).collect::<Vec<_>>(),
            "gap-free seqs, one per message created"
        );
        assert_eq!(last_seq(&db, *chat, a).await, n, "the chat's last seq");
        let page = repo
            .history(*chat, HistoryCursor::Latest, 100)
            .await
            .expect("history");
        assert_eq!(page.items.len(), chat_seqs.len(), "nothing else stored");
        stored_seqs += chat_seqs.len();
    }
    assert_eq!(
        stored_seqs,
        2 + 64 - 10 + 1 - 2 - 1 - 1,
        "created, all told"
    );
    let thread = repo
        .find(root.id)
        .await
        .expect("find")
        .expect("root")
        .thread
        .expect("a thread");
    assert_eq!(
        thread.reply_count, 3,
        "the reply whose upload was gone rolled its root bump back"
    );
    assert_eq!(thread.participant_ids, vec![c], "only stored replies count");
    let chat_of_b = |chat| {
        let chats = SeaChatRepository::new(&db);
        async move {
            let details = chats.details(chat, b).await.expect("details");
            details.expect("member").mention_count
        }
    };
    assert_eq!(chat_of_b(chats[3]).await, 1, "a mention is stored");
    assert_eq!(
        chat_of_b(chats[1]).await,
        0,
        "the rolled-back reply's mention is not"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lone_sender_never_waits_for_a_group() {
    let (db, _dir) = sqlite().await;
    let people = users(&db, 1).await;
    let chat = group(&db, &people).await;
    // Half a second of allowed lingering, never used when nothing else
    // is in flight: ten sends one after another take far less than 5 s.
    let repo = SeaMessageRepository::new(&db).with_group_commit(GroupCommit {
        wait: Duration::from_millis(500),
        max_batch: 32,
    });
    let started = Instant::now();
    for i in 1..=10 {
        let answer = repo.append(&message(chat, people[0], "alone", None)).await;
        assert_eq!(created(&answer).map(|(_, seq)| seq), Some(i), "{answer:?}");
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2_500), "took {elapsed:?}");
    let stats = repo.group_commit_stats();
    assert_eq!(
        (stats.flushes, stats.items, stats.largest),
        (10, 10, 1),
        "each send flushed alone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_holds_at_most_max_batch_sends() {
    let (db, _dir) = sqlite().await;
    let people = users(&db, 2).await;
    let chat = group(&db, &people).await;
    let repo = SeaMessageRepository::new(&db).with_group_commit(GroupCommit {
        max_batch: 4,
        ..GroupCommit::default()
    });
    let burst: Vec<NewMessage> = (0..40)
        .map(|i| message(chat, people[i % 2], &format!("m{i}"), None))
        .collect();
    let answers = join_all(burst.iter().map(|new| repo.append(new))).await;
    let mut seqs: Vec<i64> = answers
        .iter()
        .map(|a| created(a).expect("created").1)
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
    let stats = repo.group_commit_stats();
    assert!(
        (2..=4).contains(&stats.largest),
        "groups formed, none over 4: {stats:?}"
    );
    assert!(stats.flushes >= 10, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_whose_caller_left_is_stored_once_or_not_at_all() {
    let (db, _dir) = sqlite().await;
    let people = users(&db, 1).await;
    let chat = group(&db, &people).await;
    let repo = SeaMessageRepository::new(&db).with_group_commit(GroupCommit::default());
    let sends: Vec<NewMessage> = (0..20)
        .map(|i| message(chat, people[0], &format!("m{i}"), Some(&format!("c{i}"))))
        .collect();
    // Every other caller goes away right after its send is queued (a
    // cancelled request); the rest wait for their answers.
    let waited = sends.iter().enumerate().filter_map(|(i, new)| {
        let send = repo.append(new);
        if i % 2 == 0 {
            // Polled once: queued (the answer cannot come that fast).
            drop(send.now_or_never());
            None
        } else {
            Some(send)
        }
    });
    let waited: Vec<_> = waited.collect();
    for answer in join_all(waited).await {
        assert!(created(&answer).is_some(), "{answer:?}");
    }
    // Each client retries: created if the first attempt was not stored,
    // else that attempt's message.
    for new in &sends {
        let mut retry = message(chat, people[0], "retry", None);
        retry.client_id.clone_from(&new.client_id);
        match repo.append(&retry).await.expect("retry") {
            Appended::Created(m) => assert_eq!(m.content.as_str(), "retry"),
            Appended::Existing(m) => assert_eq!(m.id, new.id, "the first attempt"),
        }
    }
    let page = repo
        .history(chat, HistoryCursor::Latest, 100)
        .await
        .expect("history");
    assert_eq!(page.items.len(), 20, "each client_id stored once");
    let seqs: Vec<i64> = page.items.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "no gap");
    assert_eq!(last_seq(&db, chat, people[0]).await, 20);
}

#[tokio::test]
async fn postgres_keeps_one_statement_per_send_for_now() {
    let Some(server) = postgres_test_url() else {
        eprintln!("PostgreSQL run skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (db, _) = fresh_database(dir.path(), Some(&server), 4)
        .await
        .expect("postgres");
    let people = users(&db, 1).await;
    let chat = group(&db, &people).await;
    let repo = SeaMessageRepository::new(&db).with_group_commit(GroupCommit::default());
    let sends: Vec<NewMessage> = (0..8)
        .map(|i| message(chat, people[0], &format!("m{i}"), None))
        .collect();
    for answer in join_all(sends.iter().map(|new| repo.append(new))).await {
        assert!(created(&answer).is_some(), "{answer:?}");
    }
    assert_eq!(repo.group_commit_stats(), GroupCommitStats::default());
}
