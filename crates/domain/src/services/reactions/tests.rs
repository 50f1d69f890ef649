use std::collections::HashMap;

use futures_executor::block_on;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::chat::{Chat, ChatKind, ChatMember, MemberRole, Membership};
use crate::ids::ChatId;
use crate::message::MessageRole;
use crate::metadata::Metadata;
use crate::ports::{
    MockChatRepository, MockClock, MockEventPublisher, MockMessageRepository,
    MockReactionRepository,
};
use crate::reaction::ReactionSummary;

const NOW: OffsetDateTime = datetime!(2026-11-30 10:00 UTC);

struct Fakes {
    reactions: MockReactionRepository,
    messages: MockMessageRepository,
    chats: MockChatRepository,
    events: MockEventPublisher,
}

fn message(deleted: bool) -> Message {
    // As storage answers a message with no reactions yet.
    Message {
        id: MessageId::new(),
        chat_id: ChatId::new(),
        seq: 7,
        sender_id: UserId::new(),
        content: if deleted { String::new() } else { "hi".into() },
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
        deleted_at: deleted.then_some(NOW),
        metadata: Metadata::default(),
        pinned: None,
        reactions: Some(Vec::new()),
        attachments: Vec::new(),
    }
}

fn thumbs() -> Reaction {
    Reaction::new("👍").expect("valid")
}

impl Fakes {
    /// A world holding `message`, where the caller is a member of its
    /// chat (or not).
    fn new(message: &Message, member: bool) -> Self {
        let mut messages = MockMessageRepository::new();
        let stored = message.clone();
        messages
            .expect_find()
            .returning(move |id| Ok((id == stored.id).then(|| stored.clone())));
        let mut chats = MockChatRepository::new();
        chats
            .expect_find_membership()
            .returning(move |chat_id, user_id| {
                Ok(member.then(|| Membership {
                    chat: Chat {
                        id: chat_id,
                        kind: ChatKind::Group,
                        title: None,
                        created_by: user_id,
                        created_at: NOW,
                        last_seq: 7,
                        last_activity_at: NOW,
                        metadata: Metadata::default(),
                    },
                    member: ChatMember {
                        user_id,
                        role: MemberRole::Member,
                        joined_at: NOW,
                        last_read_seq: 0,
                    },
                }))
            });
        let mut reactions = MockReactionRepository::new();
        reactions.expect_summaries().returning(|viewer, ids| {
            let _ = viewer;
            Ok(ids
                .iter()
                .map(|id| {
                    let summary = ReactionSummary {
                        reaction: thumbs(),
                        count: 1,
                        me: true,
                    };
                    (*id, vec![summary])
                })
                .collect::<HashMap<_, _>>())
        });
        Self {
            reactions,
            messages,
            chats,
            events: MockEventPublisher::new(),
        }
    }

    fn no_events(mut self) -> Self {
        self.events.expect_publish().never();
        self
    }

    fn service(self) -> ReactionService {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        ReactionService::new(
            Arc::new(self.reactions),
            Arc::new(self.messages),
            Arc::new(self.chats),
            Arc::new(self.events),
            Arc::new(clock),
        )
    }
}

#[test]
fn a_members_new_reaction_is_stored_announced_once_and_answered_with_the_counts() {
    let (caller, target) = (UserId::new(), message(false));
    let mut fakes = Fakes::new(&target, true);
    let (id, chat_id) = (target.id, target.chat_id);
    fakes
        .reactions
        .expect_add()
        .withf(move |m, u, r, at| *m == id && *u == caller && r.as_str() == "👍" && *at == NOW)
        .times(1)
        .returning(|_, _, _, _| Ok(Some(Added::Added)));
    fakes
        .events
        .expect_publish()
        .withf(move |e| {
            *e == Event::Reaction {
                chat_id,
                message_id: id,
                seq: 7,
                reaction: thumbs(),
                user_id: caller,
                added: true,
            }
        })
        .times(1)
        .returning(|_| ());

    let answered = block_on(fakes.service().add(caller, id, thumbs())).expect("added");

    let reactions = answered.reactions.expect("read for the caller");
    assert_eq!(reactions[0].count, 1);
    assert!(reactions[0].me);
}

#[test]
fn adding_a_reaction_twice_changes_nothing_and_announces_nothing() {
    let target = message(false);
    let mut fakes = Fakes::new(&target, true).no_events();
    fakes
        .reactions
        .expect_add()
        .returning(|_, _, _, _| Ok(Some(Added::AlreadyThere)));

    block_on(fakes.service().add(UserId::new(), target.id, thumbs())).expect("idempotent");
}

#[test]
fn the_fifty_first_distinct_reaction_is_refused_naming_the_reaction() {
    let target = message(false);
    let mut fakes = Fakes::new(&target, true).no_events();
    fakes
        .reactions
        .expect_add()
        .returning(|_, _, _, _| Ok(Some(Added::TooMany)));

    match block_on(fakes.service().add(UserId::new(), target.id, thumbs())) {
        Err(MessageError::Invalid { field, .. }) => assert_eq!(field, "reaction"),
        other => panic!("expected a 422 on reaction, got {other:?}"),
    }
}

#[test]
fn a_stranger_can_neither_react_nor_unreact_nor_list_and_learns_nothing() {
    let target = message(false);
    let mut fakes = Fakes::new(&target, false).no_events();
    fakes.reactions.expect_add().never();
    fakes.reactions.expect_remove().never();
    fakes.reactions.expect_reactors().never();
    let service = fakes.service();
    let caller = UserId::new();

    for result in [
        block_on(service.add(caller, target.id, thumbs())).map(|_| ()),
        block_on(service.remove(caller, target.id, thumbs())),
        block_on(service.reactors(
            caller,
            target.id,
            thumbs(),
            None,
            ReactorLimit::new(10).expect("valid"),
        ))
        .map(|_| ()),
        block_on(service.add(caller, MessageId::new(), thumbs())).map(|_| ()),
    ] {
        assert!(matches!(result, Err(MessageError::NotFound)), "{result:?}");
    }
}

#[test]
fn a_tombstone_takes_no_reaction_even_when_deleted_meanwhile() {
    let tombstone = message(true);
    let mut fakes = Fakes::new(&tombstone, true).no_events();
    fakes.reactions.expect_add().never();
    let result = block_on(fakes.service().add(UserId::new(), tombstone.id, thumbs()));
    assert!(matches!(result, Err(MessageError::Deleted)), "{result:?}");

    // Live when read, a tombstone by the time the row lock was taken.
    let live = message(false);
    let mut fakes = Fakes::new(&live, true).no_events();
    fakes
        .reactions
        .expect_add()
        .returning(|_, _, _, _| Ok(None));
    let result = block_on(fakes.service().add(UserId::new(), live.id, thumbs()));
    assert!(matches!(result, Err(MessageError::Deleted)), "{result:?}");
}

#[test]
fn taking_a_reaction_back_is_announced_only_when_there_was_one() {
    let (caller, target) = (UserId::new(), message(false));
    let mut fakes = Fakes::new(&target, true);
    let mut removed = true;
    fakes
        .reactions
        .expect_remove()
        .times(2)
        .returning(move |_, _, _| {
            let was = removed;
            removed = false;
            Ok(was)
        });
    fakes
        .events
        .expect_publish()
        .withf(|e| {
            matches!(
                e,
                Event::Reaction {
                    added: false,
                    seq: 7,
                    ..
                }
            )
        })
        .times(1)
        .returning(|_| ());
    let service = fakes.service();

    block_on(service.remove(caller, target.id, thumbs())).expect("removed");
    block_on(service.remove(caller, target.id, thumbs())).expect("idempotent");
}

#[test]
fn reactors_are_paged_with_one_extra_row_to_know_whether_more_follow() {
    let target = message(false);
    let mut fakes = Fakes::new(&target, true);
    let reactors: Vec<Reactor> = (0..3)
        .map(|i| Reactor {
            user_id: UserId::new(),
            at: NOW + time::Duration::seconds(i),
        })
        .collect();
    let all = reactors.clone();
    fakes
        .reactions
        .expect_reactors()
        .withf(|_, _, after, limit| after.is_none() && *limit == 3)
        .returning(move |_, _, _, _| Ok(all.clone()));

    let (page, next) = block_on(fakes.service().reactors(
        UserId::new(),
        target.id,
        thumbs(),
        None,
        ReactorLimit::new(2).expect("valid"),
    ))
    .expect("page");

    assert_eq!(page, reactors[..2]);
    assert_eq!(next, Some(reactors[1].clone()));
}
