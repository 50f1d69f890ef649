//! The dispatcher against fake repositories: what it trusts, and what it
//! checks.

use std::sync::Arc;

use missive_domain::InfraError;
use missive_domain::chat::{ChatMember, MemberRole};
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{HistoryCursor, Message, MessagePage, MessageRole};
use missive_domain::paging::Seq;
use missive_domain::ports::{
    ChatVersion, MemberSnapshot, MockChatRepository, MockClock, MockMessageRepository,
    MockReactionRepository,
};
use missive_infra::Signal;
use time::OffsetDateTime;
use time::macros::datetime;

use super::Dispatcher;
use crate::realtime::registry::{Registration, Registry};

/// The dispatcher's "now".
const NOW: OffsetDateTime = datetime!(2026-11-30 12:00 UTC);

fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    Arc::new(clock)
}

fn member(user_id: UserId) -> ChatMember {
    ChatMember {
        user_id,
        role: MemberRole::Member,
        joined_at: OffsetDateTime::now_utc(),
        last_read_seq: 0,
    }
}

/// A message of `chat_id` stored at `NOW`.
fn message(chat_id: ChatId, seq: i64) -> Message {
    stored_at(chat_id, seq, NOW)
}

fn stored_at(chat_id: ChatId, seq: i64, now: OffsetDateTime) -> Message {
    Message {
        id: MessageId::new(),
        chat_id,
        seq,
        sender_id: UserId::new(),
        content: format!("m{seq}"),
        role: MessageRole::User,
        rating: None,
        client_id: None,
        reply_to: None,
        thread_root_id: None,
        thread: None,
        mentions: Default::default(),
        mention_all: false,
        sent_at: now,
        created_at: now,
        edited_at: None,
        deleted_at: None,
        metadata: Default::default(),
        pinned: None,
        reactions: None,
    }
}

fn version(chat_id: ChatId, member_version: i64, last_seq: i64) -> ChatVersion {
    ChatVersion {
        chat_id,
        member_version,
        last_seq,
    }
}

fn connect(registry: &Arc<Registry>, user: UserId) -> Registration {
    registry.register(user, None, 16).expect("room")
}

fn received(registration: &mut Registration) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    while let Ok(frame) = registration.queue.try_recv() {
        events.push(serde_json::from_str(frame.as_str()).expect("json"));
    }
    events
}

#[tokio::test]
async fn a_seq_beyond_the_chats_end_does_not_hold_back_later_messages() {
    let chat = ChatId::new();
    let (ada, bob, stranger) = (UserId::new(), UserId::new(), UserId::new());
    let registry = Arc::new(Registry::new(16));
    // Somebody is connected here, but no member of the chat yet.
    let _stranger = connect(&registry, stranger);
    let mut chats = MockChatRepository::new();
    chats.expect_member_snapshot().returning(move |_| {
        Ok(Some(MemberSnapshot {
            version: version(chat, 1, 3),
            members: vec![member(ada), member(bob)],
        }))
    });
    chats
        .expect_chat_versions()
        .returning(move |_| Ok(vec![version(chat, 1, 4)]));
    let mut messages = MockMessageRepository::new();
    messages
        .expect_history()
        .withf(move |c, cursor, _| *c == chat && *cursor == HistoryCursor::After(Seq::clamped(3)))
        .times(1)
        .returning(move |_, _, _| {
            Ok(MessagePage {
                items: vec![message(chat, 4)],
                has_more: false,
            })
        });
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(chats),
        Arc::new(messages),
        Arc::new(MockReactionRepository::new()),
        clock(),
    );

    // A forged (or mistaken) signal names a seq far beyond the chat's end
    // while nobody of the chat is connected here.
    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 1 << 50
            }])
            .await
    );
    let mut bob_socket = connect(&registry, bob);
    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 4
            }])
            .await
    );

    let events = received(&mut bob_socket);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "message.created");
    assert_eq!(events[0]["message"]["seq"], 4);
}

#[tokio::test]
async fn members_are_reloaded_when_the_membership_version_moved_even_without_a_signal() {
    let chat = ChatId::new();
    let (ada, bob) = (UserId::new(), UserId::new());
    let registry = Arc::new(Registry::new(16));
    let mut ada_socket = connect(&registry, ada);
    let mut bob_socket = connect(&registry, bob);
    let mut chats = MockChatRepository::new();
    let mut snapshots = 0;
    chats.expect_member_snapshot().times(2).returning(move |_| {
        snapshots += 1;
        // Bob is removed between the first and the second read.
        let members = if snapshots == 1 {
            vec![member(ada), member(bob)]
        } else {
            vec![member(ada)]
        };
        Ok(Some(MemberSnapshot {
            version: version(chat, snapshots, 0),
            members,
        }))
    });
    chats
        .expect_chat_versions()
        .returning(move |_| Ok(vec![version(chat, 2, 0)]));
    let mut messages = MockMessageRepository::new();
    messages.expect_history().returning(move |_, cursor, _| {
        let seq = match cursor {
            HistoryCursor::After(n) => n.get() + 1,
            _ => 1,
        };
        Ok(MessagePage {
            items: vec![message(chat, seq)],
            has_more: false,
        })
    });
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(chats),
        Arc::new(messages),
        Arc::new(MockReactionRepository::new()),
        clock(),
    );

    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 1
            }])
            .await
    );
    assert_eq!(received(&mut bob_socket).len(), 1, "bob was a member");
    // The removal's own signal is lost; the next message's arrives.
    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 2
            }])
            .await
    );

    assert!(received(&mut bob_socket).is_empty(), "bob was removed");
    assert_eq!(received(&mut ada_socket).len(), 2);
}

#[tokio::test]
async fn notices_from_non_members_and_claims_that_are_not_true_are_dropped() {
    let chat = ChatId::new();
    let (ada, bob, mallory) = (UserId::new(), UserId::new(), UserId::new());
    let registry = Arc::new(Registry::new(16));
    let mut ada_socket = connect(&registry, ada);
    let mut chats = MockChatRepository::new();
    chats.expect_member_snapshot().returning(move |_| {
        Ok(Some(MemberSnapshot {
            version: version(chat, 1, 0),
            members: vec![member(ada), member(bob)],
        }))
    });
    chats
        .expect_chat_versions()
        .returning(move |_| Ok(vec![version(chat, 1, 0)]));
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(chats),
        Arc::new(MockMessageRepository::new()),
        Arc::new(MockReactionRepository::new()),
        clock(),
    );

    assert!(
        dispatcher
            .process(vec![
                Signal::Typing {
                    chat_id: chat,
                    user_id: mallory
                },
                Signal::Read {
                    chat_id: chat,
                    user_id: mallory,
                    seq: 1
                },
                // Mallory is not a member: "added" is not true…
                Signal::Membership {
                    chat_id: chat,
                    user_id: mallory,
                    added: true
                },
                // …and bob still is: "removed" is not true either.
                Signal::Membership {
                    chat_id: chat,
                    user_id: bob,
                    added: false
                },
                // The chat still exists.
                Signal::ChatDeleted {
                    chat_id: chat,
                    members: vec![ada],
                },
                Signal::Typing {
                    chat_id: chat,
                    user_id: bob
                },
            ])
            .await
    );

    let events = received(&mut ada_socket);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "typing");
    assert_eq!(events[0]["user_id"], bob.to_string());
}

#[tokio::test]
async fn with_nobody_connected_nothing_is_read_or_remembered() {
    let registry = Arc::new(Registry::new(16));
    let mut chats = MockChatRepository::new();
    chats.expect_member_snapshot().never();
    chats.expect_chat_versions().never();
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(chats),
        Arc::new(MockMessageRepository::new()),
        Arc::new(MockReactionRepository::new()),
        clock(),
    );

    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: ChatId::new(),
                seq: 7
            }])
            .await
    );
    assert!(dispatcher.delivered.is_empty() && dispatcher.members.is_empty());
}

#[tokio::test]
async fn reaction_pin_and_thread_signals_are_checked_against_storage() {
    let chat = ChatId::new();
    let (ada, bob, mallory) = (UserId::new(), UserId::new(), UserId::new());
    let registry = Arc::new(Registry::new(16));
    let mut ada_socket = connect(&registry, ada);
    let mut chats = MockChatRepository::new();
    chats.expect_member_snapshot().returning(move |_| {
        Ok(Some(MemberSnapshot {
            version: version(chat, 1, 1),
            members: vec![member(ada), member(bob)],
        }))
    });
    chats
        .expect_chat_versions()
        .returning(move |_| Ok(vec![version(chat, 1, 1)]));
    // One message, not pinned, in this chat; another chat's message.
    let stored = message(chat, 1);
    let elsewhere = message(ChatId::new(), 1);
    let (stored_id, elsewhere_id) = (stored.id, elsewhere.id);
    let mut messages = MockMessageRepository::new();
    messages.expect_find().returning(move |id| {
        Ok([stored.clone(), elsewhere.clone()]
            .into_iter()
            .find(|m| m.id == id))
    });
    // Only bob's 👍 exists.
    let mut reactions = MockReactionRepository::new();
    reactions
        .expect_has()
        .returning(move |_, user, reaction| Ok(user == bob && reaction.as_str() == "👍"));
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(chats),
        Arc::new(messages),
        Arc::new(reactions),
        clock(),
    );
    let reaction = |message_id, reaction: &str, user_id, added| Signal::Reaction {
        chat_id: chat,
        message_id,
        reaction: reaction.to_owned(),
        user_id,
        added,
    };

    assert!(
        dispatcher
            .process(vec![
                // Not true: nobody added these, or the reaction is not one.
                reaction(stored_id, "👍", mallory, true),
                reaction(stored_id, "🔥", bob, true),
                reaction(stored_id, "not an emoji", bob, true),
                // Not true: bob's 👍 is still there.
                reaction(stored_id, "👍", bob, false),
                // A message of another chat, claimed for this one.
                reaction(elsewhere_id, "👍", bob, true),
                Signal::Thread {
                    chat_id: chat,
                    root_id: elsewhere_id
                },
                // Not pinned.
                Signal::Pin {
                    chat_id: chat,
                    message_id: stored_id,
                    pinned: true
                },
                // True.
                reaction(stored_id, "👍", bob, true),
                Signal::Thread {
                    chat_id: chat,
                    root_id: stored_id
                },
            ])
            .await
    );

    let events = received(&mut ada_socket);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["reaction.added", "thread.updated"], "{events:?}");
    assert_eq!(events[0]["user_id"], bob.to_string());
    assert_eq!(events[1]["thread"], serde_json::Value::Null);
}

/// A chat of `members` whose versions never move.
fn steady_chats(chat: ChatId, members: Vec<UserId>, last_seq: i64) -> MockChatRepository {
    let mut chats = MockChatRepository::new();
    chats.expect_member_snapshot().returning(move |_| {
        Ok(Some(MemberSnapshot {
            version: version(chat, 1, last_seq),
            members: members.iter().copied().map(member).collect(),
        }))
    });
    chats
        .expect_chat_versions()
        .returning(move |_| Ok(vec![version(chat, 1, last_seq)]));
    chats
}

/// The messages a history query would answer from `stored` (ascending).
fn page_of(stored: &[Message], cursor: HistoryCursor, limit: u32) -> MessagePage {
    let limit = limit as usize;
    let (mut items, has_more): (Vec<Message>, bool) = match cursor {
        HistoryCursor::After(after) => {
            let newer: Vec<Message> = stored
                .iter()
                .filter(|m| m.seq > after.get())
                .cloned()
                .collect();
            let more = newer.len() > limit;
            (newer.into_iter().take(limit).collect(), more)
        }
        HistoryCursor::Before(before) => {
            let older: Vec<Message> = stored
                .iter()
                .filter(|m| m.seq < before.get())
                .cloned()
                .collect();
            let more = older.len() > limit;
            (older.into_iter().rev().take(limit).collect(), more)
        }
        _ => unreachable!("the dispatcher pages by seq"),
    };
    items.sort_by_key(|m| m.seq);
    MessagePage { items, has_more }
}

fn seqs_of(events: &[serde_json::Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "message.created", "{e}");
            e["message"]["seq"].as_i64().expect("seq")
        })
        .collect()
}

#[tokio::test]
async fn a_first_signal_also_delivers_what_was_stored_in_the_last_moments_and_nothing_older() {
    let chat = ChatId::new();
    let ada = UserId::new();
    // Room in the queue for every message of the catch-up.
    let registry = Arc::new(Registry::new(1024));
    let mut ada_socket = connect(&registry, ada);
    // Seqs 1–250 are old; 251–460 were stored in the last seconds (more
    // than one page of 200 back from the signal's seq).
    let stored: Arc<Vec<Message>> = Arc::new(
        (1..=460)
            .map(|seq| {
                let age = if seq <= 250 { 60 } else { 2 };
                stored_at(chat, seq, NOW - time::Duration::seconds(age))
            })
            .collect(),
    );
    let mut messages = MockMessageRepository::new();
    let all = Arc::clone(&stored);
    messages
        .expect_history()
        .returning(move |_, cursor, limit| Ok(page_of(&all, cursor, limit)));
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(steady_chats(chat, vec![ada], 460)),
        Arc::new(messages),
        Arc::new(MockReactionRepository::new()),
        clock(),
    );

    // The signals of 251–459 crossed with this one, or were lost.
    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 460
            }])
            .await
    );

    let delivered = seqs_of(&received(&mut ada_socket));
    assert_eq!(
        delivered,
        (251..=460).collect::<Vec<_>>(),
        "in order, once each"
    );
    // Later signals continue from there, without repeats.
    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 460
            }])
            .await
    );
    assert!(received(&mut ada_socket).is_empty());
}

#[tokio::test]
async fn a_first_signal_that_fails_is_delivered_by_the_resync_and_so_is_what_came_after() {
    let chat = ChatId::new();
    let ada = UserId::new();
    let registry = Arc::new(Registry::new(16));
    let mut ada_socket = connect(&registry, ada);
    let stored: Arc<Vec<Message>> = Arc::new((1..=3).map(|seq| message(chat, seq)).collect());
    let mut messages = MockMessageRepository::new();
    let mut outage = true;
    let all = Arc::clone(&stored);
    messages
        .expect_history()
        .returning(move |_, cursor, limit| {
            if outage {
                outage = false;
                return Err(InfraError::Unavailable("the database is down".into()));
            }
            Ok(page_of(&all, cursor, limit))
        });
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(steady_chats(chat, vec![ada], 3)),
        Arc::new(messages),
        Arc::new(MockReactionRepository::new()),
        clock(),
    );

    // The database is unreachable when the first signal arrives: a resync
    // is owed.
    assert!(
        !dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 2
            }])
            .await
    );
    assert!(received(&mut ada_socket).is_empty());
    assert!(dispatcher.handle(Signal::Resync).await);

    assert_eq!(seqs_of(&received(&mut ada_socket)), [1, 2]);
    // Seq 3's own signal follows.
    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 3
            }])
            .await
    );
    assert_eq!(seqs_of(&received(&mut ada_socket)), [3]);
}

#[tokio::test]
async fn a_resync_delivers_whatever_lost_signals_would_have_for_every_chat_seen() {
    let chat = ChatId::new();
    let ada = UserId::new();
    let registry = Arc::new(Registry::new(16));
    let mut ada_socket = connect(&registry, ada);
    let stored: Arc<std::sync::Mutex<Vec<Message>>> =
        Arc::new(std::sync::Mutex::new(vec![message(chat, 1)]));
    let mut messages = MockMessageRepository::new();
    let all = Arc::clone(&stored);
    messages
        .expect_history()
        .returning(move |_, cursor, limit| Ok(page_of(&all.lock().expect("lock"), cursor, limit)));
    let mut dispatcher = Dispatcher::new(
        Arc::clone(&registry),
        Arc::new(steady_chats(chat, vec![ada], 1)),
        Arc::new(messages),
        Arc::new(MockReactionRepository::new()),
        clock(),
    );
    assert!(
        dispatcher
            .process(vec![Signal::Seq {
                chat_id: chat,
                seq: 1
            }])
            .await
    );
    assert_eq!(seqs_of(&received(&mut ada_socket)), [1]);

    // Two more messages are stored; their signals are lost (the listener
    // reconnected), which the bus reports as a resync.
    stored
        .lock()
        .expect("lock")
        .extend([message(chat, 2), message(chat, 3)]);
    assert!(dispatcher.process(vec![Signal::Resync]).await);

    assert_eq!(seqs_of(&received(&mut ada_socket)), [2, 3]);
}
