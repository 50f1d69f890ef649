//! Reactions and pins: idempotent, counted per reader, capped exactly
//! under any concurrency, and gone with the message they were on.

use futures_util::future::{join, join_all};
use time::Duration;

use super::Adapters;
use super::support::{group, message, now, users};
use crate::ids::{ChatId, MessageId, UserId};
use crate::pin::{MAX_PER_CHAT, Pinned};
use crate::ports::Appended;
use crate::reaction::{Added, MAX_PER_MESSAGE, Reaction, Reactor};

super::rules!("reactions":
    reactions_are_idempotent_counted_per_reader_and_ordered_by_first_use,
    a_message_takes_fifty_distinct_reactions_and_no_more,
    fifty_members_reacting_at_once_are_all_counted,
    reactors_are_listed_in_the_order_they_reacted_page_by_page,
    pins_are_kept_on_the_message_newest_first_fifty_at_most,
    two_pins_racing_for_the_last_place_do_not_both_get_it,
    a_deleted_message_loses_its_reactions_and_pin_and_takes_no_new_ones,
    one_reaction_added_twice_at_once_is_stored_once_without_an_error,
    new_reactions_racing_for_the_last_places_never_pass_fifty,
    a_reaction_added_while_the_last_like_it_is_taken_back_stays_visible,
    a_pin_racing_a_deletion_never_pins_a_tombstone,
);

fn reaction(text: &str) -> Reaction {
    Reaction::new(text).expect("valid")
}

async fn send(a: &Adapters, chat_id: ChatId, sender: UserId) -> MessageId {
    match a
        .messages
        .append(&message(chat_id, sender, "react to me", None))
        .await
        .expect("send")
    {
        Appended::Created(m) => m.id,
        Appended::Existing(_) => panic!("no client id, no duplicate"),
    }
}

/// Adding a reaction twice is `AlreadyThere`; summaries count each
/// reaction with whether the reader gave it, in order of first use; a
/// message without reactions has no entry; removing is idempotent too.
pub async fn reactions_are_idempotent_counted_per_reader_and_ordered_by_first_use(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    let (id, quiet) = (
        send(a, chat_id, people[0]).await,
        send(a, chat_id, people[0]).await,
    );
    let repo = &a.reactions;
    let (ada, bob) = (people[0], people[1]);
    let at = now();

    assert_eq!(
        repo.add(id, ada, &reaction("👍"), at).await.expect("add"),
        Some(Added::Added)
    );
    assert_eq!(
        repo.add(id, ada, &reaction("👍"), at).await.expect("add"),
        Some(Added::AlreadyThere),
        "the same reaction again is already there"
    );
    repo.add(id, bob, &reaction(":tada:"), at + Duration::seconds(1))
        .await
        .expect("add");
    repo.add(id, bob, &reaction("👍"), at + Duration::seconds(2))
        .await
        .expect("add");
    assert_eq!(
        repo.add(MessageId::new(), ada, &reaction("👍"), at)
            .await
            .expect("add"),
        None,
        "no such message"
    );

    let seen_by_ada = repo.summaries(ada, &[id, quiet]).await.expect("read");
    let summary: Vec<(String, u32, bool)> = seen_by_ada[&id]
        .iter()
        .map(|s| (s.reaction.as_str().to_owned(), s.count, s.me))
        .collect();
    assert_eq!(
        summary,
        [("👍".to_owned(), 2, true), (":tada:".to_owned(), 1, false)],
        "(reaction, count, me) in order of first use"
    );
    assert!(!seen_by_ada.contains_key(&quiet), "no reactions, no entry");
    assert!(
        repo.has(id, bob, &reaction(":tada:")).await.expect("read"),
        "has sees Bob's :tada:"
    );

    assert!(
        repo.remove(id, ada, &reaction("👍")).await.expect("remove"),
        "removing a reaction that is there says so"
    );
    assert!(
        !repo.remove(id, ada, &reaction("👍")).await.expect("remove"),
        "removing it again finds none"
    );
    assert!(
        !repo.has(id, ada, &reaction("👍")).await.expect("read"),
        "a removed reaction is gone"
    );
    let after = repo.summaries(ada, &[id]).await.expect("read");
    assert_eq!(
        (after[&id][0].count, after[&id][0].me),
        (1, false),
        "👍 is Bob's alone after Ada took hers back"
    );
}

/// A message takes `MAX_PER_MESSAGE` distinct reactions; one more kind is
/// `TooMany`, while joining a reaction already there still works.
pub async fn a_message_takes_fifty_distinct_reactions_and_no_more(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    let id = send(a, chat_id, people[0]).await;
    let repo = &a.reactions;
    for n in 0..MAX_PER_MESSAGE {
        let added = repo
            .add(id, people[0], &reaction(&format!(":r{n}:")), now())
            .await
            .expect("add");
        assert_eq!(
            added,
            Some(Added::Added),
            "reaction {n} of {MAX_PER_MESSAGE}"
        );
    }

    let one_more = repo
        .add(id, people[0], &reaction(":r50:"), now())
        .await
        .expect("add");
    // A reaction already on the message is no new kind.
    let joining = repo
        .add(id, people[1], &reaction(":r7:"), now())
        .await
        .expect("add");

    assert_eq!(one_more, Some(Added::TooMany), "one kind too many");
    assert_eq!(
        joining,
        Some(Added::Added),
        "joining a reaction already there is no new kind"
    );
    assert_eq!(
        repo.summaries(people[0], &[id]).await.expect("read")[&id].len(),
        MAX_PER_MESSAGE
    );
}

/// Fifty members adding the same reaction at once are all counted.
pub async fn fifty_members_reacting_at_once_are_all_counted(a: &Adapters) {
    let people = users(a, 50).await;
    let chat_id = group(a, &people).await;
    let id = send(a, chat_id, people[0]).await;
    let repo = &a.reactions;

    let fire = reaction("🔥");
    let outcomes = join_all(people.iter().map(|user| repo.add(id, *user, &fire, now()))).await;
    for outcome in outcomes {
        assert_eq!(outcome.expect("add"), Some(Added::Added));
    }

    let summaries = repo.summaries(people[0], &[id]).await.expect("read");
    assert_eq!(summaries[&id][0].count, 50, "every reaction counted");
}

/// Reactors page in the order they reacted (then by user id), each page
/// strictly after the last reactor of the one before.
pub async fn reactors_are_listed_in_the_order_they_reacted_page_by_page(a: &Adapters) {
    let people = users(a, 5).await;
    let chat_id = group(a, &people).await;
    let id = send(a, chat_id, people[0]).await;
    let repo = &a.reactions;
    let start = now();
    // Reacting in reverse order of ids, the last two at the same time.
    let times = [0, 1, 2, 3, 3];
    for (user, offset) in people.iter().rev().zip(times) {
        repo.add(
            id,
            *user,
            &reaction("👀"),
            start + Duration::seconds(offset),
        )
        .await
        .expect("add");
    }

    let mut seen: Vec<Reactor> = Vec::new();
    let mut after = None;
    loop {
        let page = repo
            .reactors(id, &reaction("👀"), after, 2)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        seen.extend(page);
    }

    let order: Vec<UserId> = seen.iter().map(|r| r.user_id).collect();
    let mut expected: Vec<UserId> = people.iter().rev().copied().collect();
    expected[3..].sort();
    assert_eq!(
        order, expected,
        "by time of reaction, then by user id, no one lost or repeated"
    );
    assert_eq!(seen[0].at, start, "a reactor carries when they reacted");
    assert!(
        repo.reactors(id, &reaction(":none:"), None, 10)
            .await
            .expect("page")
            .is_empty(),
        "a reaction nobody gave has no reactors"
    );
}

/// Pins live on the message: listed newest first, `MAX_PER_CHAT` at
/// most, idempotent (`AlreadyPinned` keeps the first pin), confined to
/// the message's chat, and undone by unpinning.
pub async fn pins_are_kept_on_the_message_newest_first_fifty_at_most(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let other_chat = group(a, &people).await;
    let repo = &a.pins;
    let by = people[0];
    let start = now();
    let mut ids = Vec::new();
    for n in 0..=MAX_PER_CHAT {
        ids.push(send(a, chat_id, by).await);
        if n < MAX_PER_CHAT {
            let at = start + Duration::seconds(i64::try_from(n).expect("small"));
            match repo.pin(chat_id, ids[n], by, at).await.expect("pin") {
                Some(Pinned::Pinned(m)) => {
                    assert_eq!(
                        m.pinned.map(|p| (p.by, p.at)),
                        Some((by, at)),
                        "pin {n} shows who pinned it and when"
                    );
                }
                other => panic!("pin {n} of {MAX_PER_CHAT} should be pinned: {other:?}"),
            }
        }
    }

    let too_many = repo.pin(chat_id, ids[MAX_PER_CHAT], by, now()).await;
    assert!(
        matches!(too_many, Ok(Some(Pinned::TooMany))),
        "one pin too many: {too_many:?}"
    );
    let again = repo.pin(chat_id, ids[3], by, now()).await;
    assert!(
        matches!(
            &again,
            Ok(Some(Pinned::AlreadyPinned(m))) if m.pinned.is_some_and(|p| p.at == start + Duration::seconds(3))
        ),
        "pinning again keeps the first pin: {again:?}"
    );
    let elsewhere = repo.pin(other_chat, ids[3], by, now()).await;
    assert!(
        matches!(elsewhere, Ok(None)),
        "a message is pinned only in its own chat: {elsewhere:?}"
    );
    let listed = repo.pinned(chat_id).await.expect("list");
    assert_eq!(listed.len(), MAX_PER_CHAT);
    assert_eq!(listed[0].id, ids[MAX_PER_CHAT - 1], "newest pin first");
    assert_eq!(
        a.messages
            .find(ids[0])
            .await
            .expect("find")
            .and_then(|m| m.pinned)
            .map(|p| p.by),
        Some(by),
        "every read of the message shows its pin"
    );

    assert!(
        repo.unpin(other_chat, ids[0])
            .await
            .expect("unpin")
            .is_none(),
        "a message is unpinned only in its own chat"
    );
    let unpinned = repo.unpin(chat_id, ids[0]).await.expect("unpin");
    assert!(
        unpinned.as_ref().is_some_and(|m| m.pinned.is_none()),
        "unpinning returns the message, no longer pinned: {unpinned:?}"
    );
    assert!(
        repo.unpin(chat_id, ids[0]).await.expect("unpin").is_none(),
        "unpinning again finds no pin"
    );
    let freed = repo.pin(chat_id, ids[MAX_PER_CHAT], by, now()).await;
    assert!(
        matches!(freed, Ok(Some(Pinned::Pinned(_)))),
        "an unpin frees a place: {freed:?}"
    );
}

/// Two pins racing for the last place: one gets it, the other is
/// `TooMany`.
pub async fn two_pins_racing_for_the_last_place_do_not_both_get_it(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = &a.pins;
    let by = people[0];
    for _ in 0..MAX_PER_CHAT - 1 {
        let id = send(a, chat_id, by).await;
        repo.pin(chat_id, id, by, now()).await.expect("pin");
    }
    let contenders = [send(a, chat_id, by).await, send(a, chat_id, by).await];

    let outcomes = join_all(
        contenders
            .iter()
            .map(|id| repo.pin(chat_id, *id, by, now())),
    )
    .await;
    let mut pinned = 0;
    for outcome in outcomes {
        match outcome.expect("pin") {
            Some(Pinned::Pinned(_)) => pinned += 1,
            Some(Pinned::TooMany) => {}
            other => panic!("pinned or too many, not {other:?}"),
        }
    }

    assert_eq!(pinned, 1, "exactly one contender gets the last place");
    assert_eq!(
        repo.pinned(chat_id).await.expect("list").len(),
        MAX_PER_CHAT
    );
}

/// Deleting a message drops its reactions and its pin; a tombstone takes
/// no reaction (`None`) and no pin (`Deleted`).
pub async fn a_deleted_message_loses_its_reactions_and_pin_and_takes_no_new_ones(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let (reactions, pins) = (&a.reactions, &a.pins);
    let user = people[0];
    let id = send(a, chat_id, user).await;
    reactions
        .add(id, user, &reaction("👍"), now())
        .await
        .expect("add");
    pins.pin(chat_id, id, user, now()).await.expect("pin");

    let tombstone = a
        .messages
        .soft_delete(id, now())
        .await
        .expect("delete")
        .expect("deleted");

    assert!(tombstone.pinned.is_none(), "the tombstone is not pinned");
    assert!(
        reactions
            .summaries(user, &[id])
            .await
            .expect("read")
            .is_empty(),
        "a deleted message has no reactions"
    );
    assert!(
        pins.pinned(chat_id).await.expect("list").is_empty(),
        "a deleted message is not listed as pinned"
    );
    assert_eq!(
        reactions
            .add(id, user, &reaction("👍"), now())
            .await
            .expect("add"),
        None,
        "a tombstone takes no reaction"
    );
    let pin = pins.pin(chat_id, id, user, now()).await;
    assert!(
        matches!(pin, Ok(Some(Pinned::Deleted))),
        "a tombstone takes no pin: {pin:?}"
    );
}

/// The same reaction added eight times at once is stored once: one
/// `Added`, the rest `AlreadyThere`, no error.
pub async fn one_reaction_added_twice_at_once_is_stored_once_without_an_error(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let repo = &a.reactions;
    for _ in 0..5 {
        let id = send(a, chat_id, people[0]).await;
        let thumbs_up = reaction("👍");
        let outcomes = join_all((0..8).map(|_| repo.add(id, people[0], &thumbs_up, now()))).await;
        let mut added = 0;
        for outcome in outcomes {
            match outcome.expect("no error") {
                Some(Added::Added) => added += 1,
                Some(Added::AlreadyThere) => {}
                other => panic!("added or already there, not {other:?}"),
            }
        }
        assert_eq!(added, 1, "exactly one of the eight adds stores it");
        let summaries = repo.summaries(people[0], &[id]).await.expect("read");
        assert_eq!(summaries[&id][0].count, 1, "stored once");
    }
}

/// New reactions racing for the last two places: exactly two get in.
pub async fn new_reactions_racing_for_the_last_places_never_pass_fifty(a: &Adapters) {
    let people = users(a, 10).await;
    let chat_id = group(a, &people).await;
    let id = send(a, chat_id, people[0]).await;
    let repo = &a.reactions;
    for n in 0..MAX_PER_MESSAGE - 2 {
        repo.add(id, people[0], &reaction(&format!(":r{n}:")), now())
            .await
            .expect("add");
    }

    let kinds: Vec<Reaction> = (0..people.len())
        .map(|i| reaction(&format!(":new{i}:")))
        .collect();
    let outcomes = join_all(
        people
            .iter()
            .zip(&kinds)
            .map(|(user, kind)| repo.add(id, *user, kind, now())),
    )
    .await;
    let mut added = 0;
    for outcome in outcomes {
        match outcome.expect("no error") {
            Some(Added::Added) => added += 1,
            Some(Added::TooMany) => {}
            other => panic!("added or too many, not {other:?}"),
        }
    }

    assert_eq!(added, 2, "exactly the two free places are taken");
    let summaries = repo.summaries(people[0], &[id]).await.expect("read");
    assert_eq!(summaries[&id].len(), MAX_PER_MESSAGE);
}

/// Bob adding a reaction while Ada takes back the last one like it: the
/// message is never marked as having no reactions while Bob's is there.
pub async fn a_reaction_added_while_the_last_like_it_is_taken_back_stays_visible(a: &Adapters) {
    let people = users(a, 2).await;
    let (ada, bob) = (people[0], people[1]);
    let chat_id = group(a, &people).await;
    let repo = &a.reactions;
    for _ in 0..10 {
        let id = send(a, chat_id, ada).await;
        repo.add(id, ada, &reaction("🔥"), now())
            .await
            .expect("add");
        let fire = reaction("🔥");
        let (removed, added) =
            join(repo.remove(id, ada, &fire), repo.add(id, bob, &fire, now())).await;
        removed.expect("remove");
        added.expect("add");

        // Storage must not claim "no reactions" while Bob's is there.
        let stored = a.messages.find(id).await.expect("find").expect("stored");
        assert_eq!(stored.reactions, None, "the message is known to have some");
        let summaries = repo.summaries(ada, &[id]).await.expect("read");
        assert_eq!(summaries[&id][0].count, 1, "Bob's reaction is counted");
    }
}

/// A pin racing the message's deletion never leaves a pinned tombstone.
pub async fn a_pin_racing_a_deletion_never_pins_a_tombstone(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let by = people[0];
    for _ in 0..10 {
        let id = send(a, chat_id, by).await;
        let (pinned, deleted) = join(
            a.pins.pin(chat_id, id, by, now()),
            a.messages.soft_delete(id, now()),
        )
        .await;
        pinned.expect("pin");
        deleted.expect("delete");

        let stored = a.messages.find(id).await.expect("find").expect("stored");
        assert!(stored.is_deleted(), "the message is deleted");
        assert!(stored.pinned.is_none(), "a tombstone is never pinned");
    }
    assert!(
        a.pins.pinned(chat_id).await.expect("list").is_empty(),
        "no pinned tombstones listed"
    );
}
