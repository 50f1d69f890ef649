use std::sync::Arc;

use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::pin::{MAX_PER_CHAT, Pinned};
use missive_domain::ports::{Appended, MessageRepository, PinRepository, ReactionRepository};
use missive_domain::reaction::{Added, MAX_PER_MESSAGE, Reaction, Reactor};
use missive_infra::{SeaMessageRepository, SeaPinRepository, SeaReactionRepository};
use time::Duration;

use crate::support::{group, message, now, on_each_backend, users};

fn reaction(text: &str) -> Reaction {
    Reaction::new(text).expect("valid")
}

async fn send(repo: &SeaMessageRepository, chat_id: ChatId, sender: UserId) -> MessageId {
    match repo
        .append(&message(chat_id, sender, "react to me", None))
        .await
        .expect("send")
    {
        Appended::Created(m) => m.id,
        Appended::Existing(_) => panic!("no client id, no duplicate"),
    }
}

#[tokio::test]
async fn reactions_are_idempotent_counted_per_reader_and_ordered_by_first_use() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        let (id, quiet) = (
            send(&messages, chat_id, people[0]).await,
            send(&messages, chat_id, people[0]).await,
        );
        let repo = SeaReactionRepository::new(&db);
        let (a, b) = (people[0], people[1]);
        let at = now();

        assert_eq!(
            repo.add(id, a, &reaction("👍"), at).await.expect("add"),
            Some(Added::Added)
        );
        assert_eq!(
            repo.add(id, a, &reaction("👍"), at).await.expect("add"),
            Some(Added::AlreadyThere)
        );
        repo.add(id, b, &reaction(":tada:"), at + Duration::seconds(1))
            .await
            .expect("add");
        repo.add(id, b, &reaction("👍"), at + Duration::seconds(2))
            .await
            .expect("add");
        assert_eq!(
            repo.add(MessageId::new(), a, &reaction("👍"), at)
                .await
                .expect("add"),
            None,
            "no such message"
        );

        let seen_by_a = repo.summaries(a, &[id, quiet]).await.expect("read");
        let summary: Vec<(String, u32, bool)> = seen_by_a[&id]
            .iter()
            .map(|s| (s.reaction.as_str().to_owned(), s.count, s.me))
            .collect();
        assert_eq!(
            summary,
            [("👍".to_owned(), 2, true), (":tada:".to_owned(), 1, false)]
        );
        assert!(!seen_by_a.contains_key(&quiet), "no reactions, no entry");
        assert!(repo.has(id, b, &reaction(":tada:")).await.expect("read"));

        assert!(repo.remove(id, a, &reaction("👍")).await.expect("remove"));
        assert!(!repo.remove(id, a, &reaction("👍")).await.expect("remove"));
        assert!(!repo.has(id, a, &reaction("👍")).await.expect("read"));
        let after = repo.summaries(a, &[id]).await.expect("read");
        assert_eq!((after[&id][0].count, after[&id][0].me), (1, false));
    })
    .await;
}

#[tokio::test]
async fn a_message_takes_fifty_distinct_reactions_and_no_more() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let id = send(&SeaMessageRepository::new(&db), chat_id, people[0]).await;
        let repo = SeaReactionRepository::new(&db);
        for n in 0..MAX_PER_MESSAGE {
            let added = repo
                .add(id, people[0], &reaction(&format!(":r{n}:")), now())
                .await
                .expect("add");
            assert_eq!(added, Some(Added::Added));
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

        assert_eq!(one_more, Some(Added::TooMany));
        assert_eq!(joining, Some(Added::Added));
        assert_eq!(
            repo.summaries(people[0], &[id]).await.expect("read")[&id].len(),
            MAX_PER_MESSAGE
        );
    })
    .await;
}

#[tokio::test]
async fn fifty_members_reacting_at_once_are_all_counted() {
    on_each_backend(|db| async move {
        let people = users(&db, 50).await;
        let chat_id = group(&db, &people).await;
        let id = send(&SeaMessageRepository::new(&db), chat_id, people[0]).await;
        let repo = Arc::new(SeaReactionRepository::new(&db));

        let tasks: Vec<_> = people
            .iter()
            .map(|user| {
                let (repo, user) = (Arc::clone(&repo), *user);
                tokio::spawn(async move { repo.add(id, user, &reaction("🔥"), now()).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("join").expect("add"), Some(Added::Added));
        }

        let summaries = repo.summaries(people[0], &[id]).await.expect("read");
        assert_eq!(summaries[&id][0].count, 50);
    })
    .await;
}

#[tokio::test]
async fn reactors_are_listed_in_the_order_they_reacted_page_by_page() {
    on_each_backend(|db| async move {
        let people = users(&db, 5).await;
        let chat_id = group(&db, &people).await;
        let id = send(&SeaMessageRepository::new(&db), chat_id, people[0]).await;
        let repo = SeaReactionRepository::new(&db);
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
        assert_eq!(order, expected);
        assert_eq!(seen[0].at, start);
        assert!(
            repo.reactors(id, &reaction(":none:"), None, 10)
                .await
                .expect("page")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn pins_are_kept_on_the_message_newest_first_fifty_at_most() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let other_chat = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        let repo = SeaPinRepository::new(&db);
        let by = people[0];
        let start = now();
        let mut ids = Vec::new();
        for n in 0..=MAX_PER_CHAT {
            ids.push(send(&messages, chat_id, by).await);
            if n < MAX_PER_CHAT {
                let at = start + Duration::seconds(n as i64);
                match repo.pin(chat_id, ids[n], by, at).await.expect("pin") {
                    Some(Pinned::Pinned(m)) => {
                        assert_eq!(m.pinned.map(|p| (p.by, p.at)), Some((by, at)));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }

        assert!(matches!(
            repo.pin(chat_id, ids[MAX_PER_CHAT], by, now()).await,
            Ok(Some(Pinned::TooMany))
        ));
        assert!(matches!(
            repo.pin(chat_id, ids[3], by, now()).await,
            Ok(Some(Pinned::AlreadyPinned(m))) if m.pinned.is_some_and(|p| p.at == start + Duration::seconds(3))
        ));
        assert!(matches!(repo.pin(other_chat, ids[3], by, now()).await, Ok(None)));
        let listed = repo.pinned(chat_id).await.expect("list");
        assert_eq!(listed.len(), MAX_PER_CHAT);
        assert_eq!(listed[0].id, ids[MAX_PER_CHAT - 1], "newest pin first");
        assert_eq!(
            messages.find(ids[0]).await.expect("find").and_then(|m| m.pinned).map(|p| p.by),
            Some(by),
            "every read of the message shows its pin"
        );

        assert!(repo.unpin(other_chat, ids[0]).await.expect("unpin").is_none());
        let unpinned = repo.unpin(chat_id, ids[0]).await.expect("unpin");
        assert!(unpinned.is_some_and(|m| m.pinned.is_none()));
        assert!(repo.unpin(chat_id, ids[0]).await.expect("unpin").is_none());
        assert!(matches!(
            repo.pin(chat_id, ids[MAX_PER_CHAT], by, now()).await,
            Ok(Some(Pinned::Pinned(_)))
        ));
    })
    .await;
}

#[tokio::test]
async fn two_pins_racing_for_the_last_place_do_not_both_get_it() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        let repo = Arc::new(SeaPinRepository::new(&db));
        let by = people[0];
        for _ in 0..MAX_PER_CHAT - 1 {
            let id = send(&messages, chat_id, by).await;
            repo.pin(chat_id, id, by, now()).await.expect("pin");
        }
        let contenders = [
            send(&messages, chat_id, by).await,
            send(&messages, chat_id, by).await,
        ];

        let tasks: Vec<_> = contenders
            .iter()
            .map(|id| {
                let (repo, id) = (Arc::clone(&repo), *id);
                tokio::spawn(async move { repo.pin(chat_id, id, by, now()).await })
            })
            .collect();
        let mut pinned = 0;
        for task in tasks {
            match task.await.expect("join").expect("pin") {
                Some(Pinned::Pinned(_)) => pinned += 1,
                Some(Pinned::TooMany) => {}
                other => panic!("{other:?}"),
            }
        }

        assert_eq!(pinned, 1);
        assert_eq!(
            repo.pinned(chat_id).await.expect("list").len(),
            MAX_PER_CHAT
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_message_loses_its_reactions_and_pin_and_takes_no_new_ones() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        let (reactions, pins) = (SeaReactionRepository::new(&db), SeaPinRepository::new(&db));
        let user = people[0];
        let id = send(&messages, chat_id, user).await;
        reactions
            .add(id, user, &reaction("👍"), now())
            .await
            .expect("add");
        pins.pin(chat_id, id, user, now()).await.expect("pin");

        let tombstone = messages
            .soft_delete(id, now())
            .await
            .expect("delete")
            .expect("deleted");

        assert!(tombstone.pinned.is_none());
        assert!(
            reactions
                .summaries(user, &[id])
                .await
                .expect("read")
                .is_empty()
        );
        assert!(pins.pinned(chat_id).await.expect("list").is_empty());
        assert_eq!(
            reactions
                .add(id, user, &reaction("👍"), now())
                .await
                .expect("add"),
            None
        );
        assert!(matches!(
            pins.pin(chat_id, id, user, now()).await,
            Ok(Some(Pinned::Deleted))
        ));
    })
    .await;
}

#[tokio::test]
async fn one_reaction_added_twice_at_once_is_stored_once_without_an_error() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        let repo = Arc::new(SeaReactionRepository::new(&db));
        for _ in 0..5 {
            let id = send(&messages, chat_id, people[0]).await;
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let (repo, user) = (Arc::clone(&repo), people[0]);
                    tokio::spawn(async move { repo.add(id, user, &reaction("👍"), now()).await })
                })
                .collect();
            let mut added = 0;
            for task in tasks {
                match task.await.expect("join").expect("no error") {
                    Some(Added::Added) => added += 1,
                    Some(Added::AlreadyThere) => {}
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(added, 1);
            let summaries = repo.summaries(people[0], &[id]).await.expect("read");
            assert_eq!(summaries[&id][0].count, 1);
        }
    })
    .await;
}

#[tokio::test]
async fn new_reactions_racing_for_the_last_places_never_pass_fifty() {
    on_each_backend(|db| async move {
        let people = users(&db, 10).await;
        let chat_id = group(&db, &people).await;
        let id = send(&SeaMessageRepository::new(&db), chat_id, people[0]).await;
        let repo = Arc::new(SeaReactionRepository::new(&db));
        for n in 0..MAX_PER_MESSAGE - 2 {
            repo.add(id, people[0], &reaction(&format!(":r{n}:")), now())
                .await
                .expect("add");
        }

        let tasks: Vec<_> = people
            .iter()
            .enumerate()
            .map(|(i, user)| {
                let (repo, user) = (Arc::clone(&repo), *user);
                tokio::spawn(async move {
                    repo.add(id, user, &reaction(&format!(":new{i}:")), now())
                        .await
                })
            })
            .collect();
        let mut added = 0;
        for task in tasks {
            match task.await.expect("join").expect("no error") {
                Some(Added::Added) => added += 1,
                Some(Added::TooMany) => {}
                other => panic!("{other:?}"),
            }
        }

        assert_eq!(added, 2);
        let summaries = repo.summaries(people[0], &[id]).await.expect("read");
        assert_eq!(summaries[&id].len(), MAX_PER_MESSAGE);
    })
    .await;
}

#[tokio::test]
async fn a_reaction_added_while_the_last_like_it_is_taken_back_stays_visible() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let (ada, bob) = (people[0], people[1]);
        let chat_id = group(&db, &people).await;
        let messages = Arc::new(SeaMessageRepository::new(&db));
        let repo = Arc::new(SeaReactionRepository::new(&db));
        for _ in 0..10 {
            let id = send(&messages, chat_id, ada).await;
            repo.add(id, ada, &reaction("🔥"), now())
                .await
                .expect("add");
            let remove = {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move { repo.remove(id, ada, &reaction("🔥")).await })
            };
            let add = {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move { repo.add(id, bob, &reaction("🔥"), now()).await })
            };
            remove.await.expect("join").expect("remove");
            add.await.expect("join").expect("add");

            // Storage must not claim "no reactions" while Bob's is there.
            let stored = messages.find(id).await.expect("find").expect("stored");
            assert_eq!(stored.reactions, None, "the message is known to have some");
            let summaries = repo.summaries(ada, &[id]).await.expect("read");
            assert_eq!(summaries[&id][0].count, 1);
        }
    })
    .await;
}

#[tokio::test]
async fn a_pin_racing_a_deletion_never_pins_a_tombstone() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let messages = Arc::new(SeaMessageRepository::new(&db));
        let pins = Arc::new(SeaPinRepository::new(&db));
        let by = people[0];
        for _ in 0..10 {
            let id = send(&messages, chat_id, by).await;
            let pin = {
                let pins = Arc::clone(&pins);
                tokio::spawn(async move { pins.pin(chat_id, id, by, now()).await })
            };
            let delete = {
                let messages = Arc::clone(&messages);
                tokio::spawn(async move { messages.soft_delete(id, now()).await })
            };
            pin.await.expect("join").expect("pin");
            delete.await.expect("join").expect("delete");

            let stored = messages.find(id).await.expect("find").expect("stored");
            assert!(stored.is_deleted());
            assert!(stored.pinned.is_none(), "a tombstone is never pinned");
        }
        assert!(pins.pinned(chat_id).await.expect("list").is_empty());
    })
    .await;
}
