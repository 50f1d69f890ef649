use futures_executor::block_on;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::chat::{Chat, ChatKind, ChatMember, MemberRole, Membership};
use crate::mention::Mentions;
use crate::message::{HistoryCursor, MessageFilter, MessagePage};
use crate::metadata::Metadata;
use crate::paging::Seq;
use crate::ports::{
    MockChatRepository, MockClock, MockEventPublisher, MockMessageRepository,
    MockReactionRepository, MockUploadRepository,
};
use crate::reaction::{Reaction, ReactionSummary};
use crate::search::SearchTerms;

const NOW: OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

struct Fakes {
    messages: MockMessageRepository,
    chats: MockChatRepository,
    reactions: MockReactionRepository,
    reactions_expected: bool,
    uploads: MockUploadRepository,
    events: MockEventPublisher,
}

impl Fakes {
    fn new() -> Self {
        Self {
            messages: MockMessageRepository::new(),
            chats: MockChatRepository::new(),
            reactions: MockReactionRepository::new(),
            reactions_expected: false,
            uploads: MockUploadRepository::new(),
            events: MockEventPublisher::new(),
        }
    }

    fn member_as(self, role: MemberRole) -> Self {
        self.member_of(ChatKind::Group, role)
    }

    fn member_of(mut self, kind: ChatKind, role: MemberRole) -> Self {
        self.chats
            .expect_find_membership()
            .returning(move |chat_id, user_id| {
                Ok(Some(Membership {
                    chat: Chat {
                        id: chat_id,
                        kind,
                        title: None,
                        created_by: user_id,
                        created_at: NOW,
                        last_seq: 1,
                        last_activity_at: NOW,
                        metadata: Metadata::default(),
                    },
                    member: ChatMember {
                        user_id,
                        role,
                        joined_at: NOW,
                        last_read_seq: 0,
                    },
                }))
            });
        self
    }

    fn stranger(mut self) -> Self {
        self.chats
            .expect_find_membership()
            .returning(|_, _| Ok(None));
        self
    }

    fn stored(mut self, message: Message) -> Self {
        self.messages
            .expect_find()
            .returning(move |id| Ok((id == message.id).then(|| message.clone())));
        self
    }

    fn no_events(mut self) -> Self {
        self.events.expect_publish().never();
        self
    }

    fn expect_event(mut self, check: impl Fn(&Event) -> bool + Send + 'static) -> Self {
        self.events
            .expect_publish()
            .withf(move |e| check(e))
            .times(1)
            .returning(|_| ());
        self
    }

    fn service(mut self) -> MessageService {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        if !self.reactions_expected {
            self.reactions
                .expect_summaries()
                .returning(|_, _| Ok(std::collections::HashMap::new()));
        }
        MessageService::new(
            Arc::new(self.messages),
            Arc::new(self.chats),
            Arc::new(self.reactions),
            Arc::new(self.uploads),
            Arc::new(self.events),
            Arc::new(clock),
        )
    }
}

fn message(chat_id: ChatId, sender_id: UserId) -> Message {
    Message {
        id: MessageId::new(),
        chat_id,
        seq: 1,
        sender_id,
        content: "hello".into(),
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

/// A stored message as a reader gets it: with its reactions (none here).
fn read_by_a_member(stored: Message) -> Message {
    Message {
        reactions: Some(Vec::new()),
        ..stored
    }
}

fn send_request(chat_id: ChatId) -> SendMessage {
    SendMessage {
        chat_id,
        content: MessageContent::new("hello", 100).expect("valid"),
        client_id: Some(ClientId::new("k1").expect("valid")),
        role: MessageRole::Assistant,
        rating: Some(true),
        sent_at: None,
        reply_to: None,
        metadata: Metadata::new(serde_json::json!({"model": "m1"})).expect("valid"),
        mentions: Mentions::default(),
        mention_all: false,
        attachments: AttachmentIds::default(),
    }
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, MessageError>, expected: &str) {
    match result {
        Err(MessageError::Invalid { field, .. }) => assert_eq!(field, expected),
        other => panic!("expected Invalid({expected}), got {other:?}"),
    }
}

// ---- send ----

#[test]
fn sending_stores_the_message_with_server_time_and_publishes_it_once() {
    let caller = UserId::new();
    let chat_id = ChatId::new();
    let mut fakes =
        Fakes::new().expect_event(|e| matches!(e, Event::MessageCreated(m) if m.seq == 4));
    fakes
        .messages
        .expect_append()
        .withf(move |new| {
            new.sender_id == caller
                && new.sent_at == NOW
                && new.created_at == NOW
                && new.role == MessageRole::Assistant
                && new.rating == Some(true)
        })
        .times(1)
        .returning(|new| Ok(Appended::Created(new.stored_as(4))));

    let (message, created) =
        block_on(fakes.service().send(caller, send_request(chat_id))).expect("sent");

    assert!(created);
    assert_eq!(message.seq, 4);
}

#[test]
fn a_client_supplied_sent_at_is_kept() {
    let sent_at = datetime!(2026-01-01 08:00 UTC);
    let mut fakes = Fakes::new();
    fakes.events.expect_publish().returning(|_| ());
    fakes
        .messages
        .expect_append()
        .withf(move |new| new.sent_at == sent_at && new.created_at == NOW)
        .returning(|new| Ok(Appended::Created(new.stored_as(1))));
    let mut request = send_request(ChatId::new());
    request.sent_at = Some(SentAt::new(sent_at).expect("valid"));

    block_on(fakes.service().send(UserId::new(), request)).expect("sent");
}

#[test]
fn a_repeated_client_id_returns_the_stored_message_without_an_event() {
    let original = message(ChatId::new(), UserId::new());
    let expected = original.clone();
    let mut fakes = Fakes::new().no_events();
    fakes
        .messages
        .expect_append()
        .returning(move |_| Ok(Appended::Existing(original.clone())));

    let (message, created) = block_on(
        fakes
            .service()
            .send(UserId::new(), send_request(expected.chat_id)),
    )
    .expect("ok");

    assert!(!created);
    assert_eq!(message, read_by_a_member(expected));
}

#[test]
fn a_non_member_cannot_send_and_gets_not_found() {
    let mut fakes = Fakes::new().no_events();
    fakes
        .messages
        .expect_append()
        .returning(|_| Err(AppendError::NotMember));

    let result = block_on(
        fakes
            .service()
            .send(UserId::new(), send_request(ChatId::new())),
    );

    assert!(matches!(result, Err(MessageError::NotFound)));
}

#[test]
fn replying_to_a_message_of_another_chat_is_invalid() {
    let elsewhere = message(ChatId::new(), UserId::new());
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(elsewhere.clone())
        .no_events();
    fakes.messages.expect_append().never();
    let mut request = send_request(ChatId::new());
    request.reply_to = Some(elsewhere.id);

    assert_invalid(
        block_on(fakes.service().send(UserId::new(), request)),
        "reply_to",
    );
}

#[test]
fn replying_to_an_unknown_message_is_invalid() {
    let mut fakes = Fakes::new().member_as(MemberRole::Member).no_events();
    fakes.messages.expect_find().returning(|_| Ok(None));
    let mut request = send_request(ChatId::new());
    request.reply_to = Some(MessageId::new());

    assert_invalid(
        block_on(fakes.service().send(UserId::new(), request)),
        "reply_to",
    );
}

#[test]
fn a_stranger_replying_gets_not_found_not_a_validation_error() {
    let fakes = Fakes::new().stranger().no_events();
    let mut request = send_request(ChatId::new());
    request.reply_to = Some(MessageId::new());

    let result = block_on(fakes.service().send(UserId::new(), request));

    assert!(matches!(result, Err(MessageError::NotFound)));
}

#[test]
fn replying_within_the_chat_is_stored() {
    let chat_id = ChatId::new();
    let parent = message(chat_id, UserId::new());
    let parent_id = parent.id;
    let mut fakes = Fakes::new().member_as(MemberRole::Member).stored(parent);
    fakes.events.expect_publish().returning(|_| ());
    fakes
        .messages
        .expect_append()
        .withf(move |new| new.reply_to == Some(parent_id))
        .returning(|new| Ok(Appended::Created(new.stored_as(2))));
    let mut request = send_request(chat_id);
    request.reply_to = Some(parent_id);

    block_on(fakes.service().send(UserId::new(), request)).expect("sent");
}

// ---- threads ----

#[test]
fn a_reply_joins_the_thread_of_its_root_and_the_root_is_announced_after_the_reply() {
    let chat_id = ChatId::new();
    let root = message(chat_id, UserId::new());
    let root_id = root.id;
    let mut fakes = Fakes::new().member_as(MemberRole::Member).stored(root);
    let mut order = mockall::Sequence::new();
    fakes
        .events
        .expect_publish()
        .withf(|e| matches!(e, Event::MessageCreated(_)))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| ());
    fakes
        .events
        .expect_publish()
        .withf(move |e| *e == Event::ThreadUpdated { chat_id, root_id })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| ());
    fakes
        .messages
        .expect_append()
        .withf(move |new| new.reply_to == Some(root_id) && new.thread_root_id == Some(root_id))
        .times(1)
        .returning(|new| Ok(Appended::Created(new.stored_as(2))));
    let mut request = send_request(chat_id);
    request.reply_to = Some(root_id);

    let (reply, _) = block_on(fakes.service().send(UserId::new(), request)).expect("sent");

    assert_eq!(reply.thread_root_id, Some(root_id));
}

#[test]
fn a_reply_to_a_reply_joins_the_same_root() {
    let chat_id = ChatId::new();
    let root_id = MessageId::new();
    let reply = Message {
        reply_to: Some(root_id),
        thread_root_id: Some(root_id),
        ..message(chat_id, UserId::new())
    };
    let reply_id = reply.id;
    let mut fakes = Fakes::new().member_as(MemberRole::Member).stored(reply);
    fakes.events.expect_publish().times(2).returning(|_| ());
    fakes
        .messages
        .expect_append()
        .withf(move |new| new.reply_to == Some(reply_id) && new.thread_root_id == Some(root_id))
        .times(1)
        .returning(|new| Ok(Appended::Created(new.stored_as(3))));
    let mut request = send_request(chat_id);
    request.reply_to = Some(reply_id);

    block_on(fakes.service().send(UserId::new(), request)).expect("sent");
}

#[test]
fn deleting_a_reply_announces_its_thread_again() {
    let chat_id = ChatId::new();
    let sender = UserId::new();
    let root_id = MessageId::new();
    let reply = Message {
        thread_root_id: Some(root_id),
        reply_to: Some(root_id),
        ..message(chat_id, sender)
    };
    let tombstone = Message {
        deleted_at: Some(NOW),
        content: String::new(),
        ..reply.clone()
    };
    let reply_id = reply.id;
    let mut fakes = Fakes::new().member_as(MemberRole::Member).stored(reply);
    fakes
        .messages
        .expect_soft_delete()
        .returning(move |_, _| Ok(Some(tombstone.clone())));
    let mut order = mockall::Sequence::new();
    fakes
        .events
        .expect_publish()
        .withf(|e| matches!(e, Event::MessageDeleted(_)))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| ());
    fakes
        .events
        .expect_publish()
        .withf(move |e| *e == Event::ThreadUpdated { chat_id, root_id })
        .times(1)
        .in_sequence(&mut order)
        .returning(|_| ());
    let service = fakes.service();

    block_on(service.delete_message(sender, reply_id)).expect("deleted");
}

#[test]
fn replies_are_for_members_only_and_page_without_offsets() {
    let stored = message(ChatId::new(), UserId::new());
    let stranger = Fakes::new().stranger().stored(stored.clone()).service();
    let limit = HistoryLimit::new(10).expect("valid");
    assert!(matches!(
        block_on(stranger.replies(UserId::new(), stored.id, HistoryCursor::Latest, limit)),
        Err(MessageError::NotFound)
    ));

    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(stored.clone());
    fakes
        .messages
        .expect_replies()
        .withf(move |root, cursor, limit| {
            *root == stored.id && *cursor == HistoryCursor::Before(Seq::clamped(9)) && *limit == 10
        })
        .times(1)
        .returning(|_, _, _| {
            Ok(MessagePage {
                items: vec![],
                has_more: false,
            })
        });
    let member = fakes.service();
    assert_invalid(
        block_on(member.replies(
            UserId::new(),
            stored.id,
            HistoryCursor::Offset(Seq::clamped(5)),
            limit,
        )),
        "offset",
    );
    block_on(member.replies(
        UserId::new(),
        stored.id,
        HistoryCursor::Before(Seq::clamped(9)),
        limit,
    ))
    .expect("page");
}

// ---- mentions ----

fn mentioning(users: &[UserId]) -> Mentions {
    Mentions::new(users.to_vec()).expect("valid")
}

#[test]
fn a_message_mentions_members_checked_in_one_query() {
    let (caller, chat_id) = (UserId::new(), ChatId::new());
    let (bob, cat) = (UserId::new(), UserId::new());
    let mut fakes = Fakes::new().member_as(MemberRole::Member);
    fakes.events.expect_publish().returning(|_| ());
    fakes
        .chats
        .expect_members_among()
        .withf(move |chat, users| *chat == chat_id && users.len() == 2)
        .times(1)
        .returning(|_, users| Ok(users.to_vec()));
    fakes
        .messages
        .expect_append()
        .withf(move |new| new.mentions.users() == [bob, cat] && !new.mention_all)
        .times(1)
        .returning(|new| Ok(Appended::Created(new.stored_as(1))));
    let mut request = send_request(chat_id);
    request.mentions = mentioning(&[bob, cat]);

    let (sent, _) = block_on(fakes.service().send(caller, request)).expect("sent");

    assert_eq!(sent.mentions.users(), [bob, cat]);
}

#[test]
fn mentioning_someone_outside_the_chat_is_invalid_and_stores_nothing() {
    let outsider = UserId::new();
    let mut fakes = Fakes::new().member_as(MemberRole::Member).no_events();
    fakes
        .chats
        .expect_members_among()
        .returning(move |_, users| Ok(users.iter().copied().filter(|u| *u != outsider).collect()));
    fakes.messages.expect_append().never();
    let mut request = send_request(ChatId::new());
    request.mentions = mentioning(&[UserId::new(), outsider]);

    assert_invalid(
        block_on(fakes.service().send(UserId::new(), request)),
        "mentions",
    );
}

#[test]
fn a_stranger_mentioning_gets_not_found_first() {
    let mut fakes = Fakes::new().stranger().no_events();
    fakes.chats.expect_members_among().never();
    let mut request = send_request(ChatId::new());
    request.mentions = mentioning(&[UserId::new()]);

    let result = block_on(fakes.service().send(UserId::new(), request));

    assert!(matches!(result, Err(MessageError::NotFound)), "{result:?}");
}

#[test]
fn only_group_owners_and_admins_mention_everyone() {
    for (role, allowed) in [
        (MemberRole::Owner, true),
        (MemberRole::Admin, true),
        (MemberRole::Member, false),
    ] {
        let mut fakes = Fakes::new().member_as(role);
        fakes.events.expect_publish().returning(|_| ());
        fakes
            .messages
            .expect_append()
            .withf(|new| new.mention_all)
            .times(usize::from(allowed))
            .returning(|new| Ok(Appended::Created(new.stored_as(1))));
        let mut request = send_request(ChatId::new());
        request.mention_all = true;

        let result = block_on(fakes.service().send(UserId::new(), request));

        assert_eq!(result.is_ok(), allowed, "{role:?}: {result:?}");
        if !allowed {
            assert!(matches!(result, Err(MessageError::Forbidden(_))));
        }
    }
}

#[test]
fn nobody_mentions_everyone_in_a_direct_chat() {
    let mut fakes = Fakes::new()
        .member_of(ChatKind::Direct, MemberRole::Owner)
        .no_events();
    fakes.messages.expect_append().never();
    let mut request = send_request(ChatId::new());
    request.mention_all = true;

    assert_invalid(
        block_on(fakes.service().send(UserId::new(), request)),
        "mention_all",
    );
}

#[test]
fn a_batch_names_the_item_whose_mention_is_wrong() {
    let outsider = UserId::new();
    let mut fakes = Fakes::new().member_as(MemberRole::Member).no_events();
    fakes
        .chats
        .expect_members_among()
        .times(1)
        .returning(move |_, users| Ok(users.iter().copied().filter(|u| *u != outsider).collect()));
    fakes.messages.expect_append_batch().never();
    let chat_id = ChatId::new();
    let mut good = send_request(chat_id);
    good.client_id = None;
    good.mentions = mentioning(&[UserId::new()]);
    let mut bad = send_request(chat_id);
    bad.client_id = None;
    bad.mentions = mentioning(&[outsider]);

    assert_invalid(
        block_on(
            fakes
                .service()
                .send_batch(UserId::new(), chat_id, vec![good, bad]),
        ),
        "items[1].mentions",
    );
}

#[test]
fn only_the_sender_changes_a_messages_mentions() {
    let chat_id = ChatId::new();
    let stored = message(chat_id, UserId::new());
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Admin)
        .stored(stored.clone())
        .no_events();
    fakes.messages.expect_edit().never();

    let result = block_on(fakes.service().edit_message(
        UserId::new(),
        stored.id,
        EditMessage {
            mentions: Some(mentioning(&[UserId::new()])),
            ..EditMessage::default()
        },
    ));

    assert!(
        matches!(result, Err(MessageError::Forbidden(_))),
        "{result:?}"
    );
}

// ---- history ----

#[test]
fn history_is_for_members_only() {
    let mut fakes = Fakes::new();
    // The adapter answers `None` for a non-member.
    fakes
        .messages
        .expect_member_history()
        .returning(|_, _, _, _| Ok(None));

    let result = block_on(fakes.service().history(
        UserId::new(),
        ChatId::new(),
        HistoryCursor::Latest,
        HistoryLimit::new(50).expect("valid"),
    ));

    assert!(matches!(result, Err(MessageError::NotFound)));
}

#[test]
fn history_passes_the_cursor_and_limit_through() {
    let (caller, chat) = (UserId::new(), ChatId::new());
    let mut fakes = Fakes::new();
    fakes
        .messages
        .expect_member_history()
        .withf(move |viewer, chat_id, cursor, limit| {
            *viewer == caller
                && *chat_id == chat
                && *cursor == HistoryCursor::After(Seq::clamped(10))
                && *limit == 200
        })
        .times(1)
        .returning(|_, _, _, _| {
            Ok(Some(MessagePage {
                items: vec![],
                has_more: false,
            }))
        });

    block_on(fakes.service().history(
        caller,
        chat,
        HistoryCursor::After(Seq::clamped(10)),
        HistoryLimit::new(200).expect("valid"),
    ))
    .expect("page");
}

// ---- get ----

#[test]
fn a_message_is_visible_to_members_only() {
    let stored = message(ChatId::new(), UserId::new());
    let member = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(stored.clone())
        .service();
    assert_eq!(
        block_on(member.get_message(UserId::new(), stored.id)).expect("found"),
        read_by_a_member(stored.clone())
    );

    let stranger = Fakes::new().stranger().stored(stored.clone()).service();
    assert!(matches!(
        block_on(stranger.get_message(UserId::new(), stored.id)),
        Err(MessageError::NotFound)
    ));
}

#[test]
fn a_tombstone_is_still_returned() {
    let mut tombstone = message(ChatId::new(), UserId::new());
    tombstone.deleted_at = Some(NOW);
    tombstone.content.clear();
    let service = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(tombstone.clone())
        .service();

    assert!(
        block_on(service.get_message(UserId::new(), tombstone.id))
            .expect("found")
            .is_deleted()
    );
}

// ---- edit ----

fn content(text: &str) -> Option<MessageContent> {
    Some(MessageContent::new(text, 100).expect("valid"))
}

#[test]
fn only_the_sender_changes_content_and_edited_at_is_stamped() {
    let sender = UserId::new();
    let stored = message(ChatId::new(), sender);
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(stored.clone())
        .expect_event(|e| matches!(e, Event::MessageUpdated(_)));
    let updated = Message {
        content: "changed".into(),
        edited_at: Some(NOW),
        ..stored.clone()
    };
    fakes
        .messages
        .expect_edit()
        .withf(|_, edit| {
            edit.content.as_ref().map(|(c, at)| (c.as_str(), *at)) == Some(("changed", NOW))
                && edit.rating.is_none()
        })
        .times(1)
        .returning(move |_, _| Ok(Some(updated.clone())));

    let result = block_on(fakes.service().edit_message(
        sender,
        stored.id,
        EditMessage {
            content: content("changed"),
            rating: None,
            metadata: None,
            mentions: None,
        },
    ))
    .expect("edited");

    assert_eq!(result.edited_at, Some(NOW));
}

#[test]
fn another_member_may_not_change_content_even_as_admin() {
    let stored = message(ChatId::new(), UserId::new());
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Admin)
        .stored(stored.clone())
        .no_events();
    fakes.messages.expect_edit().never();

    let result = block_on(fakes.service().edit_message(
        UserId::new(),
        stored.id,
        EditMessage {
            content: content("mine now"),
            rating: None,
            metadata: None,
            mentions: None,
        },
    ));

    assert!(matches!(result, Err(MessageError::Forbidden(_))));
}

#[test]
fn any_member_may_rate_and_clear_a_rating() {
    let stored = Message {
        rating: Some(true),
        ..message(ChatId::new(), UserId::new())
    };
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(stored.clone())
        .expect_event(|e| matches!(e, Event::MessageUpdated(_)));
    let cleared = Message {
        rating: None,
        ..stored.clone()
    };
    fakes
        .messages
        .expect_edit()
        .withf(|_, edit| edit.rating == Some(None) && edit.content.is_none())
        .times(1)
        .returning(move |_, _| Ok(Some(cleared.clone())));

    let result = block_on(fakes.service().edit_message(
        UserId::new(),
        stored.id,
        EditMessage {
            content: None,
            rating: Some(None),
            metadata: None,
            mentions: None,
        },
    ))
    .expect("rated");

    assert_eq!(result.rating, None);
}

#[test]
fn an_edit_that_changes_nothing_stores_nothing_and_stamps_nothing() {
    let sender = UserId::new();
    let stored = message(ChatId::new(), sender);
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(stored.clone())
        .no_events();
    fakes.messages.expect_edit().never();

    let result = block_on(fakes.service().edit_message(
        sender,
        stored.id,
        EditMessage {
            content: content("hello"),
            rating: Some(None),
            metadata: None,
            mentions: None,
        },
    ))
    .expect("unchanged");

    assert_eq!(result, read_by_a_member(stored));
}

#[test]
fn an_empty_edit_is_invalid_and_a_tombstone_cannot_be_edited() {
    let sender = UserId::new();
    let service = Fakes::new().service();
    assert_invalid(
        block_on(service.edit_message(sender, MessageId::new(), EditMessage::default())),
        "body",
    );

    let mut tombstone = message(ChatId::new(), sender);
    tombstone.deleted_at = Some(NOW);
    let service = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(tombstone.clone())
        .no_events()
        .service();
    let result = block_on(service.edit_message(
        sender,
        tombstone.id,
        EditMessage {
            content: None,
            rating: Some(Some(true)),
            metadata: None,
            mentions: None,
        },
    ));
    assert!(matches!(result, Err(MessageError::Deleted)));
}

// ---- delete ----

fn deleting(
    caller: UserId,
    role: MemberRole,
    stored: Message,
    expect_delete: bool,
) -> Result<(), MessageError> {
    let id = stored.id;
    let mut fakes = Fakes::new().member_as(role).stored(stored.clone());
    if expect_delete {
        let tombstone = Message {
            deleted_at: Some(NOW),
            content: String::new(),
            ..stored
        };
        fakes
            .messages
            .expect_soft_delete()
            .withf(|_, at| *at == NOW)
            .times(1)
            .returning(move |_, _| Ok(Some(tombstone.clone())));
        fakes = fakes.expect_event(|e| matches!(e, Event::MessageDeleted(m) if m.is_deleted()));
    } else {
        fakes.messages.expect_soft_delete().never();
        fakes = fakes.no_events();
    }
    block_on(fakes.service().delete_message(caller, id))
}

#[test]
fn the_sender_deletes_their_message_leaving_a_tombstone() {
    let sender = UserId::new();
    deleting(
        sender,
        MemberRole::Member,
        message(ChatId::new(), sender),
        true,
    )
    .expect("deleted");
}

#[test]
fn owners_and_admins_delete_other_peoples_messages() {
    for role in [MemberRole::Owner, MemberRole::Admin] {
        deleting(
            UserId::new(),
            role,
            message(ChatId::new(), UserId::new()),
            true,
        )
        .expect("deleted");
    }
}

#[test]
fn a_plain_member_may_not_delete_someone_elses_message() {
    let result = deleting(
        UserId::new(),
        MemberRole::Member,
        message(ChatId::new(), UserId::new()),
        false,
    );
    assert!(matches!(result, Err(MessageError::Forbidden(_))));
}

#[test]
fn deleting_a_tombstone_again_is_a_silent_no_op() {
    let sender = UserId::new();
    let mut tombstone = message(ChatId::new(), sender);
    tombstone.deleted_at = Some(NOW);
    deleting(sender, MemberRole::Member, tombstone, false).expect("no-op");
}

#[test]
fn a_stranger_cannot_delete_and_gets_not_found() {
    let stored = message(ChatId::new(), UserId::new());
    let mut fakes = Fakes::new().stranger().stored(stored.clone()).no_events();
    fakes.messages.expect_soft_delete().never();

    let result = block_on(fakes.service().delete_message(UserId::new(), stored.id));

    assert!(matches!(result, Err(MessageError::NotFound)));
}

// ---- listing ----

fn filter() -> MessageFilter {
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

fn limit(n: i64) -> ListLimit {
    ListLimit::new(n).expect("valid")
}

#[test]
fn listing_a_chat_the_caller_is_not_in_is_not_found() {
    let mut fakes = Fakes::new().stranger();
    fakes.messages.expect_list().never();
    let scoped = MessageFilter {
        chat_id: Some(ChatId::new()),
        ..filter()
    };

    let result = block_on(
        fakes
            .service()
            .list_messages(UserId::new(), scoped, limit(20)),
    );

    assert!(matches!(result, Err(MessageError::NotFound)));
}

#[test]
fn listing_is_scoped_to_the_caller_and_passes_the_filter_through() {
    let caller = UserId::new();
    let terms = SearchTerms::parse("hello 上海").expect("valid");
    let expected = terms.clone();
    let mut fakes = Fakes::new();
    fakes
        .messages
        .expect_list()
        .withf(move |viewer, f, limit| {
            *viewer == caller && f.terms.as_ref() == Some(&expected) && *limit == 21
        })
        .times(1)
        .returning(|_, _, _| Ok(vec![]));
    let searching = MessageFilter {
        terms: Some(terms),
        ..filter()
    };

    let (found, next) =
        block_on(fakes.service().list_messages(caller, searching, limit(20))).expect("listed");

    assert!(found.is_empty() && next.is_none());
}

#[test]
fn listing_asks_for_one_extra_message_to_know_whether_a_next_page_exists() {
    let chat_id = ChatId::new();
    let results: Vec<Message> = (0..3).map(|_| message(chat_id, UserId::new())).collect();
    let second_id = results[1].id;
    let mut fakes = Fakes::new();
    fakes
        .messages
        .expect_list()
        .withf(|_, _, limit| *limit == 3)
        .returning(move |_, _, _| Ok(results.clone()));

    let (found, next) = block_on(
        fakes
            .service()
            .list_messages(UserId::new(), filter(), limit(2)),
    )
    .expect("listed");

    assert_eq!(found.len(), 2);
    assert_eq!(next, Some(second_id));
}

// ---- metadata ----

#[test]
fn the_sender_replaces_metadata_and_it_travels_with_the_message() {
    let sender = UserId::new();
    let stored = message(ChatId::new(), sender);
    let metadata = Metadata::new(serde_json::json!({"tokens": 12})).expect("valid");
    let mut updated = stored.clone();
    updated.metadata = metadata.clone();
    let expected = metadata.clone();
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(stored.clone())
        .expect_event(|e| matches!(e, Event::MessageUpdated(_)));
    fakes
        .messages
        .expect_edit()
        .withf(move |_, edit| edit.metadata.as_ref() == Some(&expected) && edit.content.is_none())
        .times(1)
        .returning(move |_, _| Ok(Some(updated.clone())));

    let result = block_on(fakes.service().edit_message(
        sender,
        stored.id,
        EditMessage {
            metadata: Some(metadata.clone()),
            ..EditMessage::default()
        },
    ))
    .expect("edited");

    assert_eq!(result.metadata, metadata);
    assert_eq!(
        result.edited_at, None,
        "metadata is not an edit of the text"
    );
}

#[test]
fn only_the_sender_changes_metadata() {
    let stored = message(ChatId::new(), UserId::new());
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Owner)
        .stored(stored.clone())
        .no_events();
    fakes.messages.expect_edit().never();

    let result = block_on(fakes.service().edit_message(
        UserId::new(),
        stored.id,
        EditMessage {
            metadata: Some(Metadata::default()),
            ..EditMessage::default()
        },
    ));

    assert!(matches!(result, Err(MessageError::Forbidden(_))));
}

#[test]
fn a_send_carries_its_metadata_to_the_store() {
    let request = send_request(ChatId::new());
    let expected = request.metadata.clone();
    let mut fakes = Fakes::new().expect_event(|_| true);
    fakes
        .messages
        .expect_append()
        .withf(move |new| new.metadata == expected)
        .times(1)
        .returning(|new| Ok(Appended::Created(new.stored_as(1))));

    let (message, _) = block_on(fakes.service().send(UserId::new(), request)).expect("sent");

    assert_eq!(message.metadata.as_map()["model"], "m1");
}

// ---- batches ----

fn batch_item(chat_id: ChatId, client_id: Option<&str>) -> SendMessage {
    SendMessage {
        client_id: client_id.map(|c| ClientId::new(c).expect("valid")),
        ..send_request(chat_id)
    }
}

#[test]
fn a_batch_holds_1_to_1000_messages_with_distinct_client_ids() {
    let service = Fakes::new().no_events().service();
    let (caller, chat) = (UserId::new(), ChatId::new());

    assert_invalid(block_on(service.send_batch(caller, chat, vec![])), "items");
    let too_many = (0..=MAX_BATCH).map(|_| batch_item(chat, None)).collect();
    assert_invalid(
        block_on(service.send_batch(caller, chat, too_many)),
        "items",
    );
    let repeated = vec![
        batch_item(chat, Some("a")),
        batch_item(chat, None),
        batch_item(chat, Some("a")),
    ];
    assert_invalid(
        block_on(service.send_batch(caller, chat, repeated)),
        "items[2].client_id",
    );
}

#[test]
fn a_batch_announces_only_what_it_stored_and_answers_every_item_in_order() {
    let (caller, chat) = (UserId::new(), ChatId::new());
    let earlier = message(chat, caller);
    let earlier_id = earlier.id;
    let mut fakes = Fakes::new();
    fakes
        .events
        .expect_publish()
        .withf(|e| matches!(e, Event::MessageCreated(m) if m.seq == 2))
        .times(1)
        .returning(|_| ());
    fakes
        .messages
        .expect_append_batch()
        .withf(move |batch| {
            batch.len() == 2
                && batch
                    .iter()
                    .all(|m| m.sender_id == caller && m.chat_id == chat)
        })
        .times(1)
        .returning(move |batch| {
            Ok(vec![
                Appended::Existing(earlier.clone()),
                Appended::Created(batch[1].stored_as(2)),
            ])
        });

    let answer = block_on(fakes.service().send_batch(
        caller,
        chat,
        vec![batch_item(chat, Some("old")), batch_item(chat, Some("new"))],
    ))
    .expect("stored");

    assert_eq!(answer.len(), 2);
    assert_eq!((answer[0].0.id, answer[0].1), (earlier_id, false));
    assert_eq!((answer[1].0.seq, answer[1].1), (2, true));
}

#[test]
fn a_strangers_batch_is_not_found() {
    let chat = ChatId::new();
    let mut fakes = Fakes::new().no_events();
    fakes
        .messages
        .expect_append_batch()
        .returning(|_| Err(AppendError::NotMember));

    let result = block_on(fakes.service().send_batch(
        UserId::new(),
        chat,
        vec![batch_item(chat, None)],
    ));

    assert!(matches!(result, Err(MessageError::NotFound)));
}

// ---- reactions in what a reader sees ----

#[test]
fn a_history_page_carries_each_messages_reactions_from_one_read() {
    let (caller, chat) = (UserId::new(), ChatId::new());
    let first = message(chat, caller);
    let second = message(chat, caller);
    let (first_id, second_id) = (first.id, second.id);
    let mut fakes = Fakes::new();
    fakes
        .messages
        .expect_member_history()
        .returning(move |_, _, _, _| {
            Ok(Some(MessagePage {
                items: vec![first.clone(), second.clone()],
                has_more: false,
            }))
        });
    fakes.reactions_expected = true;
    fakes
        .reactions
        .expect_summaries()
        .withf(move |viewer, ids| *viewer == caller && ids == [first_id, second_id])
        .times(1)
        .returning(move |_, _| {
            let summary = ReactionSummary {
                reaction: Reaction::new("👍").expect("valid"),
                count: 2,
                me: true,
            };
            Ok(std::collections::HashMap::from([(first_id, vec![summary])]))
        });

    let page = block_on(fakes.service().history(
        caller,
        chat,
        HistoryCursor::Latest,
        HistoryLimit::new(50).expect("valid"),
    ))
    .expect("page");

    let reactions = page.items[0].reactions.as_ref().expect("read for a reader");
    assert_eq!((reactions.len(), reactions[0].count), (1, 2));
    assert_eq!(page.items[1].reactions, Some(Vec::new()));
}

#[test]
fn reactions_are_looked_up_only_for_messages_storage_does_not_know_to_have_none() {
    let (caller, chat) = (UserId::new(), ChatId::new());
    let quiet = Message {
        reactions: Some(Vec::new()),
        ..message(chat, caller)
    };
    let reacted = message(chat, caller);
    let reacted_id = reacted.id;
    let mut fakes = Fakes::new();
    let (first, second) = (quiet.clone(), reacted.clone());
    fakes
        .messages
        .expect_member_history()
        .times(2)
        .returning(move |_, _, cursor, _| {
            let items = match cursor {
                HistoryCursor::Latest => vec![first.clone(), second.clone()],
                _ => vec![first.clone()],
            };
            Ok(Some(MessagePage {
                items,
                has_more: false,
            }))
        });
    fakes.reactions_expected = true;
    fakes
        .reactions
        .expect_summaries()
        .withf(move |_, ids| ids == [reacted_id])
        .times(1)
        .returning(|_, _| Ok(std::collections::HashMap::new()));
    let service = fakes.service();
    let limit = HistoryLimit::new(50).expect("valid");

    let page = block_on(service.history(caller, chat, HistoryCursor::Latest, limit)).expect("page");
    assert!(page.items.iter().all(|m| m.reactions == Some(Vec::new())));
    // A page of messages known to have none reads no reactions at all.
    block_on(service.history(caller, chat, HistoryCursor::Before(Seq::clamped(9)), limit))
        .expect("page");
}

// ---- attachments ----

fn upload_of(owner: UserId, name: &str) -> crate::upload::Upload {
    use crate::upload::{ContentType, FileName, Sha256};
    crate::upload::Upload {
        id: crate::ids::UploadId::new(),
        owner,
        filename: FileName::clean(name),
        content_type: ContentType::new("image/png").expect("valid"),
        size: 10,
        sha256: Sha256::new(&"a".repeat(64)).expect("valid"),
        width: Some(2),
        height: Some(1),
        thumbnail: None,
        created_at: NOW,
    }
}

fn attaching(request: SendMessage, uploads: &[&crate::upload::Upload]) -> SendMessage {
    SendMessage {
        content: MessageContent::new_or_empty("", 100).expect("valid"),
        attachments: AttachmentIds::new(uploads.iter().map(|u| u.id).collect()).expect("valid"),
        ..request
    }
}

#[test]
fn a_message_of_attachments_only_carries_the_callers_uploads_in_their_order() {
    let caller = UserId::new();
    let chat_id = ChatId::new();
    let (first, second) = (upload_of(caller, "b.png"), upload_of(caller, "a.png"));
    let request = attaching(send_request(chat_id), &[&first, &second]);
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .expect_event(|e| matches!(e, Event::MessageCreated(m) if m.attachments.len() == 2));
    let found = vec![second.clone(), first.clone()];
    fakes
        .uploads
        .expect_find_owned()
        .withf(move |owner, ids| *owner == caller && ids.len() == 2)
        .times(1)
        .returning(move |_, _| Ok(found.clone()));
    let expected = vec![first.id, second.id];
    fakes
        .messages
        .expect_append()
        .withf(move |new| {
            new.content.is_empty()
                && new.attachments.iter().map(|u| u.id).collect::<Vec<_>>() == expected
        })
        .times(1)
        .returning(|new| Ok(Appended::Created(new.stored_as(1))));

    let (message, _) = block_on(fakes.service().send(caller, request)).expect("sent");

    assert_eq!(message.attachments, vec![first, second]);
}

#[test]
fn attaching_an_upload_that_is_not_the_callers_is_invalid_and_stores_nothing() {
    let caller = UserId::new();
    let mine = upload_of(caller, "mine.png");
    let theirs = upload_of(UserId::new(), "theirs.png");
    let request = attaching(send_request(ChatId::new()), &[&mine, &theirs]);
    let mut fakes = Fakes::new().member_as(MemberRole::Member).no_events();
    // The adapter answers only the caller's own uploads.
    let found = vec![mine.clone()];
    fakes
        .uploads
        .expect_find_owned()
        .returning(move |_, _| Ok(found.clone()));
    fakes.messages.expect_append().never();

    assert_invalid(
        block_on(fakes.service().send(caller, request)),
        "attachments",
    );
}

#[test]
fn a_stranger_attaching_learns_nothing_about_uploads() {
    let caller = UserId::new();
    let mine = upload_of(caller, "mine.png");
    let request = attaching(send_request(ChatId::new()), &[&mine]);
    let mut fakes = Fakes::new().stranger().no_events();
    fakes.uploads.expect_find_owned().never();
    fakes.messages.expect_append().never();

    let result = block_on(fakes.service().send(caller, request));

    assert!(matches!(result, Err(MessageError::NotFound)), "{result:?}");
}

#[test]
fn a_message_needs_content_or_an_attachment() {
    let mut fakes = Fakes::new().no_events();
    fakes.messages.expect_append().never();
    let service = fakes.service();
    let empty = SendMessage {
        content: MessageContent::new_or_empty("", 100).expect("valid"),
        ..send_request(ChatId::new())
    };

    assert_invalid(
        block_on(service.send(UserId::new(), empty.clone())),
        "content",
    );
    assert_invalid(
        block_on(service.send_batch(
            UserId::new(),
            empty.chat_id,
            vec![send_request(empty.chat_id), empty.clone()],
        )),
        "items[1].content",
    );
}

#[test]
fn a_batch_names_the_item_whose_attachment_is_not_the_callers() {
    let caller = UserId::new();
    let chat_id = ChatId::new();
    let mine = upload_of(caller, "mine.png");
    let gone = upload_of(caller, "gone.png");
    let items = vec![
        attaching(batch_item(chat_id, Some("a")), &[&mine]),
        batch_item(chat_id, Some("b")),
        attaching(batch_item(chat_id, Some("c")), &[&gone]),
    ];
    let mut fakes = Fakes::new().member_as(MemberRole::Member).no_events();
    let found = vec![mine.clone()];
    fakes
        .uploads
        .expect_find_owned()
        .times(1)
        .returning(move |_, _| Ok(found.clone()));
    fakes.messages.expect_append_batch().never();

    assert_invalid(
        block_on(fakes.service().send_batch(caller, chat_id, items)),
        "items[2].attachments",
    );
}

#[test]
fn an_upload_expiring_while_sending_is_invalid_not_a_failure() {
    let caller = UserId::new();
    let upload = upload_of(caller, "late.png");
    let request = attaching(send_request(ChatId::new()), &[&upload]);
    let mut fakes = Fakes::new().member_as(MemberRole::Member).no_events();
    let found = vec![upload.clone()];
    fakes
        .uploads
        .expect_find_owned()
        .returning(move |_, _| Ok(found.clone()));
    fakes
        .messages
        .expect_append()
        .returning(|_| Err(AppendError::UploadGone));

    assert_invalid(
        block_on(fakes.service().send(caller, request)),
        "attachments",
    );
}

#[test]
fn content_may_be_edited_away_only_on_a_message_with_attachments() {
    let sender = UserId::new();
    let plain = message(ChatId::new(), sender);
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(plain.clone())
        .no_events();
    fakes.messages.expect_edit().never();
    let emptied = || EditMessage {
        content: Some(MessageContent::new_or_empty("", 100).expect("valid")),
        ..EditMessage::default()
    };
    assert_invalid(
        block_on(fakes.service().edit_message(sender, plain.id, emptied())),
        "content",
    );

    let with_file = Message {
        attachments: vec![upload_of(sender, "f.png")],
        ..message(plain.chat_id, sender)
    };
    let mut fakes = Fakes::new()
        .member_as(MemberRole::Member)
        .stored(with_file.clone())
        .expect_event(|e| matches!(e, Event::MessageUpdated(m) if m.content.is_empty()));
    let updated = Message {
        content: String::new(),
        ..with_file.clone()
    };
    fakes
        .messages
        .expect_edit()
        .withf(|_, edit| edit.content.as_ref().is_some_and(|(c, _)| c.is_empty()))
        .times(1)
        .returning(move |_, _| Ok(Some(updated.clone())));
    let edited = block_on(
        fakes
            .service()
            .edit_message(sender, with_file.id, emptied()),
    )
    .expect("edited");
    assert!(edited.content.is_empty());
}
