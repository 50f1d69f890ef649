//! Messages: gap-free seqs per chat, idempotent client ids, history pages,
//! edits and tombstones, metadata, batches, and listings with full-text
//! search (as [`crate::search`] defines it, the same on every store).

use futures_util::future::join_all;

use super::Adapters;
use super::support::{group, message, now, users};
use crate::ids::{ChatId, MessageId, UserId};
use crate::message::{
    HistoryCursor, MessageContent, MessageFilter, MessagePage, MessageRole, MetadataMatch,
    NewMessage,
};
use crate::metadata::Metadata;
use crate::paging::Seq;
use crate::ports::{AppendError, Appended, MessageEdit, MessageRepository};
use crate::search::SearchTerms;

super::rules!("messages":
    messages_get_consecutive_seqs_and_read_back_exactly,
    only_members_can_append,
    a_repeated_client_id_returns_the_original_and_leaves_no_gap,
    racing_duplicates_store_exactly_one_message,
    concurrent_senders_get_a_gap_free_sequence,
    history_pages_in_both_directions_with_has_more,
    member_history_is_the_same_page_for_members_and_none_for_others,
    edits_change_only_what_is_asked_and_never_tombstones,
    search_terms_cannot_escape_into_the_sql,
    search_matches_every_term_case_insensitively_in_the_viewers_chats_only,
    cjk_runs_are_found_by_any_part_and_only_where_it_occurs,
    search_pages_through_every_match_under_every_plan,
    listings_filter_by_role_time_and_metadata_without_search_words,
    search_pages_newest_first_with_a_before_cursor,
    edited_content_is_searchable_and_the_old_text_is_not,
    addresses_urls_and_hyphenated_words_are_split_into_words_on_both_engines,
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
        "the retry answers the original"
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

    assert_eq!(created, 1, "exactly one message is created");
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

fn everything() -> MessageFilter {
    MessageFilter {
        chat_id: None,
        sender_id: None,
        role: None,
        since: None,
        until: None,
        metadata: vec![],
        terms: None,
        before: None,
    }
}

fn search(q: &str) -> MessageFilter {
    MessageFilter {
        terms: Some(SearchTerms::parse(q).expect("a query")),
        ..everything()
    }
}

async fn found(
    repo: &dyn MessageRepository,
    viewer: UserId,
    filter: &MessageFilter,
) -> Vec<MessageId> {
    repo.list(viewer, filter, 50)
        .await
        .expect("list")
        .iter()
        .map(|m| m.id)
        .collect()
}

/// Search terms are data, never syntax: quotes, backslashes and operators
/// in terms built by hand (not parsed) match nothing and raise no error.
pub async fn search_terms_cannot_escape_into_the_sql(a: &Adapters) {
    let people = users(a, 1).await;
    let chat = group(a, &people).await;
    let repo = a.messages.as_ref();
    repo.append(&message(chat, people[0], "hello world", None))
        .await
        .expect("send");
    // A store may write the terms into its queries: quotes, backslashes
    // and operators must stay data, even in terms built by hand rather
    // than parsed.
    for term in [
        "hello') OR ('a'='a",
        "hello\\' OR true --",
        "x$$ OR $$y",
        "a\"*",
    ] {
        let raw = MessageFilter {
            terms: Some(SearchTerms {
                prefixes: vec![term.to_owned()],
                tokens: vec![term.to_owned()],
                phrases: vec![],
            }),
            ..everything()
        };
        let listed = repo.list(people[0], &raw, 10).await.expect("no error");
        assert!(listed.is_empty(), "{term:?} matched {listed:?}");
    }
    assert_eq!(
        found(repo, people[0], &search("hello")).await.len(),
        1,
        "an honest search still finds the message"
    );
}

/// A search finds the live messages holding every term (any case, by
/// word prefix, not mid-word) in the viewer's chats only, newest first,
/// combined with the sender and chat filters.
pub async fn search_matches_every_term_case_insensitively_in_the_viewers_chats_only(a: &Adapters) {
    let people = users(a, 3).await;
    let ours = group(a, &people[..2]).await;
    let theirs = group(a, &[people[2]]).await;
    let repo = a.messages.as_ref();
    let hit_old = message(ours, people[0], "The Quick brown fox", None);
    let partial = message(ours, people[1], "quick thinking", None);
    let hit_new = message(ours, people[1], "a FOX, quick as ever", None);
    let deleted = message(ours, people[0], "quick fox deleted", None);
    let foreign = message(theirs, people[2], "quick fox elsewhere", None);
    for m in [&hit_old, &partial, &hit_new, &deleted, &foreign] {
        repo.append(m).await.expect("send");
    }
    repo.soft_delete(deleted.id, now()).await.expect("delete");

    assert_eq!(
        found(repo, people[0], &search("QUICK fox")).await,
        [hit_new.id, hit_old.id],
        "newest first; every term; no deleted, no foreign"
    );
    let by_sender = MessageFilter {
        sender_id: Some(people[1]),
        ..search("quick")
    };
    assert_eq!(
        found(repo, people[0], &by_sender).await,
        [hit_new.id, partial.id],
        "by sender"
    );
    let in_chat = MessageFilter {
        chat_id: Some(theirs),
        ..search("fox")
    };
    assert_eq!(
        found(repo, people[2], &in_chat).await.len(),
        1,
        "in one chat"
    );
    assert_eq!(
        found(repo, people[0], &search("qui thin")).await,
        [partial.id],
        "prefixes of words"
    );
    assert!(
        found(repo, people[0], &search("uick")).await.is_empty(),
        "not the middle of a spaced word"
    );
}

/// Any part of a run of Chinese or Japanese characters finds the messages
/// where that part occurs as written, not where its pairs sit apart.
pub async fn cjk_runs_are_found_by_any_part_and_only_where_it_occurs(a: &Adapters) {
    let people = users(a, 1).await;
    let chat = group(a, &people).await;
    let repo = a.messages.as_ref();
    let shanghai = message(chat, people[0], "我家在上海东边", None);
    let apart = message(chat, people[0], "上海很大，海东也不小", None);
    let tokyo = message(chat, people[0], "東京タワーに行きました", None);
    for m in [&shanghai, &apart, &tokyo] {
        repo.append(m).await.expect("send");
    }

    assert_eq!(
        found(repo, people[0], &search("上海")).await,
        [apart.id, shanghai.id],
        "a pair"
    );
    assert_eq!(
        found(repo, people[0], &search("上海东")).await,
        [shanghai.id],
        "the pairs sit apart in the other message"
    );
    assert_eq!(
        found(repo, people[0], &search("家")).await,
        [shanghai.id],
        "one character"
    );
    assert_eq!(
        found(repo, people[0], &search("タワー")).await,
        [tokyo.id],
        "Katakana"
    );
    assert!(
        found(repo, people[0], &search("北京")).await.is_empty(),
        "absent text"
    );
}

/// Paging a search with the `before` cursor visits every match of the
/// viewer's chats once, newest first, among many that do not match and
/// with other chats matching everything.
pub async fn search_pages_through_every_match_under_every_plan(a: &Adapters) {
    let people = users(a, 3).await;
    let ours = group(a, &people[..2]).await;
    let also_ours = group(a, &people[..1]).await;
    let theirs = group(a, &people[2..]).await;
    let repo = a.messages.as_ref();
    let mut matches = Vec::new();
    let mut by_friend = Vec::new();
    for i in 0..24 {
        // Every third message of ours matches; theirs always match.
        let (chat, sender) = match i % 4 {
            0 => (ours, people[1]),
            1 => (also_ours, people[0]),
            2 => (theirs, people[2]),
            _ => (ours, people[0]),
        };
        let hit = chat == theirs || i % 3 == 0;
        let text = if hit { "alpha match" } else { "beta other" };
        let new = message(chat, sender, &format!("{text} {i}"), None);
        repo.append(&new).await.expect("send");
        if hit && chat != theirs {
            matches.push(new.id);
            if sender == people[1] {
                by_friend.push(new.id);
            }
        }
    }
    matches.reverse();
    by_friend.reverse();

    for (filter, expected) in [
        (search("alp"), &matches),
        (
            MessageFilter {
                sender_id: Some(people[1]),
                ..search("alpha")
            },
            &by_friend,
        ),
    ] {
        let mut seen = Vec::new();
        let mut page = filter.clone();
        loop {
            let got = repo.list(people[0], &page, 3).await.expect("page");
            seen.extend(got.iter().map(|m| m.id));
            match got.last() {
                Some(last) if got.len() == 3 => page.before = Some(last.id),
                _ => break,
            }
        }
        assert_eq!(&seen, expected, "{filter:?}");
    }
}

/// Listings without search words filter by role, by time (`since`
/// inclusive, `until` exclusive) and by metadata conditions, which are
/// ANDed and match a number or boolean by its spelling.
pub async fn listings_filter_by_role_time_and_metadata_without_search_words(a: &Adapters) {
    let people = users(a, 2).await;
    let chat = group(a, &people).await;
    let repo = a.messages.as_ref();
    let with = |content: &str, role: MessageRole, metadata: serde_json::Value| {
        let mut new = message(chat, people[0], content, None);
        new.role = role;
        new.metadata = Metadata::new(metadata).expect("valid");
        new
    };
    let question = with(
        "q",
        MessageRole::User,
        serde_json::json!({"receiver": "bot-1"}),
    );
    let answer = with(
        "a",
        MessageRole::Assistant,
        serde_json::json!({"receiver": "ada", "tokens": 42, "final": true}),
    );
    let mut other = with(
        "b",
        MessageRole::Assistant,
        serde_json::json!({"tokens": "42"}),
    );
    let mut answer = answer;
    answer.created_at = question.created_at + time::Duration::seconds(1);
    other.created_at = question.created_at + time::Duration::seconds(2);
    for m in [&question, &answer, &other] {
        repo.append(m).await.expect("send");
    }
    let metadata = |key: &str, value: &str| MessageFilter {
        metadata: vec![MetadataMatch::new(key, value).expect("valid")],
        ..everything()
    };

    let assistants = MessageFilter {
        role: Some(MessageRole::Assistant),
        ..everything()
    };
    assert_eq!(
        found(repo, people[0], &assistants).await,
        [other.id, answer.id],
        "by role"
    );
    assert_eq!(
        found(repo, people[0], &metadata("receiver", "bot-1")).await,
        [question.id],
        "a string"
    );
    assert_eq!(
        found(repo, people[0], &metadata("tokens", "42")).await,
        [other.id, answer.id],
        "the number and the string"
    );
    assert_eq!(
        found(repo, people[0], &metadata("final", "true")).await,
        [answer.id],
        "a boolean"
    );
    let both = MessageFilter {
        metadata: vec![
            MetadataMatch::new("tokens", "42").expect("valid"),
            MetadataMatch::new("receiver", "ada").expect("valid"),
        ],
        ..everything()
    };
    assert_eq!(found(repo, people[0], &both).await, [answer.id], "ANDed");
    assert!(
        found(repo, people[1], &metadata("receiver", "nobody"))
            .await
            .is_empty(),
        "no message holds the value"
    );

    let later = MessageFilter {
        since: Some(answer.created_at),
        ..everything()
    };
    assert_eq!(
        found(repo, people[0], &later).await,
        [other.id, answer.id],
        "since is inclusive"
    );
    let earlier = MessageFilter {
        until: Some(answer.created_at),
        ..everything()
    };
    assert_eq!(
        found(repo, people[0], &earlier).await,
        [question.id],
        "until is exclusive"
    );
}

/// Search results page newest first: the next page starts strictly
/// before the last message of the previous one.
pub async fn search_pages_newest_first_with_a_before_cursor(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
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

    let query = search("needle quoted");
    let first = repo.list(people[0], &query, 2).await.expect("search");
    let next = MessageFilter {
        before: first.last().map(|m| m.id),
        ..query
    };
    let second = repo.list(people[0], &next, 2).await.expect("search");

    let ids: Vec<MessageId> = first.iter().chain(&second).map(|m| m.id).collect();
    assert_eq!(
        ids,
        [sent[4], sent[3], sent[2], sent[1]],
        "two pages, newest first"
    );
}

/// After an edit the new text is found and the old is not; after a
/// deletion nothing is.
pub async fn edited_content_is_searchable_and_the_old_text_is_not(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let sent = message(chat_id, people[0], "apple", None);
    repo.append(&sent).await.expect("send");

    let edit = MessageEdit {
        content: Some((MessageContent::new("banana", 100).expect("valid"), now())),
        rating: None,
        metadata: None,
        mentions: None,
    };
    repo.edit(sent.id, &edit).await.expect("edit");

    assert!(
        found(repo, people[0], &search("apple")).await.is_empty(),
        "the old text is not found"
    );
    assert_eq!(
        found(repo, people[0], &search("banana")).await.len(),
        1,
        "the new text is found"
    );
    repo.soft_delete(sent.id, now()).await.expect("delete");
    assert!(
        found(repo, people[0], &search("banana")).await.is_empty(),
        "a deleted message is not found"
    );
}

/// Addresses, URLs and hyphenated words are runs of letters and digits
/// like any other text: each part is a word a search finds.
pub async fn addresses_urls_and_hyphenated_words_are_split_into_words_on_both_engines(
    a: &Adapters,
) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let sent = message(
        chat_id,
        people[0],
        "mail bob@example.com or see https://docs.example.org/deploy-guide_v2 — state-of-the-art",
        None,
    );
    repo.append(&sent).await.expect("send");

    for q in [
        "example",
        "bob example com",
        "docs",
        "deploy guide",
        "v2",
        "state of art",
        "https",
    ] {
        assert_eq!(found(repo, people[0], &search(q)).await.len(), 1, "{q}");
    }
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
