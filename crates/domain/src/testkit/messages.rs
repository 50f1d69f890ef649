//! Messages: gap-free seqs per chat, idempotent client ids, history pages,
//! edits and tombstones, metadata and batches. Listings and search are in
//! [`super::search`].

use futures_util::future::join_all;

use super::Adapters;
use super::support::{group, message, now, users};
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::{HistoryCursor, MessageContent, MessagePage, NewMessage};
use crate::metadata::Metadata;
use crate::paging::Seq;
use crate::ports::{AppendError, Appended, MessageEdit, MessageRepository};

super::rules!("messages":
    messages_get_consecutive_seqs_and_read_back_exactly,
    only_members_can_append,
    a_repeated_client_id_returns_the_original_and_leaves_no_gap,
    racing_duplicates_store_exactly_one_message,
    concurrent_senders_get_a_gap_free_sequence,
    history_pages_in_both_directions_with_has_more,
    member_history_is_the_same_page_for_members_and_none_for_others,
    edits_change_only_what_is_asked_and_never_tombstones,
    offset_pages_count_positions_from_the_end_tombstones_included,
    metadata_is_stored_read_back_replaced_and_dropped_with_the_text,
    a_batch_gets_contiguous_seqs_and_stores_only_what_is_new,
    parallel_retries_of_one_batch_store_it_once,
);

fn seq(n: i64) -> Seq {
    Seq::new(n).expect("a position")
}

fn seqs(page: &MessagePage) -> Vec<i64> {
    page.items.iter().map(|m| m.seq).collect()
}

async fn send(repo: &dyn MessageRepository, chat_id: ChatId, sender: UserId, content: &str) -> i64 {
    match repo
        .append(&message(chat_id, sender, content, None))
        .await
        .expect("send")
    {
        Appended::Created(m) => m.seq,
        Appended::Existing(_) => panic!("no client id, no duplicate"),
    }
}

async fn last_seq(a: &Adapters, chat_id: ChatId, viewer: UserId) -> i64 {
    a.chats
        .details(chat_id, viewer)
        .await
        .expect("query")
        .expect("member")
        .chat
        .last_seq
}

/// Messages of a chat get seqs 1, 2, … and read back by id exactly as
/// stored (text outside ASCII, rating, client id); the chat's `last_seq`
/// follows.
pub async fn messages_get_consecutive_seqs_and_read_back_exactly(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let mut sent = message(chat_id, people[0], "héllo wörld 👋", Some("c-1"));
    sent.rating = Some(false);

    let first = match repo.append(&sent).await.expect("send") {
        Appended::Created(m) => m,
        other => panic!("{other:?}"),
    };
    let second = send(repo, chat_id, people[1], "two").await;

    assert_eq!((first.seq, second), (1, 2), "consecutive seqs from 1");
    assert_eq!(
        repo.find(first.id).await.expect("find"),
        Some(first.clone()),
        "read back by id exactly as stored"
    );
    assert_eq!(first.rating, Some(false), "the rating is kept");
    assert_eq!(
        last_seq(a, chat_id, people[0]).await,
        2,
        "the chat's last_seq follows"
    );
}

/// Neither a non-member nor a message to a missing chat is stored
/// (`NotMember`), and no seq is consumed.
pub async fn only_members_can_append(a: &Adapters) {
    let people = users(a, 3).await;
    let chat_id = group(a, &people[..2]).await;
    let repo = a.messages.as_ref();

    let stranger = repo
        .append(&message(chat_id, people[2], "let me in", None))
        .await;
    let nowhere = repo
        .append(&message(ChatId::new(), people[0], "void", None))
        .await;

    assert!(
        matches!(stranger, Err(AppendError::NotMember)),
        "a stranger appends: {stranger:?}"
    );
    assert!(
        matches!(nowhere, Err(AppendError::NotMember)),
        "a missing chat: {nowhere:?}"
    );
    assert_eq!(
        last_seq(a, chat_id, people[0]).await,
        0,
        "no seq was consumed"
    );
}

/// A sender's repeated `client_id` returns the original message unchanged
/// and consumes no seq; the same key from another sender is a new message.
pub async fn a_repeated_client_id_returns_the_original_and_leaves_no_gap(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let original = repo
        .append(&message(chat_id, people[0], "first", Some("k")))
        .await
        .expect("send");

    let retry = repo
        .append(&message(chat_id, people[0], "different text", Some("k")))
        .await
        .expect("send");
    // The same key from another sender is a different message.
    let other_sender = repo
        .append(&message(chat_id, people[1], "theirs", Some("k")))
        .await
        .expect("send");

    let Appended::Created(original) = original else {
        panic!("created")
    };
    assert_eq!(
        retry,
        Appended::Existing(original.clone()),
        "append with a client_id this sender already used must answer Appended::Existing with the stored message, unchanged"
    );
    assert!(
        matches!(other_sender, Appended::Created(ref m) if m.seq == 2),
        "{other_sender:?}"
    );
    assert_eq!(
        send(repo, chat_id, people[0], "next").await,
        3,
        "the retry left no gap"
    );
}

/// Twenty appends of one client id at once store exactly one message, and
/// every one of them answers it.
pub async fn racing_duplicates_store_exactly_one_message(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let attempts: Vec<NewMessage> = (0..20)
        .map(|_| message(chat_id, people[0], "once", Some("same")))
        .collect();
    let outcomes = join_all(attempts.iter().map(|m| a.messages.append(m))).await;

    let mut created = 0;
    let mut ids = Vec::new();
    for outcome in outcomes {
        match outcome.expect("send") {
            Appended::Created(m) => {
                created += 1;
                ids.push(m.id);
            }
            Appended::Existing(m) => ids.push(m.id),
        }
    }

    assert_eq!(
        created, 1,
        "of the racing appends of one client_id exactly one answers Appended::Created, the others Existing"
    );
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every attempt answers the same message: {ids:?}"
    );
    assert_eq!(last_seq(a, chat_id, people[0]).await, 1, "one seq consumed");
}

/// Four senders sending fifty messages each at once get the seqs 1..=200,
/// each sender's increasing.
pub async fn concurrent_senders_get_a_gap_free_sequence(a: &Adapters) {
    let people = users(a, 4).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let senders = people.iter().map(|sender| async move {
        let mut seqs = Vec::new();
        for i in 0..50 {
            seqs.push(send(repo, chat_id, *sender, &format!("m{i}")).await);
        }
        seqs
    });
    let mut all = Vec::new();
    for seqs in join_all(senders).await {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "each sender's seqs increase: {seqs:?}"
        );
        all.extend(seqs);
    }

    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<i64>>(), "gap-free and unique");
    assert_eq!(last_seq(a, chat_id, people[0]).await, 200);
}

/// History pages from the latest, before and after a seq, with `has_more`
/// telling whether more lie in the direction of travel.
pub async fn history_pages_in_both_directions_with_has_more(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    for i in 1..=7 {
        send(repo, chat_id, people[0], &format!("m{i}")).await;
    }

    let latest = repo
        .history(chat_id, HistoryCursor::Latest, 3)
        .await
        .expect("page");
    assert_eq!(
        (seqs(&latest), latest.has_more),
        (vec![5, 6, 7], true),
        "latest"
    );
    let before = repo
        .history(chat_id, HistoryCursor::Before(seq(5)), 3)
        .await
        .expect("page");
    assert_eq!(
        (seqs(&before), before.has_more),
        (vec![2, 3, 4], true),
        "before 5"
    );
    let oldest = repo
        .history(chat_id, HistoryCursor::Before(seq(2)), 3)
        .await
        .expect("page");
    assert_eq!(
        (seqs(&oldest), oldest.has_more),
        (vec![1], false),
        "before 2"
    );
    let after = repo
        .history(chat_id, HistoryCursor::After(seq(2)), 3)
        .await
        .expect("page");
    assert_eq!(
        (seqs(&after), after.has_more),
        (vec![3, 4, 5], true),
        "after 2"
    );
    let tail = repo
        .history(chat_id, HistoryCursor::After(seq(5)), 3)
        .await
        .expect("page");
    assert_eq!((seqs(&tail), tail.has_more), (vec![6, 7], false), "after 5");
    let exact = repo
        .history(chat_id, HistoryCursor::Latest, 7)
        .await
        .expect("page");
    assert_eq!(
        (exact.items.len(), exact.has_more),
        (7, false),
        "a page of exactly everything has no more"
    );
}

/// `member_history` is `history`'s page for a member — every field as a
/// lookup by id reads it, empty chats included — and `None` for others.
pub async fn member_history_is_the_same_page_for_members_and_none_for_others(a: &Adapters) {
    let people = users(a, 2).await;
    let (member, stranger) = (people[0], people[1]);
    let chat_id = group(a, &people[..1]).await;
    let empty_chat = group(a, &people[..1]).await;
    let repo = a.messages.as_ref();
    for i in 1..=5 {
        send(repo, chat_id, member, &format!("m{i}")).await;
    }

    for cursor in [
        HistoryCursor::Latest,
        HistoryCursor::Before(seq(4)),
        HistoryCursor::After(seq(1)),
        HistoryCursor::After(seq(5)),
    ] {
        let plain = repo.history(chat_id, cursor, 2).await.expect("page");
        let as_member = repo
            .member_history(member, chat_id, cursor, 2)
            .await
            .expect("page")
            .expect("a member reads");
        assert_eq!(
            (seqs(&as_member), as_member.has_more),
            (seqs(&plain), plain.has_more),
            "{cursor:?}"
        );
        assert!(
            repo.member_history(stranger, chat_id, cursor, 2)
                .await
                .expect("query")
                .is_none(),
            "a stranger reads nothing at {cursor:?}"
        );
    }
    // Pages may be read differently from a lookup by id; every field must
    // read back the same, absent ones included.
    let first = repo
        .history(chat_id, HistoryCursor::After(seq(0)), 1)
        .await
        .expect("page")
        .items[0]
        .id;
    let mut full = message(
        chat_id,
        member,
        "with every optional field",
        Some("client-7"),
    );
    full.rating = Some(true);
    full.reply_to = Some(first);
    repo.append(&full).await.expect("send");
    let edit = MessageEdit {
        content: Some((MessageContent::new("edited", 100).expect("valid"), now())),
        rating: Some(Some(false)),
        metadata: None,
        mentions: None,
    };
    repo.edit(first, &edit)
        .await
        .expect("edit")
        .expect("edited");
    let second = repo
        .history(chat_id, HistoryCursor::After(seq(1)), 1)
        .await
        .expect("page")
        .items[0]
        .id;
    repo.soft_delete(second, now())
        .await
        .expect("delete")
        .expect("deleted");
    let page = repo
        .member_history(member, chat_id, HistoryCursor::Latest, 50)
        .await
        .expect("page")
        .expect("a member reads");
    assert_eq!(page.items.len(), 6, "every message, the tombstone included");
    for item in &page.items {
        let by_id = repo.find(item.id).await.expect("find").expect("stored");
        assert_eq!(item, &by_id, "a page item reads as a lookup by id");
    }

    // An empty chat is an empty page for a member, not "not a member".
    let empty = repo
        .member_history(member, empty_chat, HistoryCursor::Latest, 50)
        .await
        .expect("query")
        .expect("a member of an empty chat");
    assert!(
        empty.items.is_empty() && !empty.has_more,
        "an empty chat is an empty page: {empty:?}"
    );
    assert!(
        repo.member_history(stranger, empty_chat, HistoryCursor::Latest, 50)
            .await
            .expect("query")
            .is_none(),
        "a stranger reads nothing of an empty chat"
    );
}

/// An edit changes only the parts it names (a rating alone does not stamp
/// `edited_at`); a tombstone keeps its seq, happens once and cannot be
/// edited, nor can a missing message.
pub async fn edits_change_only_what_is_asked_and_never_tombstones(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let sent = message(chat_id, people[0], "original", None);
    repo.append(&sent).await.expect("send");
    let at = now();

    let rated = repo
        .edit(
            sent.id,
            &MessageEdit {
                content: None,
                rating: Some(Some(true)),
                metadata: None,
                mentions: None,
            },
        )
        .await
        .expect("edit")
        .expect("present");
    assert_eq!(
        (rated.rating, rated.content.as_str(), rated.edited_at),
        (Some(true), "original", None),
        "a rating alone"
    );

    let edited = repo
        .edit(
            sent.id,
            &MessageEdit {
                content: Some((MessageContent::new("changed", 100).expect("valid"), at)),
                rating: None,
                metadata: None,
                mentions: None,
            },
        )
        .await
        .expect("edit")
        .expect("present");
    assert_eq!(
        (edited.content.as_str(), edited.edited_at, edited.rating),
        ("changed", Some(at), Some(true)),
        "the content alone"
    );

    let tombstone = repo
        .soft_delete(sent.id, at)
        .await
        .expect("delete")
        .expect("deleted");
    assert_eq!(
        (
            tombstone.content.as_str(),
            tombstone.deleted_at,
            tombstone.seq
        ),
        ("", Some(at), 1),
        "a tombstone is emptied and keeps its seq"
    );
    assert!(
        repo.soft_delete(sent.id, at)
            .await
            .expect("delete")
            .is_none(),
        "only once"
    );
    let edit_tombstone = MessageEdit {
        content: None,
        rating: Some(None),
        metadata: None,
        mentions: None,
    };
    assert!(
        repo.edit(sent.id, &edit_tombstone)
            .await
            .expect("edit")
            .is_none(),
        "a tombstone is not edited"
    );
    assert!(
        repo.edit(MessageId::new(), &edit_tombstone)
            .await
            .expect("edit")
            .is_none(),
        "a missing message is not edited"
    );
}

/// `HistoryCursor::Offset` counts positions from the newest message,
/// tombstones included; pages past the start are empty.
pub async fn offset_pages_count_positions_from_the_end_tombstones_included(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let mut ids = Vec::new();
    for i in 1..=7 {
        let new = message(chat_id, people[0], &format!("m{i}"), None);
        repo.append(&new).await.expect("send");
        ids.push(new.id);
    }
    // seq 6 becomes a tombstone: it still takes its position.
    repo.soft_delete(ids[5], now()).await.expect("delete");
    let page = |offset: i64, limit: u32| async move {
        let page = repo
            .history(chat_id, HistoryCursor::Offset(seq(offset)), limit)
            .await
            .expect("page");
        (seqs(&page), page.has_more)
    };

    assert_eq!(
        page(0, 3).await,
        (vec![5, 6, 7], true),
        "offset 0 is the newest page"
    );
    assert_eq!(
        page(2, 3).await,
        (vec![3, 4, 5], true),
        "the tombstone counts"
    );
    assert_eq!(page(4, 3).await, (vec![1, 2, 3], false), "offset 4");
    assert_eq!(
        page(5, 3).await,
        (vec![1, 2], false),
        "the last page is short"
    );
    assert_eq!(page(7, 3).await, (vec![], false), "exactly at the start");
    assert_eq!(
        page(1_000_000, 3).await,
        (vec![], false),
        "beyond the start"
    );
    let deleted = repo
        .history(chat_id, HistoryCursor::Offset(seq(1)), 1)
        .await
        .expect("page");
    assert!(
        deleted.items[0].is_deleted(),
        "offset 1 is the tombstone: {deleted:?}"
    );
}

/// Metadata reads back as written (by id and in pages), is replaced whole
/// by an edit without stamping `edited_at`, and a tombstone keeps none.
pub async fn metadata_is_stored_read_back_replaced_and_dropped_with_the_text(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let mut new = message(chat_id, people[0], "with metadata", None);
    let metadata = serde_json::json!({
        "model": "gpt-5", "usage": {"input": 12, "output": [1, 2.5]},
        "tool_call_id": "call_1", "ok": true, "note": "日本語 ✓"
    });
    new.metadata = Metadata::new(metadata.clone()).expect("valid");
    let plain = message(chat_id, people[0], "without", None);
    repo.append(&new).await.expect("send");
    repo.append(&plain).await.expect("send");

    let found = repo.find(new.id).await.expect("find").expect("stored");
    assert_eq!(found.metadata.to_value(), metadata, "read back by id");
    let page = repo
        .history(chat_id, HistoryCursor::Latest, 10)
        .await
        .expect("page");
    assert_eq!(
        page.items[0].metadata.to_value(),
        metadata,
        "decoded by position too"
    );
    assert!(
        page.items[1].metadata.is_empty(),
        "no metadata reads back empty"
    );

    let replaced = Metadata::new(serde_json::json!({"model": "other"})).expect("valid");
    let edit = MessageEdit {
        content: None,
        rating: None,
        metadata: Some(replaced.clone()),
        mentions: None,
    };
    let edited = repo.edit(new.id, &edit).await.expect("edit").expect("live");
    assert_eq!(edited.metadata, replaced, "replaced, not merged");
    assert_eq!(edited.edited_at, None, "metadata alone is not an edit");

    let tombstone = repo
        .soft_delete(new.id, now())
        .await
        .expect("delete")
        .expect("was live");
    assert!(
        tombstone.metadata.is_empty(),
        "a tombstone keeps no metadata"
    );
}

/// A batch answers in its order: client ids already used are `Existing`,
/// the rest get contiguous seqs; a retry stores nothing, the next append
/// follows on, and a non-member's batch is `NotMember`.
pub async fn a_batch_gets_contiguous_seqs_and_stores_only_what_is_new(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    repo.append(&message(chat_id, people[1], "before", None))
        .await
        .expect("send");
    let earlier = message(chat_id, people[0], "earlier", Some("turn-1"));
    repo.append(&earlier).await.expect("send");

    let batch = vec![
        message(chat_id, people[0], "again", Some("turn-1")),
        message(chat_id, people[0], "second", Some("turn-2")),
        message(chat_id, people[0], "no key", None),
        message(chat_id, people[0], "third", Some("turn-3")),
    ];
    let answer = repo.append_batch(&batch).await.expect("batch");

    let shape: Vec<(bool, i64, String)> = answer
        .iter()
        .map(|a| match a {
            Appended::Created(m) => (true, m.seq, m.content.clone()),
            Appended::Existing(m) => (false, m.seq, m.content.clone()),
        })
        .collect();
    assert_eq!(
        shape,
        [
            (false, 2, "earlier".to_owned()),
            (true, 3, "second".to_owned()),
            (true, 4, "no key".to_owned()),
            (true, 5, "third".to_owned()),
        ],
        "(created, seq, content) of each"
    );
    let again = repo.append_batch(&batch[1..2]).await.expect("retry");
    assert!(
        matches!(&again[0], Appended::Existing(m) if m.seq == 3),
        "a retry is Existing: {again:?}"
    );
    let after = message(chat_id, people[1], "after", None);
    let appended = repo.append(&after).await.expect("send");
    assert!(
        matches!(&appended, Appended::Created(m) if m.seq == 6),
        "the next append follows on: {appended:?}"
    );
    let page = repo
        .history(chat_id, HistoryCursor::Latest, 50)
        .await
        .expect("page");
    assert_eq!(seqs(&page), [1, 2, 3, 4, 5, 6], "no gap, no duplicate");

    let stranger = users(a, 1).await[0];
    let foreign = vec![message(chat_id, stranger, "intruder", None)];
    let refused = repo.append_batch(&foreign).await;
    assert!(
        matches!(refused, Err(AppendError::NotMember)),
        "a non-member's batch: {refused:?}"
    );
}

/// Six retries of one batch at once store it once, and every one answers
/// the same seqs.
pub async fn parallel_retries_of_one_batch_store_it_once(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let batch: Vec<NewMessage> = (0..50)
        .map(|i| {
            message(
                chat_id,
                people[0],
                &format!("turn {i}"),
                Some(&format!("t{i}")),
            )
        })
        .collect();

    let answers = join_all((0..6).map(|_| a.messages.append_batch(&batch))).await;
    let mut created = 0;
    for answer in answers {
        let answer = answer.expect("batch");
        created += answer
            .iter()
            .filter(|a| matches!(a, Appended::Created(_)))
            .count();
        let seqs: Vec<i64> = answer
            .iter()
            .map(|a| match a {
                Appended::Created(m) | Appended::Existing(m) => m.seq,
            })
            .collect();
        assert_eq!(
            seqs,
            (1..=50).collect::<Vec<_>>(),
            "every retry answers the same"
        );
    }
    assert_eq!(created, 50, "stored once");
    let page = a
        .messages
        .history(chat_id, HistoryCursor::Latest, 200)
        .await
        .expect("page");
    assert_eq!(page.items.len(), 50, "fifty messages in the chat");
}
