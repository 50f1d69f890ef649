//! Threads: replies take their place in the chat's sequence and their
//! root keeps an exact summary of the live replies.

use futures_util::future::{join, join_all};

use super::Adapters;
use super::support::{group, message, now, users};
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::{HistoryCursor, Message};
use crate::paging::Seq;
use crate::ports::{Appended, MessageRepository};
use crate::thread::MAX_PARTICIPANTS;

super::rules!("threads":
    replies_keep_their_place_in_the_chat_and_sum_up_on_their_root,
    deleting_replies_recounts_the_thread_and_a_deleted_root_keeps_it,
    a_thread_names_its_first_ten_participants_only,
    a_batch_of_replies_sums_up_on_each_root,
    concurrent_replies_and_deletions_leave_an_exact_count,
);

async fn post(
    repo: &dyn MessageRepository,
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

async fn root_of(repo: &dyn MessageRepository, id: MessageId) -> Message {
    repo.find(id).await.expect("find").expect("stored")
}

/// Replies take the chat's next seqs; their root sums them up (count,
/// last reply, participants in order of their first reply), and
/// `replies` pages through them like history.
pub async fn replies_keep_their_place_in_the_chat_and_sum_up_on_their_root(a: &Adapters) {
    let people = users(a, 2).await;
    let (ada, bob) = (people[0], people[1]);
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let root = post(repo, chat_id, ada, None).await;
    assert_eq!(root.thread, None, "a new message has no thread");

    let first = post(repo, chat_id, bob, Some(root.id)).await;
    let between = post(repo, chat_id, ada, None).await;
    let second = post(repo, chat_id, ada, Some(root.id)).await;
    let third = post(repo, chat_id, bob, Some(root.id)).await;

    assert_eq!(
        [first.seq, between.seq, second.seq, third.seq],
        [2, 3, 4, 5],
        "replies take the chat's next seqs"
    );
    let summary = root_of(repo, root.id).await.thread.expect("a thread");
    assert_eq!(summary.reply_count, 3, "reply count");
    assert_eq!(summary.last_reply_seq, 5, "last reply seq");
    assert_eq!(summary.last_reply_at, third.created_at, "last reply time");
    assert_eq!(
        summary.participant_ids,
        [bob, ada],
        "in the order they first replied"
    );
    assert_eq!(
        root_of(repo, first.id).await.thread_root_id,
        Some(root.id),
        "a reply names its root"
    );

    let page = repo
        .replies(root.id, HistoryCursor::Latest, 2)
        .await
        .expect("page");
    let seqs: Vec<i64> = page.items.iter().map(|m| m.seq).collect();
    assert_eq!(
        (seqs, page.has_more),
        (vec![4, 5], true),
        "the latest replies"
    );
    let older = repo
        .replies(root.id, HistoryCursor::Before(Seq::clamped(4)), 2)
        .await
        .expect("page");
    assert_eq!(
        older.items.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [2],
        "replies before 4"
    );
    assert!(!older.has_more, "nothing before the first reply");
    let newer = repo
        .replies(root.id, HistoryCursor::After(Seq::clamped(2)), 1)
        .await
        .expect("page");
    assert_eq!(
        (newer.items[0].seq, newer.has_more),
        (4, true),
        "replies after 2"
    );
    assert!(
        repo.replies(between.id, HistoryCursor::Latest, 50)
            .await
            .expect("page")
            .items
            .is_empty(),
        "a message without replies has none"
    );
}

/// Deleting a reply recounts its root's summary from the live replies; a
/// deleted root keeps its summary; no live reply left, no summary.
pub async fn deleting_replies_recounts_the_thread_and_a_deleted_root_keeps_it(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let root = post(repo, chat_id, people[0], None).await;
    let first = post(repo, chat_id, people[0], Some(root.id)).await;
    let last = post(repo, chat_id, people[0], Some(root.id)).await;

    repo.soft_delete(last.id, now()).await.expect("delete");
    let summary = root_of(repo, root.id).await.thread.expect("one left");
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
    let tombstone = root_of(repo, root.id).await;
    assert!(tombstone.is_deleted(), "the root is a tombstone");
    assert_eq!(
        tombstone.thread.map(|t| t.reply_count),
        Some(1),
        "a deleted root keeps its summary"
    );

    repo.soft_delete(first.id, now()).await.expect("delete");
    assert_eq!(
        root_of(repo, root.id).await.thread,
        None,
        "no live reply left"
    );
}

/// A thread names the first [`MAX_PARTICIPANTS`] people who replied, and
/// counts every reply.
pub async fn a_thread_names_its_first_ten_participants_only(a: &Adapters) {
    let people = users(a, MAX_PARTICIPANTS + 2).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let root = post(repo, chat_id, people[0], None).await;
    for person in people.iter().rev() {
        post(repo, chat_id, *person, Some(root.id)).await;
        post(repo, chat_id, *person, Some(root.id)).await;
    }

    let summary = root_of(repo, root.id).await.thread.expect("a thread");
    let expected: Vec<UserId> = people
        .iter()
        .rev()
        .take(MAX_PARTICIPANTS)
        .copied()
        .collect();
    assert_eq!(summary.participant_ids, expected, "the first ten, in order");
    assert_eq!(
        summary.reply_count as usize,
        2 * people.len(),
        "every reply counts"
    );
}

/// A batch mixing replies to several roots (and a plain message) sums up
/// on each root.
pub async fn a_batch_of_replies_sums_up_on_each_root(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let (one, two) = (
        post(repo, chat_id, people[0], None).await,
        post(repo, chat_id, people[0], None).await,
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

    let first = root_of(repo, one.id).await.thread.expect("a thread");
    let second = root_of(repo, two.id).await.thread.expect("a thread");
    assert_eq!(
        (first.reply_count, first.last_reply_seq),
        (2, 6),
        "the first root"
    );
    assert_eq!(
        (second.reply_count, second.last_reply_seq),
        (1, 5),
        "the second root"
    );
}

/// Ten new replies racing ten deletions of older ones leave the root's
/// count exact.
pub async fn concurrent_replies_and_deletions_leave_an_exact_count(a: &Adapters) {
    let people = users(a, 20).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let root = post(repo, chat_id, people[0], None).await;
    let mut doomed = Vec::new();
    for person in &people[..10] {
        doomed.push(post(repo, chat_id, *person, Some(root.id)).await);
    }

    let replies = join_all(
        people[10..]
            .iter()
            .map(|person| post(repo, chat_id, *person, Some(root.id))),
    );
    let deletions = join_all(doomed.iter().map(|reply| async move {
        repo.soft_delete(reply.id, now()).await.expect("delete");
    }));
    join(replies, deletions).await;

    let summary = root_of(repo, root.id).await.thread.expect("a thread");
    assert_eq!(
        summary.reply_count, 10,
        "ten added, ten deleted: {summary:?}"
    );
}
