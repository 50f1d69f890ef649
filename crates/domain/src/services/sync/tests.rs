use std::collections::HashMap;

use futures_executor::block_on;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::message::MessageRole;
use crate::metadata::Metadata;
use crate::ports::{
    MockChangeLog, MockChatRepository, MockMessageRepository, MockReactionRepository,
};
use crate::reaction::ReactionSummary;
use crate::sync::{ChangePage, NewChange};
use crate::thread::ThreadSummary;

const NOW: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);

fn message(chat: ChatId, seq: i64) -> Message {
    Message {
        id: MessageId::new(),
        chat_id: chat,
        seq,
        sender_id: UserId::new(),
        content: "hi".into(),
        role: MessageRole::User,
        rating: None,
        client_id: None,
        reply_to: None,
        thread_root_id: None,
        thread: None,
        mentions: Default::default(),
        mention_all: false,
        sent_at: NOW,
        created_at: NOW,
        edited_at: None,
        deleted_at: None,
        metadata: Metadata::default(),
        pinned: None,
        reactions: None,
        attachments: Vec::new(),
    }
}

/// A change as the log would answer it, at position `id`.
fn at(id: i64, change: NewChange) -> Change {
    Change {
        position: SyncToken::new(0, id),
        chat_id: change.chat_id,
        kind: change.kind,
        message_id: change.message_id,
        user_id: change.user_id,
        seq: change.seq,
        detail: change.detail,
    }
}

fn service(
    log: MockChangeLog,
    stored: Vec<Message>,
    summaries: HashMap<MessageId, Vec<ReactionSummary>>,
) -> SyncService {
    let mut messages = MockMessageRepository::new();
    messages.expect_find_many().returning(move |ids| {
        Ok(stored
            .iter()
            .filter(|m| ids.contains(&m.id))
            .cloned()
            .collect())
    });
    let mut reactions = MockReactionRepository::new();
    reactions
        .expect_summaries()
        .returning(move |_, _| Ok(summaries.clone()));
    SyncService::new(
        Arc::new(log),
        Arc::new(messages),
        Arc::new(MockChatRepository::new()),
        Arc::new(reactions),
    )
}

#[test]
fn three_edits_render_once_as_the_message_is_now_and_a_delete_wins() {
    let chat = ChatId::new();
    let mut edited = message(chat, 1);
    edited.content = "third".into();
    let mut gone = message(chat, 2);
    gone.deleted_at = Some(NOW);
    let sync = service(
        MockChangeLog::new(),
        vec![edited.clone(), gone.clone()],
        HashMap::new(),
    );
    let changes = [
        at(
            1,
            NewChange::message(chat, ChangeKind::MessageCreated, edited.id),
        ),
        at(
            2,
            NewChange::message(chat, ChangeKind::MessageUpdated, edited.id),
        ),
        at(
            3,
            NewChange::message(chat, ChangeKind::MessageUpdated, edited.id),
        ),
        at(
            4,
            NewChange::message(chat, ChangeKind::MessageUpdated, gone.id),
        ),
        at(
            5,
            NewChange::message(chat, ChangeKind::MessageDeleted, gone.id),
        ),
    ];
    let out = block_on(sync.render(&changes, None, true)).expect("rendered");
    assert_eq!(out.len(), 2);
    match &out[0].event {
        SyncEvent::MessageCreated(m) => {
            assert_eq!(m.content, "third");
            assert_eq!(m.reactions, Some(Vec::new()), "reaction events follow");
        }
        other => panic!("expected the created message, got {other:?}"),
    }
    assert_eq!(out[0].token, SyncToken::new(0, 1));
    assert!(matches!(&out[1].event, SyncEvent::MessageDeleted(m) if m.id == gone.id));
    assert_eq!(out[1].token, SyncToken::new(0, 4));
}

#[test]
fn a_thread_change_renders_the_root_as_it_is_now_once_per_page() {
    let chat = ChatId::new();
    let mut root = message(chat, 1);
    root.thread = Some(ThreadSummary {
        reply_count: 2,
        last_reply_at: NOW,
        last_reply_seq: 3,
        participant_ids: vec![],
    });
    let mut reply = message(chat, 3);
    reply.thread_root_id = Some(root.id);
    let sync = service(
        MockChangeLog::new(),
        vec![root.clone(), reply.clone()],
        HashMap::new(),
    );
    let out = block_on(sync.render(
        &[
            at(
                9,
                NewChange::message(chat, ChangeKind::MessageCreated, reply.id),
            ),
            at(10, NewChange::message(chat, ChangeKind::Thread, root.id)),
            at(11, NewChange::message(chat, ChangeKind::Thread, root.id)),
        ],
        None,
        true,
    ))
    .expect("rendered");
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        out[1].token,
        SyncToken::new(0, 10),
        "each event its own position"
    );
    match &out[1].event {
        SyncEvent::ThreadUpdated(m) => {
            assert_eq!(m.id, root.id);
            assert_eq!(m.thread.as_ref().map(|t| t.reply_count), Some(2));
        }
        other => panic!("expected the thread, got {other:?}"),
    }
}

#[test]
fn reactions_carry_their_sign_and_the_count_now_and_removals_reach_the_removed() {
    let chat = ChatId::new();
    let liked = message(chat, 1);
    let thumbs = Reaction::new("👍").expect("valid");
    let (ann, bob) = (UserId::new(), UserId::new());
    let summaries = HashMap::from([(
        liked.id,
        vec![ReactionSummary {
            reaction: thumbs.clone(),
            count: 1,
            me: false,
        }],
    )]);
    let sync = service(MockChangeLog::new(), vec![liked.clone()], summaries);
    let changes = [
        at(
            1,
            NewChange::reaction(chat, liked.id, 1, ann, &thumbs, true),
        ),
        at(
            2,
            NewChange::reaction(chat, liked.id, 1, bob, &thumbs, true),
        ),
        at(
            3,
            NewChange::reaction(chat, liked.id, 1, ann, &thumbs, false),
        ),
        at(4, NewChange::user(chat, ChangeKind::MemberRemoved, bob)),
        at(5, NewChange::read(chat, ann, 1)),
    ];
    let out = block_on(sync.render(&changes, Some(ann), true)).expect("rendered");
    let signs: Vec<(bool, u32)> = out
        .iter()
        .filter_map(|s| match &s.event {
            SyncEvent::Reaction { added, count, .. } => Some((*added, *count)),
            _ => None,
        })
        .collect();
    assert_eq!(
        signs,
        [(true, 1), (true, 1), (false, 1)],
        "every change, today's count"
    );
    assert_eq!(out[3].audience, Audience::MembersAnd(bob));
    assert_eq!(
        out[4].event,
        SyncEvent::ChatRead {
            chat_id: chat,
            user_id: ann,
            last_read_seq: 1
        }
    );
}

#[test]
fn without_compaction_every_change_is_an_event_at_its_own_position() {
    let chat = ChatId::new();
    let mut edited = message(chat, 1);
    edited.content = "last".into();
    let sync = service(MockChangeLog::new(), vec![edited.clone()], HashMap::new());
    let changes = [
        at(
            1,
            NewChange::message(chat, ChangeKind::MessageCreated, edited.id),
        ),
        at(
            2,
            NewChange::message(chat, ChangeKind::MessageUpdated, edited.id),
        ),
    ];
    let out = block_on(sync.render(&changes, None, false)).expect("rendered");
    let positions: Vec<SyncToken> = out.iter().map(|s| s.token).collect();
    assert_eq!(positions, [SyncToken::new(0, 1), SyncToken::new(0, 2)]);
    assert!(matches!(&out[1].event, SyncEvent::MessageUpdated(m) if m.content == "last"));
}

#[test]
fn changes_of_messages_gone_with_their_chat_render_as_nothing_but_the_deletion() {
    let chat = ChatId::new();
    let ann = UserId::new();
    let sync = service(MockChangeLog::new(), vec![], HashMap::new());
    let changes = [
        at(
            1,
            NewChange::message(chat, ChangeKind::MessageCreated, MessageId::new()),
        ),
        at(2, NewChange::user(chat, ChangeKind::ChatDeleted, ann)),
    ];
    let out = block_on(sync.render(&changes, Some(ann), true)).expect("rendered");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].event, SyncEvent::ChatDeleted { chat_id: chat });
    assert_eq!(out[0].audience, Audience::User(ann));
}

#[test]
fn a_token_behind_the_floor_or_ahead_of_the_log_has_expired() {
    let limit = SyncLimit::new(10).expect("limit");
    let mut log = MockChangeLog::new();
    log.expect_read().returning(|after, _, _, _| {
        Ok(ChangePage {
            changes: vec![],
            end: after,
            has_more: false,
        })
    });
    // Pruned while the page was read: the floor checked after it.
    log.expect_floor().returning(|| Ok(SyncToken::new(0, 50)));
    let sync = service(log, vec![], HashMap::new());
    assert!(matches!(
        block_on(sync.since(UserId::new(), SyncToken::new(0, 49), limit)),
        Err(SyncError::Expired)
    ));

    let mut log = MockChangeLog::new();
    log.expect_floor().returning(|| Ok(SyncToken::new(0, 0)));
    log.expect_read().returning(|_, _, _, _| {
        Ok(ChangePage {
            changes: vec![],
            end: SyncToken::new(0, 10),
            has_more: false,
        })
    });
    let sync = service(log, vec![], HashMap::new());
    assert!(matches!(
        block_on(sync.since(UserId::new(), SyncToken::new(0, 11), limit)),
        Err(SyncError::Expired)
    ));
    let page = block_on(sync.since(UserId::new(), SyncToken::new(0, 10), limit)).expect("page");
    assert_eq!(page.next_token, SyncToken::new(0, 10));
    assert!(!page.has_more);
}

#[test]
fn a_page_asks_the_log_for_the_viewers_changes_with_a_bounded_scan() {
    let viewer = UserId::new();
    let mut log = MockChangeLog::new();
    log.expect_floor().returning(|| Ok(SyncToken::default()));
    log.expect_read()
        .withf(move |after, who, limit, scan| {
            *after == SyncToken::new(3, 4) && *who == Some(viewer) && *limit == 100 && *scan == 2000
        })
        .returning(|_, _, _, _| {
            Ok(ChangePage {
                changes: vec![],
                end: SyncToken::new(9, 0),
                has_more: true,
            })
        });
    let sync = service(log, vec![], HashMap::new());
    let page = block_on(sync.since(
        viewer,
        SyncToken::new(3, 4),
        SyncLimit::new(100).expect("limit"),
    ))
    .expect("page");
    assert!(page.has_more);
    assert_eq!(page.next_token, SyncToken::new(9, 0));
}

#[test]
fn pruning_goes_batch_by_batch_until_a_batch_is_short_and_cuts_at_the_retention() {
    let mut log = MockChangeLog::new();
    // Popped from the end: two full batches, then a short one.
    let mut answers = vec![3u64, 10, 10];
    log.expect_prune()
        .withf(|before, batch| *before == datetime!(2026-10-31 10:00 UTC) && *batch == 10)
        .times(3)
        .returning(move |_, _| Ok(answers.pop().unwrap_or(0)));
    let sync = service(log, vec![], HashMap::new());
    let pruned = block_on(sync.prune(NOW, time::Duration::days(30), 10)).expect("pruned");
    assert_eq!(pruned, 23);
}
