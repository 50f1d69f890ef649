use std::sync::Arc;

use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{HistoryCursor, Message};
use missive_domain::paging::Seq;
use missive_domain::ports::{Appended, MessageRepository};
use missive_domain::thread::MAX_PARTICIPANTS;
use missive_infra::SeaMessageRepository;

use crate::support::{group, message, now, on_each_backend, users};

async fn post(
    repo: &SeaMessageRepository,
    chat_id: ChatId,
    sender: UserId,
    root: Option<MessageId>,
) -> Message {
    let mut new = message(chat_id, sender, "text", None);
    new.reply_to = root;
    new.thread_root_id = root;
    match repo.append(&new).await.expect("send") {
        Appended::Created(m) => m,
        Appended::Existing(_) => panic!("no client id, no duplicate"),
    }
}

async fn root_of(repo: &SeaMessageRepository, id: MessageId) -> Message {
    repo.find(id).await.expect("find").expect("stored")
}

#[tokio::test]
async fn replies_keep_their_place_in_the_chat_and_sum_up_on_their_root() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let (ada, bob) = (people[0], people[1]);
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let root = post(&repo, chat_id, ada, None).await;
        assert_eq!(root.thread, None);

        let first = post(&repo, chat_id, bob, Some(root.id)).await;
        let between = post(&repo, chat_id, ada, None).await;
        let second = post(&repo, chat_id, ada, Some(root.id)).await;
        let third = post(&repo, chat_id, bob, Some(root.id)).await;

        assert_eq!(
            [first.seq, between.seq, second.seq, third.seq],
            [2, 3, 4, 5],
            "replies take the chat's next seqs"
        );
        let summary = root_of(&repo, root.id).await.thread.expect("a thread");
        assert_eq!(summary.reply_count, 3);
        assert_eq!(summary.last_reply_seq, 5);
        assert_eq!(summary.last_reply_at, third.created_at);
        assert_eq!(
            summary.participant_ids,
            [bob, ada],
            "in the order they first replied"
        );
        assert_eq!(root_of(&repo, first.id).await.thread_root_id, Some(root.id));

        let page = repo
            .replies(root.id, HistoryCursor::Latest, 2)
            .await
            .expect("page");
        let seqs: Vec<i64> = page.items.iter().map(|m| m.seq).collect();
        assert_eq!((seqs, page.has_more), (vec![4, 5], true));
        let older = repo
            .replies(root.id, HistoryCursor::Before(Seq::clamped(4)), 2)
            .await
            .expect("page");
        assert_eq!(older.items.iter().map(|m| m.seq).collect::<Vec<_>>(), [2]);
        assert!(!older.has_more);
        let newer = repo
            .replies(root.id, HistoryCursor::After(Seq::clamped(2)), 1)
            .await
            .expect("page");
        assert_eq!((newer.items[0].seq, newer.has_more), (4, true));
        assert!(
            repo.replies(between.id, HistoryCursor::Latest, 50)
                .await
                .expect("page")
                .items
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn deleting_replies_recounts_the_thread_and_a_deleted_root_keeps_it() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let root = post(&repo, chat_id, people[0], None).await;
        let first = post(&repo, chat_id, people[0], Some(root.id)).await;
        let last = post(&repo, chat_id, people[0], Some(root.id)).await;

        repo.soft_delete(last.id, now()).await.expect("delete");
        let summary = root_of(&repo, root.id).await.thread.expect("one left");
        assert_eq!(
            (
                summary.reply_count,
                summary.last_reply_seq,
                summary.last_reply_at
            ),
            (1, first.seq, first.created_at),
            "the newest live reply is the last one now"
        );

        repo.soft_delete(root.id, now()).await.expect("delete");
        let tombstone = root_of(&repo, root.id).await;
        assert!(tombstone.is_deleted());
        assert_eq!(tombstone.thread.map(|t| t.reply_count), Some(1));

        repo.soft_delete(first.id, now()).await.expect("delete");
        assert_eq!(
            root_of(&repo, root.id).await.thread,
            None,
            "no live reply left"
        );
    })
    .await;
}

#[tokio::test]
async fn a_thread_names_its_first_ten_participants_only() {
    on_each_backend(|db| async move {
        let people = users(&db, MAX_PARTICIPANTS + 2).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let root = post(&repo, chat_id, people[0], None).await;
        for person in people.iter().rev() {
            post(&repo, chat_id, *person, Some(root.id)).await;
            post(&repo, chat_id, *person, Some(root.id)).await;
        }

        let summary = root_of(&repo, root.id).await.thread.expect("a thread");
        let expected: Vec<UserId> = people
            .iter()
            .rev()
            .take(MAX_PARTICIPANTS)
            .copied()
            .collect();
        assert_eq!(summary.participant_ids, expected);
        assert_eq!(summary.reply_count as usize, 2 * people.len());
    })
    .await;
}

#[tokio::test]
async fn a_batch_of_replies_sums_up_on_each_root() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let (one, two) = (
            post(&repo, chat_id, people[0], None).await,
            post(&repo, chat_id, people[0], None).await,
        );
        let batch: Vec<_> = [Some(one.id), None, Some(two.id), Some(one.id)]
            .into_iter()
            .map(|root| {
                let mut new = message(chat_id, people[0], "batched", None);
                new.reply_to = root;
                new.thread_root_id = root;
                new
            })
            .collect();

        repo.append_batch(&batch).await.expect("batch");

        let first = root_of(&repo, one.id).await.thread.expect("a thread");
        let second = root_of(&repo, two.id).await.thread.expect("a thread");
        assert_eq!((first.reply_count, first.last_reply_seq), (2, 6));
        assert_eq!((second.reply_count, second.last_reply_seq), (1, 5));
    })
    .await;
}

#[tokio::test]
async fn concurrent_replies_and_deletions_leave_an_exact_count() {
    on_each_backend(|db| async move {
        let people = users(&db, 20).await;
        let chat_id = group(&db, &people).await;
        let repo = Arc::new(SeaMessageRepository::new(&db));
        let root = post(&repo, chat_id, people[0], None).await;
        let mut doomed = Vec::new();
        for person in &people[..10] {
            doomed.push(post(&repo, chat_id, *person, Some(root.id)).await);
        }

        let mut tasks = Vec::new();
        for person in &people[10..] {
            let (repo, person) = (Arc::clone(&repo), *person);
            tasks.push(tokio::spawn(async move {
                post(&repo, chat_id, person, Some(root.id)).await;
            }));
        }
        for reply in doomed {
            let repo = Arc::clone(&repo);
            tasks.push(tokio::spawn(async move {
                repo.soft_delete(reply.id, now()).await.expect("delete");
            }));
        }
        for task in tasks {
            task.await.expect("join");
        }

        let summary = root_of(&repo, root.id).await.thread.expect("a thread");
        assert_eq!(summary.reply_count, 10);
    })
    .await;
}
