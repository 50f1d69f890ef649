use std::sync::Arc;

use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{HistoryCursor, MessageContent, NewMessage, SearchQuery};
use missive_domain::metadata::Metadata;
use missive_domain::paging::Seq;
use missive_domain::ports::{
    AppendError, Appended, ChatRepository, MessageEdit, MessageRepository,
};
use missive_infra::{Database, SeaChatRepository, SeaMessageRepository};

use crate::support::{group, message, now, on_each_backend, users};

fn seq(n: i64) -> Seq {
    Seq::new(n).expect("a position")
}

async fn send(repo: &SeaMessageRepository, chat_id: ChatId, sender: UserId, content: &str) -> i64 {
    match repo
        .append(&message(chat_id, sender, content, None))
        .await
        .expect("send")
    {
        Appended::Created(m) => m.seq,
        Appended::Existing(_) => panic!("no client id, no duplicate"),
    }
}

async fn last_seq(db: &Database, chat_id: ChatId, viewer: UserId) -> i64 {
    SeaChatRepository::new(db)
        .details(chat_id, viewer)
        .await
        .expect("query")
        .expect("member")
        .chat
        .last_seq
}

#[tokio::test]
async fn messages_get_consecutive_seqs_and_read_back_exactly() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let mut sent = message(chat_id, people[0], "héllo wörld 👋", Some("c-1"));
        sent.rating = Some(false);

        let first = match repo.append(&sent).await.expect("send") {
            Appended::Created(m) => m,
            other => panic!("{other:?}"),
        };
        let second = send(&repo, chat_id, people[1], "two").await;

        assert_eq!((first.seq, second), (1, 2));
        assert_eq!(
            repo.find(first.id).await.expect("find"),
            Some(first.clone())
        );
        assert_eq!(first.rating, Some(false));
        assert_eq!(last_seq(&db, chat_id, people[0]).await, 2);
    })
    .await;
}

#[tokio::test]
async fn only_members_can_append() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let chat_id = group(&db, &people[..2]).await;
        let repo = SeaMessageRepository::new(&db);

        let stranger = repo
            .append(&message(chat_id, people[2], "let me in", None))
            .await;
        let nowhere = repo
            .append(&message(ChatId::new(), people[0], "void", None))
            .await;

        assert!(matches!(stranger, Err(AppendError::NotMember)));
        assert!(matches!(nowhere, Err(AppendError::NotMember)));
        assert_eq!(
            last_seq(&db, chat_id, people[0]).await,
            0,
            "no seq was consumed"
        );
    })
    .await;
}

#[tokio::test]
async fn a_repeated_client_id_returns_the_original_and_leaves_no_gap() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
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
        assert_eq!(retry, Appended::Existing(original.clone()));
        assert!(
            matches!(other_sender, Appended::Created(ref m) if m.seq == 2),
            "{other_sender:?}"
        );
        assert_eq!(send(&repo, chat_id, people[0], "next").await, 3);
    })
    .await;
}

#[tokio::test]
async fn racing_duplicates_store_exactly_one_message() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = Arc::new(SeaMessageRepository::new(&db));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let repo = Arc::clone(&repo);
                let sender = people[0];
                tokio::spawn(async move {
                    repo.append(&message(chat_id, sender, "once", Some("same")))
                        .await
                })
            })
            .collect();

        let mut created = 0;
        let mut ids = Vec::new();
        for task in tasks {
            match task.await.expect("task").expect("send") {
                Appended::Created(m) => {
                    created += 1;
                    ids.push(m.id);
                }
                Appended::Existing(m) => ids.push(m.id),
            }
        }

        assert_eq!(created, 1);
        assert!(ids.iter().all(|id| *id == ids[0]));
        assert_eq!(last_seq(&db, chat_id, people[0]).await, 1);
    })
    .await;
}

#[tokio::test]
async fn concurrent_senders_get_a_gap_free_sequence() {
    on_each_backend(|db| async move {
        let people = users(&db, 4).await;
        let chat_id = group(&db, &people).await;
        let repo = Arc::new(SeaMessageRepository::new(&db));
        let tasks: Vec<_> = people
            .iter()
            .map(|sender| {
                let repo = Arc::clone(&repo);
                let sender = *sender;
                tokio::spawn(async move {
                    let mut seqs = Vec::new();
                    for i in 0..50 {
                        seqs.push(send(&repo, chat_id, sender, &format!("m{i}")).await);
                    }
                    seqs
                })
            })
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            let seqs = task.await.expect("task");
            assert!(
                seqs.windows(2).all(|w| w[0] < w[1]),
                "each sender's seqs increase"
            );
            all.extend(seqs);
        }

        all.sort_unstable();
        assert_eq!(all, (1..=200).collect::<Vec<i64>>());
        assert_eq!(last_seq(&db, chat_id, people[0]).await, 200);
    })
    .await;
}

#[tokio::test]
async fn history_pages_in_both_directions_with_has_more() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        for i in 1..=7 {
            send(&repo, chat_id, people[0], &format!("m{i}")).await;
        }
        let seqs = |page: &missive_domain::message::MessagePage| -> Vec<i64> {
            page.items.iter().map(|m| m.seq).collect()
        };

        let latest = repo
            .history(chat_id, HistoryCursor::Latest, 3)
            .await
            .expect("page");
        assert_eq!((seqs(&latest), latest.has_more), (vec![5, 6, 7], true));
        let before = repo
            .history(chat_id, HistoryCursor::Before(seq(5)), 3)
            .await
            .expect("page");
        assert_eq!((seqs(&before), before.has_more), (vec![2, 3, 4], true));
        let oldest = repo
            .history(chat_id, HistoryCursor::Before(seq(2)), 3)
            .await
            .expect("page");
        assert_eq!((seqs(&oldest), oldest.has_more), (vec![1], false));
        let after = repo
            .history(chat_id, HistoryCursor::After(seq(2)), 3)
            .await
            .expect("page");
        assert_eq!((seqs(&after), after.has_more), (vec![3, 4, 5], true));
        let tail = repo
            .history(chat_id, HistoryCursor::After(seq(5)), 3)
            .await
            .expect("page");
        assert_eq!((seqs(&tail), tail.has_more), (vec![6, 7], false));
        let exact = repo
            .history(chat_id, HistoryCursor::Latest, 7)
            .await
            .expect("page");
        assert_eq!((exact.items.len(), exact.has_more), (7, false));
    })
    .await;
}

#[tokio::test]
async fn member_history_is_the_same_page_for_members_and_none_for_others() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let (member, stranger) = (people[0], people[1]);
        let chat_id = group(&db, &people[..1]).await;
        let empty_chat = group(&db, &people[..1]).await;
        let repo = SeaMessageRepository::new(&db);
        for i in 1..=5 {
            send(&repo, chat_id, member, &format!("m{i}")).await;
        }
        let seqs = |page: &missive_domain::message::MessagePage| -> Vec<i64> {
            page.items.iter().map(|m| m.seq).collect()
        };

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
        // Pages are decoded by position; every field must read back exactly
        // as a lookup by id (SeaORM's decoding) does, NULLs included.
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
        assert_eq!(page.items.len(), 6);
        for item in &page.items {
            let by_id = repo.find(item.id).await.expect("find").expect("stored");
            assert_eq!(item, &by_id);
        }

        // An empty chat is an empty page for a member, not "not a member".
        let empty = repo
            .member_history(member, empty_chat, HistoryCursor::Latest, 50)
            .await
            .expect("query")
            .expect("a member of an empty chat");
        assert!(empty.items.is_empty() && !empty.has_more);
        assert!(
            repo.member_history(stranger, empty_chat, HistoryCursor::Latest, 50)
                .await
                .expect("query")
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn edits_change_only_what_is_asked_and_never_tombstones() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
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
                },
            )
            .await
            .expect("edit")
            .expect("present");
        assert_eq!(
            (rated.rating, rated.content.as_str(), rated.edited_at),
            (Some(true), "original", None)
        );

        let edited = repo
            .edit(
                sent.id,
                &MessageEdit {
                    content: Some((MessageContent::new("changed", 100).expect("valid"), at)),
                    rating: None,
                    metadata: None,
                },
            )
            .await
            .expect("edit")
            .expect("present");
        assert_eq!(
            (edited.content.as_str(), edited.edited_at, edited.rating),
            ("changed", Some(at), Some(true))
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
            ("", Some(at), 1)
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
        };
        assert!(
            repo.edit(sent.id, &edit_tombstone)
                .await
                .expect("edit")
                .is_none()
        );
        assert!(
            repo.edit(MessageId::new(), &edit_tombstone)
                .await
                .expect("edit")
                .is_none()
        );
    })
    .await;
}

fn search(words: &[&str]) -> SearchQuery {
    SearchQuery {
        words: words.iter().map(|w| (*w).to_owned()).collect(),
        chat_id: None,
        sender_id: None,
        limit: 50,
        before: None,
    }
}

#[tokio::test]
async fn search_words_cannot_escape_into_the_sql() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        repo.append(&message(chat, people[0], "hello world", None))
            .await
            .expect("send");
        // PostgreSQL writes the words into the SQL (generic plans elsewhere):
        // quotes, backslashes and operators must stay data.
        for word in ["hello') OR ('a'='a", "hello\\' OR true --", "x$$ OR $$y"] {
            let found = repo
                .search(people[0], &search(&[word]))
                .await
                .expect("no error");
            assert!(found.is_empty(), "{word:?} matched {found:?}");
        }
        let found = repo
            .search(people[0], &search(&["hello"]))
            .await
            .expect("search");
        assert_eq!(found.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn search_matches_every_word_case_insensitively_in_the_viewers_chats_only() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let ours = group(&db, &people[..2]).await;
        let theirs = group(&db, &[people[2]]).await;
        let repo = SeaMessageRepository::new(&db);
        let hit_old = message(ours, people[0], "The Quick brown fox", None);
        let partial = message(ours, people[1], "quick thinking", None);
        let hit_new = message(ours, people[1], "a FOX, quick as ever", None);
        let deleted = message(ours, people[0], "quick fox deleted", None);
        let foreign = message(theirs, people[2], "quick fox elsewhere", None);
        for m in [&hit_old, &partial, &hit_new, &deleted, &foreign] {
            repo.append(m).await.expect("send");
        }
        repo.soft_delete(deleted.id, now()).await.expect("delete");

        let found = repo
            .search(people[0], &search(&["QUICK", "fox"]))
            .await
            .expect("search");
        let ids: Vec<MessageId> = found.iter().map(|m| m.id).collect();
        assert_eq!(
            ids,
            [hit_new.id, hit_old.id],
            "newest first; every word; no deleted, no foreign"
        );

        let mut by_sender = search(&["quick"]);
        by_sender.sender_id = Some(people[1]);
        let found = repo.search(people[0], &by_sender).await.expect("search");
        assert_eq!(
            found.iter().map(|m| m.id).collect::<Vec<_>>(),
            [hit_new.id, partial.id]
        );

        let mut in_chat = search(&["fox"]);
        in_chat.chat_id = Some(theirs);
        assert_eq!(
            repo.search(people[2], &in_chat)
                .await
                .expect("search")
                .len(),
            1
        );

        assert!(
            repo.search(people[0], &search(&["qui"]))
                .await
                .expect("search")
                .is_empty(),
            "whole words"
        );
    })
    .await;
}

#[tokio::test]
async fn search_pages_newest_first_with_a_before_cursor() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let mut sent = Vec::new();
        for i in 0..5 {
            let m = message(
                chat_id,
                people[0],
                &format!("needle \"{i}\" 'quoted'"),
                None,
            );
            repo.append(&m).await.expect("send");
            sent.push(m.id);
        }

        let mut query = search(&["needle", "quoted"]);
        query.limit = 2;
        let first = repo.search(people[0], &query).await.expect("search");
        query.before = first.last().map(|m| m.id);
        let second = repo.search(people[0], &query).await.expect("search");

        let ids: Vec<MessageId> = first.iter().chain(&second).map(|m| m.id).collect();
        assert_eq!(ids, [sent[4], sent[3], sent[2], sent[1]]);
    })
    .await;
}

#[tokio::test]
async fn edited_content_is_searchable_and_the_old_text_is_not() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let sent = message(chat_id, people[0], "apple", None);
        repo.append(&sent).await.expect("send");

        let edit = MessageEdit {
            content: Some((MessageContent::new("banana", 100).expect("valid"), now())),
            rating: None,
            metadata: None,
        };
        repo.edit(sent.id, &edit).await.expect("edit");

        assert!(
            repo.search(people[0], &search(&["apple"]))
                .await
                .expect("search")
                .is_empty()
        );
        assert_eq!(
            repo.search(people[0], &search(&["banana"]))
                .await
                .expect("search")
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test]
async fn addresses_urls_and_hyphenated_words_are_split_into_words_on_both_engines() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let sent = message(
            chat_id,
            people[0],
            "mail bob@example.com or see https://docs.example.org/deploy-guide_v2 — state-of-the-art",
            None,
        );
        repo.append(&sent).await.expect("send");

        for q in ["example", "bob example com", "docs", "deploy guide", "v2", "state of art", "https"] {
            let words = missive_domain::message::search_words(q);
            let query = SearchQuery { words, chat_id: None, sender_id: None, limit: 10, before: None };
            let found = repo.search(people[0], &query).await.expect("search");
            assert_eq!(found.len(), 1, "{q}");
        }
    })
    .await;
}

#[tokio::test]
async fn offset_pages_count_positions_from_the_end_tombstones_included() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let mut ids = Vec::new();
        for i in 1..=7 {
            let new = message(chat_id, people[0], &format!("m{i}"), None);
            repo.append(&new).await.expect("send");
            ids.push(new.id);
        }
        // seq 6 becomes a tombstone: it still takes its position.
        repo.soft_delete(ids[5], now()).await.expect("delete");
        let page = |offset: i64, limit: u32| {
            let repo = repo.clone();
            async move {
                let page = repo
                    .history(chat_id, HistoryCursor::Offset(seq(offset)), limit)
                    .await
                    .expect("page");
                let seqs: Vec<i64> = page.items.iter().map(|m| m.seq).collect();
                (seqs, page.has_more)
            }
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
        assert_eq!(page(4, 3).await, (vec![1, 2, 3], false));
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
        assert!(deleted.items[0].is_deleted());
    })
    .await;
}

#[tokio::test]
async fn metadata_is_stored_read_back_replaced_and_dropped_with_the_text() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
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
        assert_eq!(found.metadata.to_value(), metadata);
        let page = repo
            .history(chat_id, HistoryCursor::Latest, 10)
            .await
            .expect("page");
        assert_eq!(
            page.items[0].metadata.to_value(),
            metadata,
            "decoded by position too"
        );
        assert!(page.items[1].metadata.is_empty());

        let replaced = Metadata::new(serde_json::json!({"model": "other"})).expect("valid");
        let edit = MessageEdit {
            content: None,
            rating: None,
            metadata: Some(replaced.clone()),
        };
        let edited = repo.edit(new.id, &edit).await.expect("edit").expect("live");
        assert_eq!(edited.metadata, replaced, "replaced, not merged");
        assert_eq!(edited.edited_at, None);

        let tombstone = repo
            .soft_delete(new.id, now())
            .await
            .expect("delete")
            .expect("was live");
        assert!(
            tombstone.metadata.is_empty(),
            "a tombstone keeps no metadata"
        );
    })
    .await;
}

#[tokio::test]
async fn a_batch_gets_contiguous_seqs_and_stores_only_what_is_new() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
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
            ]
        );
        let again = repo.append_batch(&batch[1..2]).await.expect("retry");
        assert!(matches!(&again[0], Appended::Existing(m) if m.seq == 3));
        let after = message(chat_id, people[1], "after", None);
        assert!(matches!(
            repo.append(&after).await.expect("send"),
            Appended::Created(m) if m.seq == 6
        ));
        let page = repo
            .history(chat_id, HistoryCursor::Latest, 50)
            .await
            .expect("page");
        let seqs: Vec<i64> = page.items.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);

        let stranger = users(&db, 1).await[0];
        let foreign = vec![message(chat_id, stranger, "intruder", None)];
        assert!(matches!(
            repo.append_batch(&foreign).await,
            Err(AppendError::NotMember)
        ));
    })
    .await;
}

#[tokio::test]
async fn parallel_retries_of_one_batch_store_it_once() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = Arc::new(SeaMessageRepository::new(&db));
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

        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let (repo, batch) = (Arc::clone(&repo), batch.clone());
                tokio::spawn(async move { repo.append_batch(&batch).await })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            let answer = task.await.expect("task").expect("batch");
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
        let page = repo
            .history(chat_id, HistoryCursor::Latest, 200)
            .await
            .expect("page");
        assert_eq!(page.items.len(), 50);
    })
    .await;
}
