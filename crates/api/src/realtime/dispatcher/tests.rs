//! The dispatcher against fakes: it tails the log from where connections
//! need it, renders only what someone here will get, and delivers to the
//! members of now.

use std::sync::{Arc, Mutex};

use missive_domain::chat::{ChatMember, MemberRole};
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{Message, MessageRole};
use missive_domain::ports::{
    ChatVersion, MemberSnapshot, MockChangeLog, MockChatRepository, MockMessageRepository,
    MockReactionRepository,
};
use missive_domain::services::sync::SyncService;
use missive_domain::sync::{Change, ChangeKind, ChangePage, SyncToken};
use missive_infra::Signal;
use serde_json::Value;
use time::OffsetDateTime;

use super::Dispatcher;
use crate::realtime::registry::{Registration, Registry};

fn member(user_id: UserId) -> ChatMember {
    ChatMember {
        user_id,
        role: MemberRole::Member,
        joined_at: OffsetDateTime::now_utc(),
        last_read_seq: 0,
    }
}

fn message(chat_id: ChatId, seq: i64) -> Message {
    let now = OffsetDateTime::now_utc();
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
        attachments: Vec::new(),
    }
}

fn change(id: i64, chat_id: ChatId, kind: ChangeKind) -> Change {
    Change {
        position: SyncToken::new(0, id),
        chat_id,
        kind,
        message_id: None,
        user_id: None,
        seq: None,
        detail: None,
    }
}

/// Members of each chat as the fake store answers them now (mutable).
type Rosters = Arc<Mutex<Vec<(ChatId, Vec<UserId>)>>>;

fn chats(rosters: &Rosters) -> MockChatRepository {
    let mut chats = MockChatRepository::new();
    let rosters = Arc::clone(rosters);
    chats.expect_member_snapshot().returning(move |chat| {
        let rosters = rosters.lock().expect("lock");
        Ok(rosters
            .iter()
            .find(|(id, _)| *id == chat)
            .map(|(_, users)| MemberSnapshot {
                version: ChatVersion {
                    chat_id: chat,
                    member_version: 1,
                    last_seq: 0,
                },
                members: users.iter().copied().map(member).collect(),
            }))
    });
    chats
}

fn dispatcher(
    registry: &Arc<Registry>,
    log: MockChangeLog,
    messages: MockMessageRepository,
    rosters: &Rosters,
) -> Dispatcher {
    let chats: Arc<MockChatRepository> = Arc::new(chats(rosters));
    let sync = SyncService::new(
        Arc::new(log),
        Arc::new(messages),
        chats.clone(),
        Arc::new(MockReactionRepository::new()),
    );
    Dispatcher::new(Arc::clone(registry), chats, sync)
}

fn connect(registry: &Arc<Registry>, user: UserId) -> Registration {
    registry.register(user, None, 16).expect("room")
}

fn frames(connection: &mut Registration) -> Vec<(Option<SyncToken>, Value)> {
    let mut out = Vec::new();
    while let Ok(outbound) = connection.queue.try_recv() {
        let value = serde_json::from_str(outbound.frame.as_str()).expect("json");
        out.push((outbound.token, value));
    }
    out
}

#[tokio::test]
async fn with_nobody_connected_nothing_is_read() {
    let registry = Arc::new(Registry::new(16));
    // No expectations: any read would panic.
    let mut dispatcher = dispatcher(
        &registry,
        MockChangeLog::new(),
        MockMessageRepository::new(),
        &Rosters::default(),
    );
    assert_eq!(dispatcher.tail().await.expect("tail"), None);
    assert_eq!(dispatcher.process(vec![Signal::Resync]).await, None);
}

#[tokio::test]
async fn it_starts_where_a_connection_needs_it_and_each_frame_carries_its_token() {
    let registry = Arc::new(Registry::new(16));
    let (ann, bob) = (UserId::new(), UserId::new());
    let chat = ChatId::new();
    let stored = message(chat, 1);
    let created = Change {
        message_id: Some(stored.id),
        ..change(8, chat, ChangeKind::MessageCreated)
    };
    let mut log = MockChangeLog::new();
    log.expect_read()
        .withf(|after, viewer, _, _| *after == SyncToken::new(0, 7) && viewer.is_none())
        .times(1)
        .returning(move |_, _, _, _| {
            Ok(ChangePage {
                changes: vec![created.clone()],
                end: SyncToken::new(0, 8),
                has_more: false,
            })
        });
    log.expect_read()
        .withf(|after, _, _, _| *after == SyncToken::new(0, 8))
        .times(1)
        .returning(|after, _, _, _| {
            Ok(ChangePage {
                changes: vec![],
                end: after,
                has_more: false,
            })
        });
    let mut messages = MockMessageRepository::new();
    let found = stored.clone();
    messages
        .expect_find_many()
        .returning(move |_| Ok(vec![found.clone()]));
    let rosters: Rosters = Arc::new(Mutex::new(vec![(chat, vec![ann, bob])]));
    let mut dispatcher = dispatcher(&registry, log, messages, &rosters);
    let mut ann_phone = connect(&registry, ann);
    assert_eq!(
        dispatcher.tail().await.expect("tail"),
        None,
        "no position until a connection notes one"
    );
    ann_phone.note_start(SyncToken::new(0, 7));

    assert_eq!(dispatcher.tail().await.expect("tail"), Some(1));
    let got = frames(&mut ann_phone);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, Some(SyncToken::new(0, 8)));
    assert_eq!(got[0].1["type"], "message.created");
    assert_eq!(got[0].1["token"], "s0_8");
    assert_eq!(got[0].1["message"]["id"], stored.id.to_string());

    assert_eq!(
        dispatcher.tail().await.expect("tail"),
        Some(0),
        "the next read starts past the last"
    );
}

#[tokio::test]
async fn a_removal_in_the_page_reloads_the_members_so_nothing_after_it_reaches_the_removed() {
    let registry = Arc::new(Registry::new(16));
    let (ann, bob) = (UserId::new(), UserId::new());
    let chat = ChatId::new();
    let later = message(chat, 2);
    let rosters: Rosters = Arc::new(Mutex::new(vec![(chat, vec![ann, bob])]));
    let removal = Change {
        user_id: Some(bob),
        ..change(2, chat, ChangeKind::MemberRemoved)
    };
    let created = Change {
        message_id: Some(later.id),
        ..change(3, chat, ChangeKind::MessageCreated)
    };
    let first = message(chat, 1);
    let first_created = Change {
        message_id: Some(first.id),
        ..change(1, chat, ChangeKind::MessageCreated)
    };
    let pages = Arc::new(Mutex::new(vec![
        vec![removal.clone(), created.clone()],
        vec![first_created.clone()],
    ]));
    let mut log = MockChangeLog::new();
    log.expect_read().returning(move |after, _, _, _| {
        let changes = pages.lock().expect("lock").pop().unwrap_or_default();
        let end = changes.last().map_or(after, |c| c.position);
        Ok(ChangePage {
            changes,
            end,
            has_more: false,
        })
    });
    let mut messages = MockMessageRepository::new();
    let stored = [first.clone(), later.clone()];
    messages.expect_find_many().returning(move |ids| {
        Ok(stored
            .iter()
            .filter(|m| ids.contains(&m.id))
            .cloned()
            .collect())
    });
    let mut dispatcher = dispatcher(&registry, log, messages, &rosters);
    let mut ann_phone = connect(&registry, ann);
    let mut bob_phone = connect(&registry, bob);
    ann_phone.note_start(SyncToken::new(0, 9));
    bob_phone.note_start(SyncToken::default());

    dispatcher.tail().await.expect("first page");
    assert_eq!(frames(&mut bob_phone).len(), 1, "bob was a member");
    frames(&mut ann_phone);
    // Bob is removed in the store; the next page holds his removal and a
    // later message.
    rosters.lock().expect("lock")[0].1 = vec![ann];
    dispatcher.tail().await.expect("second page");

    let bob_got: Vec<Value> = frames(&mut bob_phone).into_iter().map(|f| f.1).collect();
    assert_eq!(bob_got.len(), 1, "{bob_got:?}");
    assert_eq!(bob_got[0]["type"], "member.removed");
    let ann_got: Vec<String> = frames(&mut ann_phone)
        .into_iter()
        .map(|f| f.1["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ann_got, ["member.removed", "message.created"]);
}

#[tokio::test]
async fn changes_of_chats_nobody_here_is_in_are_not_rendered() {
    let registry = Arc::new(Registry::new(16));
    let (ann, stranger) = (UserId::new(), UserId::new());
    let (theirs, ours) = (ChatId::new(), ChatId::new());
    let rosters: Rosters = Arc::new(Mutex::new(vec![
        (theirs, vec![stranger]),
        (ours, vec![ann]),
    ]));
    let mut log = MockChangeLog::new();
    log.expect_read().times(1).returning(move |_, _, _, _| {
        Ok(ChangePage {
            changes: vec![
                Change {
                    message_id: Some(MessageId::new()),
                    ..change(1, theirs, ChangeKind::MessageCreated)
                },
                Change {
                    user_id: Some(ann),
                    seq: Some(4),
                    ..change(2, ours, ChangeKind::Read)
                },
            ],
            end: SyncToken::new(0, 2),
            has_more: false,
        })
    });
    // No message lookup expected: the only message is in a chat nobody
    // here is in.
    let mut dispatcher = dispatcher(&registry, log, MockMessageRepository::new(), &rosters);
    let mut ann_phone = connect(&registry, ann);
    ann_phone.note_start(SyncToken::default());

    assert_eq!(dispatcher.tail().await.expect("tail"), Some(1));
    let got = frames(&mut ann_phone);
    assert_eq!(got[0].1["type"], "chat.read");
    assert_eq!(got[0].1["last_read_seq"], 4);
}

#[tokio::test]
async fn typing_is_relayed_to_the_other_members_without_reading_the_log() {
    let registry = Arc::new(Registry::new(16));
    let (ann, bob, eve) = (UserId::new(), UserId::new(), UserId::new());
    let chat = ChatId::new();
    let rosters: Rosters = Arc::new(Mutex::new(vec![(chat, vec![ann, bob])]));
    let mut dispatcher = dispatcher(
        &registry,
        MockChangeLog::new(),
        MockMessageRepository::new(),
        &rosters,
    );
    let mut ann_phone = connect(&registry, ann);
    let mut bob_phone = connect(&registry, bob);

    dispatcher
        .process(vec![
            Signal::Typing {
                chat_id: chat,
                user_id: ann,
            },
            Signal::Typing {
                chat_id: chat,
                user_id: eve,
            },
        ])
        .await;

    assert!(
        frames(&mut ann_phone).is_empty(),
        "not echoed to the typist"
    );
    let got = frames(&mut bob_phone);
    assert_eq!(got.len(), 1, "a stranger's typing is not relayed");
    assert_eq!(got[0].0, None, "typing is not a change: no token");
    assert_eq!(got[0].1["type"], "typing");
}
