//! Listings and full-text search: every term matched by word prefix in
//! the viewer's chats only (as [`crate::search`] defines it, the same on
//! every store), newest first, with the sender, chat, role, time and
//! metadata filters.

use super::Adapters;
use super::support::{group, message, now, users};
use crate::ids::{MessageId, UserId};
use crate::message::{MessageContent, MessageFilter, MessageRole, MetadataMatch};
use crate::metadata::Metadata;
use crate::ports::{MessageEdit, MessageRepository};
use crate::search::SearchTerms;

super::rules!("search":
    search_terms_are_data_never_syntax,
    search_matches_every_term_case_insensitively_in_the_viewers_chats_only,
    cjk_runs_are_found_by_any_part_and_only_where_it_occurs,
    search_pages_through_every_match,
    listings_filter_by_role_time_and_metadata_without_search_words,
    search_pages_newest_first_with_a_before_cursor,
    edited_content_is_searchable_and_the_old_text_is_not,
    addresses_urls_and_hyphenated_words_are_split_into_words,
);

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
pub async fn search_terms_are_data_never_syntax(a: &Adapters) {
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
pub async fn search_pages_through_every_match(a: &Adapters) {
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
pub async fn addresses_urls_and_hyphenated_words_are_split_into_words(a: &Adapters) {
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
