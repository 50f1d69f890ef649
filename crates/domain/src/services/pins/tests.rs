use std::collections::HashMap;

use futures_executor::block_on;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::chat::{Chat, ChatMember, MemberRole};
use crate::message::MessageRole;
use crate::metadata::Metadata;
use crate::pin::Pin;
use crate::ports::{
    MockChatRepository, MockClock, MockEventPublisher, MockPinRepository, MockReactionRepository,
};

const NOW: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);

struct Fakes {
    pins: MockPinRepository,
    chats: MockChatRepository,
    events: MockEventPublisher,
}

fn message(chat_id: ChatId, pinned_by: Option<UserId>) -> Message {
    Message {
        id: MessageId::new(),
        chat_id,
        seq: 3,
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
        pinned: pinned_by.map(|by| Pin { by, at: NOW }),
        reactions: None,
        attachments: Vec::new(),
    }
}

impl Fakes {
    /// The caller is in a chat of `kind` with `role`, or not at all.
    fn new(kind: ChatKind, role: Option<MemberRole>) -> Self {
        let mut chats = MockChatRepository::new();
        chats
            .expect_find_membership()
            .returning(move |chat_id, user_id| {
                Ok(role.map(|role| Membership {
                    chat: Chat {
                        id: chat_id,
                        kind,
                        title: None,
                        created_by: user_id,
                        created_at: NOW,
                        last_seq: 3,
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
        Self {
            pins: MockPinRepository::new(),
            chats,
            events: MockEventPublisher::new(),
        }
    }

    fn no_events(mut self) -> Self {
        self.events.expect_publish().never();
        self
    }

    fn one_event(mut self, pinned: bool) -> Self {
        self.events
            .expect_publish()
            .withf(move |e| matches!(e, Event::PinChanged(m) if m.pinned.is_some() == pinned))
            .times(1)
            .returning(|_| ());
        self
    }

    fn service(self) -> PinService {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        let mut reactions = MockReactionRepository::new();
        reactions
            .expect_summaries()
            .returning(|_, _| Ok(HashMap::new()));
        PinService::new(
            Arc::new(self.pins),
            Arc::new(reactions),
            Arc::new(self.chats),
            Arc::new(self.events),
            Arc::new(clock),
        )
    }
}

#[test]
fn group_owners_and_admins_pin_and_the_pin_is_announced() {
    for role in [MemberRole::Owner, MemberRole::Admin] {
        let caller = UserId::new();
        let chat = ChatId::new();
        let mut fakes = Fakes::new(ChatKind::Group, Some(role)).one_event(true);
        fakes
            .pins
            .expect_pin()
            .withf(move |c, _, by, at| *c == chat && *by == caller && *at == NOW)
            .times(1)
            .returning(move |c, _, by, _| Ok(Some(Pinned::Pinned(message(c, Some(by))))));

        let pinned = block_on(fakes.service().pin(caller, chat, MessageId::new())).expect("pinned");

        assert_eq!(pinned.pinned.map(|p| p.by), Some(caller));
        assert_eq!(pinned.reactions, Some(Vec::new()));
    }
}

#[test]
fn plain_group_members_may_not_pin_or_unpin_but_either_member_of_a_direct_chat_may() {
    let mut fakes = Fakes::new(ChatKind::Group, Some(MemberRole::Member)).no_events();
    fakes.pins.expect_pin().never();
    fakes.pins.expect_unpin().never();
    let service = fakes.service();
    let (caller, chat, id) = (UserId::new(), ChatId::new(), MessageId::new());
    assert!(matches!(
        block_on(service.pin(caller, chat, id)),
        Err(MessageError::Forbidden(_))
    ));
    assert!(matches!(
        block_on(service.unpin(caller, chat, id)),
        Err(MessageError::Forbidden(_))
    ));

    let mut fakes = Fakes::new(ChatKind::Direct, Some(MemberRole::Member)).one_event(true);
    fakes
        .pins
        .expect_pin()
        .returning(|c, _, by, _| Ok(Some(Pinned::Pinned(message(c, Some(by))))));
    block_on(fakes.service().pin(caller, chat, id)).expect("direct chats: either member");
}

#[test]
fn strangers_get_not_found_from_every_pin_route() {
    let mut fakes = Fakes::new(ChatKind::Group, None).no_events();
    fakes.pins.expect_pin().never();
    fakes.pins.expect_unpin().never();
    fakes.pins.expect_pinned().never();
    let service = fakes.service();
    let (caller, chat, id) = (UserId::new(), ChatId::new(), MessageId::new());
    for result in [
        block_on(service.pin(caller, chat, id)).map(|_| ()),
        block_on(service.unpin(caller, chat, id)),
        block_on(service.pinned(caller, chat)).map(|_| ()),
    ] {
        assert!(matches!(result, Err(MessageError::NotFound)), "{result:?}");
    }
}

#[test]
fn pinning_answers_each_outcome_of_the_repository() {
    let cases: [(Option<Pinned>, &str); 4] = [
        (None, "not found"),
        (Some(Pinned::Deleted), "deleted"),
        (Some(Pinned::TooMany), "message_id"),
        (
            Some(Pinned::AlreadyPinned(message(
                ChatId::new(),
                Some(UserId::new()),
            ))),
            "ok",
        ),
    ];
    for (outcome, expected) in cases {
        let mut fakes = Fakes::new(ChatKind::Group, Some(MemberRole::Owner)).no_events();
        fakes
            .pins
            .expect_pin()
            .returning(move |_, _, _, _| Ok(outcome.clone()));
        let result = block_on(
            fakes
                .service()
                .pin(UserId::new(), ChatId::new(), MessageId::new()),
        );
        match (expected, result) {
            ("not found", Err(MessageError::NotFound))
            | ("deleted", Err(MessageError::Deleted))
            | ("ok", Ok(_)) => {}
            ("message_id", Err(MessageError::Invalid { field, .. })) => {
                assert_eq!(field, "message_id");
            }
            (expected, other) => panic!("expected {expected}, got {other:?}"),
        }
    }
}

#[test]
fn unpinning_is_announced_only_when_something_was_pinned() {
    let mut fakes = Fakes::new(ChatKind::Group, Some(MemberRole::Admin)).one_event(false);
    let mut was_pinned = true;
    fakes.pins.expect_unpin().times(2).returning(move |c, _| {
        let answer = was_pinned.then(|| message(c, None));
        was_pinned = false;
        Ok(answer)
    });
    let service = fakes.service();
    let (caller, chat, id) = (UserId::new(), ChatId::new(), MessageId::new());

    block_on(service.unpin(caller, chat, id)).expect("unpinned");
    block_on(service.unpin(caller, chat, id)).expect("idempotent");
}

#[test]
fn members_list_the_pins_with_their_reactions() {
    let mut fakes = Fakes::new(ChatKind::Group, Some(MemberRole::Member));
    fakes
        .pins
        .expect_pinned()
        .returning(|c| Ok(vec![message(c, Some(UserId::new()))]));

    let pins = block_on(fakes.service().pinned(UserId::new(), ChatId::new())).expect("listed");

    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].reactions, Some(Vec::new()));
}
