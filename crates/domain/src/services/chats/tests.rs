use futures_executor::block_on;
use time::macros::datetime;

use super::*;
use crate::metadata::Metadata;
use crate::ports::{MockChatRepository, MockClock, MockEventPublisher, MockUserRepository};

const NOW: time::OffsetDateTime = datetime!(2026-11-22 10:00 UTC);
const LIMITS: ChatLimits = ChatLimits {
    max_group_members: 3,
};

struct Fakes {
    chats: MockChatRepository,
    users: MockUserRepository,
    events: MockEventPublisher,
}

impl Fakes {
    fn new() -> Self {
        Self {
            chats: MockChatRepository::new(),
            users: MockUserRepository::new(),
            events: MockEventPublisher::new(),
        }
    }

    fn all_users_exist(mut self) -> Self {
        self.users
            .expect_find_existing()
            .returning(|ids| Ok(ids.to_vec()));
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

    fn service(self) -> ChatService {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        ChatService::new(
            Arc::new(self.chats),
            Arc::new(self.users),
            Arc::new(self.events),
            Arc::new(clock),
            LIMITS,
        )
    }
}

fn chat(kind: ChatKind) -> Chat {
    Chat {
        id: ChatId::new(),
        kind,
        title: (kind == ChatKind::Group).then(|| ChatTitle::new("Team").expect("valid")),
        created_by: UserId::new(),
        created_at: NOW,
        last_seq: 0,
        last_activity_at: NOW,
        metadata: Metadata::default(),
    }
}

fn member(user_id: UserId, role: MemberRole) -> ChatMember {
    ChatMember {
        user_id,
        role,
        joined_at: NOW,
        last_read_seq: 0,
    }
}

fn membership(chat: &Chat, user: UserId, role: MemberRole) -> Membership {
    Membership {
        chat: chat.clone(),
        member: member(user, role),
    }
}

fn details_of(chat: &Chat, members: Vec<ChatMember>) -> ChatDetails {
    ChatDetails {
        chat: chat.clone(),
        member_count: members.len() as u64,
        members,
        last_message: None,
        unread_count: 0,
        mention_count: 0,
    }
}

fn group_request(member_ids: Vec<UserId>) -> CreateChat {
    CreateChat {
        kind: ChatKind::Group,
        title: Some(ChatTitle::new("Team").expect("valid")),
        member_ids,
        id: None,
        metadata: Metadata::default(),
    }
}

fn assert_invalid(result: Result<impl std::fmt::Debug, ChatError>, expected_field: &str) {
    match result {
        Err(ChatError::Invalid { field, .. }) => assert_eq!(field, expected_field),
        other => panic!("expected Invalid({expected_field}), got {other:?}"),
    }
}

// ---- creation ----

#[test]
fn creating_a_group_makes_the_caller_owner_and_the_others_members() {
    let caller = UserId::new();
    let (a, b) = (UserId::new(), UserId::new());
    let mut fakes = Fakes::new()
        .all_users_exist()
        .expect_event(|e| matches!(e, Event::ChatCreated(_)));
    fakes
        .chats
        .expect_insert_group()
        .withf(move |chat, members| {
            let roles: Vec<(UserId, MemberRole)> =
                members.iter().map(|m| (m.user_id, m.role)).collect();
            chat.kind == ChatKind::Group
                && chat.created_by == caller
                && chat.last_seq == 0
                && roles
                    == [
                        (caller, MemberRole::Owner),
                        (a, MemberRole::Member),
                        (b, MemberRole::Member),
                    ]
        })
        .times(1)
        .returning(|_, _| Ok(InsertChatOutcome::Created));
    fakes
        .chats
        .expect_details()
        .returning(|_, _| Ok(Some(details_of(&chat(ChatKind::Group), vec![]))));
    let service = fakes.service();

    // duplicates and the caller themself in member_ids are ignored
    let (_, created) = block_on(service.create_chat(caller, group_request(vec![a, caller, b, a])))
        .expect("created");

    assert!(created);
}

#[test]
fn a_group_needs_a_title() {
    let service = Fakes::new().no_events().service();
    let mut request = group_request(vec![]);
    request.title = None;

    assert_invalid(
        block_on(service.create_chat(UserId::new(), request)),
        "title",
    );
}

#[test]
fn a_group_may_not_exceed_the_member_limit_counting_the_creator() {
    let service = Fakes::new().all_users_exist().no_events().service();
    let three_others = vec![UserId::new(), UserId::new(), UserId::new()];

    assert_invalid(
        block_on(service.create_chat(UserId::new(), group_request(three_others))),
        "member_ids",
    );
}

#[test]
fn unknown_member_ids_are_refused_before_anything_is_stored() {
    let known = UserId::new();
    let mut fakes = Fakes::new().no_events();
    fakes
        .users
        .expect_find_existing()
        .returning(move |_| Ok(vec![known]));
    fakes.chats.expect_insert_group().never();
    let service = fakes.service();

    let result =
        block_on(service.create_chat(UserId::new(), group_request(vec![known, UserId::new()])));

    assert_invalid(result, "member_ids");
}

#[test]
fn a_direct_chat_needs_exactly_one_other_user_and_no_title() {
    let caller = UserId::new();
    let service = Fakes::new().all_users_exist().no_events().service();
    let direct = |member_ids: Vec<UserId>, title: Option<&str>| CreateChat {
        kind: ChatKind::Direct,
        title: title.map(|t| ChatTitle::new(t).expect("valid")),
        member_ids,
        id: None,
        metadata: Metadata::default(),
    };

    assert_invalid(
        block_on(service.create_chat(caller, direct(vec![], None))),
        "member_ids",
    );
    assert_invalid(
        block_on(service.create_chat(caller, direct(vec![caller], None))),
        "member_ids",
    );
    assert_invalid(
        block_on(service.create_chat(caller, direct(vec![UserId::new(), UserId::new()], None))),
        "member_ids",
    );
    assert_invalid(
        block_on(service.create_chat(caller, direct(vec![UserId::new()], Some("Hi")))),
        "title",
    );
}

#[test]
fn an_existing_direct_chat_is_returned_without_a_new_event() {
    let existing = chat(ChatKind::Direct);
    let existing_id = existing.id;
    let mut fakes = Fakes::new().all_users_exist().no_events();
    fakes
        .chats
        .expect_insert_direct()
        .returning(move |_, _| Ok(InsertChatOutcome::Existing(existing_id)));
    fakes
        .chats
        .expect_details()
        .withf(move |id, _| *id == existing_id)
        .returning(move |_, _| Ok(Some(details_of(&existing, vec![]))));
    let service = fakes.service();
    let request = CreateChat {
        kind: ChatKind::Direct,
        title: None,
        member_ids: vec![UserId::new()],
        id: None,
        metadata: Metadata::default(),
    };

    let (details, created) = block_on(service.create_chat(UserId::new(), request)).expect("ok");

    assert!(!created);
    assert_eq!(details.chat.id, existing_id);
}

// ---- visibility ----

#[test]
fn a_non_member_gets_not_found_for_a_chat() {
    let mut fakes = Fakes::new();
    fakes.chats.expect_details().returning(|_, _| Ok(None));
    let service = fakes.service();

    let result = block_on(service.get_chat(UserId::new(), ChatId::new()));

    assert!(matches!(result, Err(ChatError::NotFound)));
}

#[test]
fn listing_fetches_one_extra_chat_to_know_whether_there_is_a_next_page() {
    let caller = UserId::new();
    let chats: Vec<Chat> = (0..3).map(|_| chat(ChatKind::Group)).collect();
    let third_id = chats[1].id;
    let mut fakes = Fakes::new();
    let listed = chats.clone();
    fakes
        .chats
        .expect_list_for_member()
        .withf(|_, limit, after| *limit == 3 && after.is_none())
        .returning(move |_, _, _| Ok(listed.iter().map(|c| details_of(c, vec![])).collect()));
    let service = fakes.service();

    let (page, next) = block_on(service.list_chats(caller, 2, None)).expect("listed");

    assert_eq!(page.len(), 2);
    assert_eq!(next.map(|c| c.chat_id), Some(third_id));
    assert_invalid(block_on(service.list_chats(caller, 0, None)), "limit");
    assert_invalid(block_on(service.list_chats(caller, 101, None)), "limit");
}

// ---- rename ----

fn with_membership(mut fakes: Fakes, chat: &Chat, user: UserId, role: MemberRole) -> Fakes {
    let found = membership(chat, user, role);
    fakes
        .chats
        .expect_find_membership()
        .returning(move |_, _| Ok(Some(found.clone())));
    fakes
}

fn rename(title: &str) -> UpdateChat {
    UpdateChat {
        title: Some(ChatTitle::new(title).expect("valid")),
        metadata: None,
    }
}

#[test]
fn renaming_is_for_owners_and_admins_of_groups_only() {
    let user = UserId::new();
    let title = || rename("New");

    let group = chat(ChatKind::Group);
    let member =
        with_membership(Fakes::new().no_events(), &group, user, MemberRole::Member).service();
    assert!(matches!(
        block_on(member.update_chat(user, group.id, title())),
        Err(ChatError::Forbidden(_))
    ));

    let direct = chat(ChatKind::Direct);
    let owner =
        with_membership(Fakes::new().no_events(), &direct, user, MemberRole::Owner).service();
    assert!(matches!(
        block_on(owner.update_chat(user, direct.id, title())),
        Err(ChatError::NotAGroup)
    ));

    let mut stranger = Fakes::new().no_events();
    stranger
        .chats
        .expect_find_membership()
        .returning(|_, _| Ok(None));
    assert!(matches!(
        block_on(stranger.service().update_chat(user, group.id, title())),
        Err(ChatError::NotFound)
    ));
}

#[test]
fn an_admin_renames_a_group_and_an_event_is_published() {
    let user = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(
        Fakes::new().expect_event(|e| matches!(e, Event::ChatUpdated(_))),
        &group,
        user,
        MemberRole::Admin,
    );
    fakes
        .chats
        .expect_update()
        .withf(|_, title, metadata| {
            title.map(ChatTitle::as_str) == Some("New") && metadata.is_none()
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    let details = details_of(&group, vec![]);
    fakes
        .chats
        .expect_details()
        .returning(move |_, _| Ok(Some(details.clone())));

    block_on(fakes.service().update_chat(user, group.id, rename("New"))).expect("renamed");
}

#[test]
fn the_owner_of_a_direct_chat_sets_its_metadata_but_nothing_is_not_a_change() {
    let user = UserId::new();
    let direct = chat(ChatKind::Direct);
    let metadata = Metadata::new(serde_json::json!({"external_id": "conv-9"})).expect("valid");
    let expected = metadata.clone();
    let mut fakes = with_membership(
        Fakes::new().expect_event(|e| matches!(e, Event::ChatUpdated(_))),
        &direct,
        user,
        MemberRole::Owner,
    );
    fakes
        .chats
        .expect_update()
        .withf(move |_, title, metadata| title.is_none() && *metadata == Some(&expected))
        .times(1)
        .returning(|_, _, _| Ok(()));
    let details = details_of(&direct, vec![]);
    fakes
        .chats
        .expect_details()
        .returning(move |_, _| Ok(Some(details.clone())));
    let service = fakes.service();

    let update = UpdateChat {
        title: None,
        metadata: Some(metadata),
    };
    block_on(service.update_chat(user, direct.id, update)).expect("updated");
    assert_invalid(
        block_on(service.update_chat(user, direct.id, UpdateChat::default())),
        "body",
    );
}

// ---- own ids ----

fn creating_with_id(
    outcome: InsertChatOutcome,
    visible: bool,
) -> Result<(ChatDetails, bool), ChatError> {
    let caller = UserId::new();
    let own_id = ChatId::new();
    let mut fakes = Fakes::new().all_users_exist().no_events();
    fakes
        .chats
        .expect_insert_group()
        .withf(move |chat, _| chat.id == own_id)
        .times(1)
        .returning(move |_, _| Ok(outcome));
    let mut existing = chat(ChatKind::Group);
    existing.id = own_id;
    let details = details_of(&existing, vec![]);
    fakes
        .chats
        .expect_details()
        .withf(move |id, viewer| *id == own_id && *viewer == caller)
        .returning(move |_, _| Ok(visible.then(|| details.clone())));
    let mut request = group_request(vec![]);
    request.id = Some(own_id);
    block_on(fakes.service().create_chat(caller, request))
}

#[test]
fn an_own_id_taken_by_a_chat_the_caller_sees_answers_that_chat_else_a_conflict() {
    let (existing, created) = creating_with_id(InsertChatOutcome::IdTaken, true).expect("theirs");
    assert!(!created, "nothing new, no event");
    assert_eq!(existing.chat.kind, ChatKind::Group);

    assert!(matches!(
        creating_with_id(InsertChatOutcome::IdTaken, false),
        Err(ChatError::IdTaken)
    ));
}

// ---- delete ----

#[test]
fn only_the_owner_deletes_a_chat() {
    let user = UserId::new();
    let group = chat(ChatKind::Group);
    let mut admin = with_membership(Fakes::new().no_events(), &group, user, MemberRole::Admin);
    admin.chats.expect_delete().never();

    let result = block_on(admin.service().delete_chat(user, group.id));

    assert!(matches!(result, Err(ChatError::Forbidden(_))));
}

#[test]
fn deleting_tells_every_former_member() {
    let owner = UserId::new();
    let other = UserId::new();
    let group = chat(ChatKind::Group);
    let group_id = group.id;
    let mut fakes = with_membership(
        Fakes::new().expect_event(move |e| {
            *e == Event::ChatDeleted {
                chat_id: group_id,
                member_ids: vec![owner, other],
            }
        }),
        &group,
        owner,
        MemberRole::Owner,
    );
    fakes.chats.expect_members().returning(move |_| {
        Ok(vec![
            member(owner, MemberRole::Owner),
            member(other, MemberRole::Member),
        ])
    });
    fakes.chats.expect_delete().times(1).returning(|_| Ok(()));

    block_on(fakes.service().delete_chat(owner, group.id)).expect("deleted");
}

// ---- add member ----

#[test]
fn adding_members_is_for_owners_and_admins_of_groups_only() {
    let user = UserId::new();
    let group = chat(ChatKind::Group);
    let member =
        with_membership(Fakes::new().no_events(), &group, user, MemberRole::Member).service();
    assert!(matches!(
        block_on(member.add_member(user, group.id, UserId::new(), MemberRole::Member)),
        Err(ChatError::Forbidden(_))
    ));

    let direct = chat(ChatKind::Direct);
    let owner =
        with_membership(Fakes::new().no_events(), &direct, user, MemberRole::Owner).service();
    assert!(matches!(
        block_on(owner.add_member(user, direct.id, UserId::new(), MemberRole::Member)),
        Err(ChatError::NotAGroup)
    ));
}

#[test]
fn nobody_can_be_added_as_a_second_owner() {
    let user = UserId::new();
    let group = chat(ChatKind::Group);
    let service =
        with_membership(Fakes::new().no_events(), &group, user, MemberRole::Owner).service();

    assert_invalid(
        block_on(service.add_member(user, group.id, UserId::new(), MemberRole::Owner)),
        "role",
    );
}

#[test]
fn adding_an_unknown_user_is_invalid() {
    let user = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(Fakes::new().no_events(), &group, user, MemberRole::Admin);
    fakes.users.expect_find_existing().returning(|_| Ok(vec![]));
    fakes.chats.expect_add_member().never();

    assert_invalid(
        block_on(
            fakes
                .service()
                .add_member(user, group.id, UserId::new(), MemberRole::Member),
        ),
        "user_id",
    );
}

fn adding(
    outcome: AddMemberOutcome,
    fakes: Fakes,
    user: UserId,
    group: &Chat,
) -> Result<ChatDetails, ChatError> {
    let mut fakes = with_membership(fakes.all_users_exist(), group, user, MemberRole::Owner);
    fakes
        .chats
        .expect_add_member()
        .withf(|_, m, max| m.role == MemberRole::Admin && *max == LIMITS.max_group_members)
        .returning(move |_, _, _| Ok(outcome));
    let details = details_of(group, vec![]);
    fakes
        .chats
        .expect_details()
        .returning(move |_, _| Ok(Some(details.clone())));
    block_on(
        fakes
            .service()
            .add_member(user, group.id, UserId::new(), MemberRole::Admin),
    )
}

#[test]
fn a_newcomer_starts_with_the_chat_read_up_to_its_last_message() {
    let user = UserId::new();
    let mut group = chat(ChatKind::Group);
    group.last_seq = 41;
    let mut fakes = with_membership(
        Fakes::new()
            .all_users_exist()
            .expect_event(|e| matches!(e, Event::MemberAdded { .. })),
        &group,
        user,
        MemberRole::Owner,
    );
    fakes
        .chats
        .expect_add_member()
        .withf(|_, m, _| m.last_read_seq == 41)
        .times(1)
        .returning(|_, _, _| Ok(AddMemberOutcome::Added));
    let details = details_of(&group, vec![]);
    fakes
        .chats
        .expect_details()
        .returning(move |_, _| Ok(Some(details.clone())));

    block_on(
        fakes
            .service()
            .add_member(user, group.id, UserId::new(), MemberRole::Member),
    )
    .expect("added");
}

#[test]
fn adding_a_new_member_publishes_member_added() {
    let group = chat(ChatKind::Group);
    let fakes = Fakes::new().expect_event(|e| matches!(e, Event::MemberAdded { .. }));
    adding(AddMemberOutcome::Added, fakes, UserId::new(), &group).expect("added");
}

#[test]
fn adding_an_existing_member_is_a_silent_no_op() {
    let group = chat(ChatKind::Group);
    adding(
        AddMemberOutcome::AlreadyMember,
        Fakes::new().no_events(),
        UserId::new(),
        &group,
    )
    .expect("no-op");
}

#[test]
fn adding_to_a_full_group_is_invalid() {
    let group = chat(ChatKind::Group);
    assert_invalid(
        adding(
            AddMemberOutcome::Full,
            Fakes::new().no_events(),
            UserId::new(),
            &group,
        ),
        "user_id",
    );
}

// ---- remove member ----

fn removal(caller_role: MemberRole, target_role: MemberRole) -> Result<(), ChatError> {
    let caller = UserId::new();
    let target = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(Fakes::new(), &group, caller, caller_role);
    fakes.chats.expect_members().returning(move |_| {
        Ok(vec![
            member(caller, caller_role),
            member(target, target_role),
        ])
    });
    fakes
        .chats
        .expect_remove_member()
        .withf(move |_, r| r.user_id == target && r.role == target_role && r.new_owner.is_none())
        .returning(|_, _| Ok(RemoveMemberOutcome::Removed));
    fakes.events.expect_publish().returning(|_| ());
    block_on(fakes.service().remove_member(caller, group.id, target))
}

#[test]
fn owners_and_admins_remove_others_but_nobody_removes_the_owner() {
    assert!(removal(MemberRole::Owner, MemberRole::Admin).is_ok());
    assert!(removal(MemberRole::Owner, MemberRole::Member).is_ok());
    assert!(removal(MemberRole::Admin, MemberRole::Member).is_ok());
    assert!(removal(MemberRole::Admin, MemberRole::Admin).is_ok());
    assert!(matches!(
        removal(MemberRole::Admin, MemberRole::Owner),
        Err(ChatError::Forbidden(_))
    ));
    assert!(matches!(
        removal(MemberRole::Member, MemberRole::Member),
        Err(ChatError::Forbidden(_))
    ));
}

#[test]
fn anyone_may_leave_and_the_others_are_told() {
    let caller = UserId::new();
    let group = chat(ChatKind::Group);
    let group_id = group.id;
    let mut fakes = with_membership(
        Fakes::new().expect_event(move |e| {
            *e == Event::MemberRemoved {
                chat_id: group_id,
                user_id: caller,
            }
        }),
        &group,
        caller,
        MemberRole::Member,
    );
    fakes.chats.expect_members().returning(move |_| {
        Ok(vec![
            member(UserId::new(), MemberRole::Owner),
            member(caller, MemberRole::Member),
        ])
    });
    fakes
        .chats
        .expect_remove_member()
        .withf(move |_, r| r.user_id == caller && r.new_owner.is_none())
        .times(1)
        .returning(|_, _| Ok(RemoveMemberOutcome::Removed));

    block_on(fakes.service().remove_member(caller, group.id, caller)).expect("left");
}

#[test]
fn when_the_owner_leaves_the_longest_standing_admin_becomes_owner() {
    let owner = UserId::new();
    let old_member = UserId::new();
    let admin = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(Fakes::new(), &group, owner, MemberRole::Owner);
    fakes.chats.expect_members().returning(move |_| {
        let mut early = member(old_member, MemberRole::Member);
        early.joined_at = NOW - time::Duration::days(1);
        Ok(vec![
            member(owner, MemberRole::Owner),
            early,
            member(admin, MemberRole::Admin),
        ])
    });
    fakes
        .chats
        .expect_remove_member()
        .withf(move |_, r| {
            r.user_id == owner && r.role == MemberRole::Owner && r.new_owner == Some(admin)
        })
        .times(1)
        .returning(|_, _| Ok(RemoveMemberOutcome::Removed));
    fakes.events.expect_publish().returning(|_| ());

    block_on(fakes.service().remove_member(owner, group.id, owner)).expect("left");
}

#[test]
fn a_stale_plan_is_made_again_from_fresh_members() {
    // The owner leaves while their chosen successor leaves too: the
    // adapter refuses the first plan, and the second names whoever is
    // left, so the group keeps an owner.
    let owner = UserId::new();
    let (first_choice, second_choice) = (UserId::new(), UserId::new());
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(Fakes::new(), &group, owner, MemberRole::Owner);
    let mut reads = 0;
    fakes.chats.expect_members().times(2).returning(move |_| {
        reads += 1;
        let mut members = vec![member(owner, MemberRole::Owner)];
        if reads == 1 {
            members.push(member(first_choice, MemberRole::Admin));
        }
        members.push(member(second_choice, MemberRole::Member));
        Ok(members)
    });
    let mut seq = mockall::Sequence::new();
    fakes
        .chats
        .expect_remove_member()
        .withf(move |_, r| r.new_owner == Some(first_choice))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(RemoveMemberOutcome::Stale));
    fakes
        .chats
        .expect_remove_member()
        .withf(move |_, r| r.new_owner == Some(second_choice))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(RemoveMemberOutcome::Removed));
    fakes.events.expect_publish().times(1).returning(|_| ());

    block_on(fakes.service().remove_member(owner, group.id, owner)).expect("left");
}

#[test]
fn a_membership_that_never_settles_gives_up_with_unavailable() {
    let caller = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(Fakes::new().no_events(), &group, caller, MemberRole::Member);
    fakes.chats.expect_members().returning(move |_| {
        Ok(vec![
            member(UserId::new(), MemberRole::Owner),
            member(caller, MemberRole::Member),
        ])
    });
    fakes
        .chats
        .expect_remove_member()
        .times(REMOVAL_ATTEMPTS)
        .returning(|_, _| Ok(RemoveMemberOutcome::Stale));

    assert!(matches!(
        block_on(fakes.service().remove_member(caller, group.id, caller)),
        Err(ChatError::Infra(InfraError::Unavailable(_)))
    ));
}

#[test]
fn when_the_last_member_leaves_the_chat_is_deleted() {
    let owner = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(
        Fakes::new().expect_event(|e| matches!(e, Event::ChatDeleted { .. })),
        &group,
        owner,
        MemberRole::Owner,
    );
    fakes
        .chats
        .expect_members()
        .returning(move |_| Ok(vec![member(owner, MemberRole::Owner)]));
    fakes.chats.expect_remove_member().never();
    fakes.chats.expect_delete().times(1).returning(|_| Ok(()));

    block_on(fakes.service().remove_member(owner, group.id, owner)).expect("deleted");
}

#[test]
fn removing_a_non_member_is_not_found_and_direct_chats_have_no_removal() {
    let caller = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(Fakes::new().no_events(), &group, caller, MemberRole::Owner);
    fakes
        .chats
        .expect_members()
        .returning(move |_| Ok(vec![member(caller, MemberRole::Owner)]));
    assert!(matches!(
        block_on(
            fakes
                .service()
                .remove_member(caller, group.id, UserId::new())
        ),
        Err(ChatError::NotFound)
    ));

    let direct = chat(ChatKind::Direct);
    let service =
        with_membership(Fakes::new().no_events(), &direct, caller, MemberRole::Owner).service();
    assert!(matches!(
        block_on(service.remove_member(caller, direct.id, caller)),
        Err(ChatError::NotAGroup)
    ));
}

// ---- read positions ----

fn read_state(chat_id: ChatId, user_id: UserId, last_read_seq: i64) -> ReadState {
    ReadState {
        chat_id,
        user_id,
        last_read_seq,
        unread_count: 0,
        mention_count: 0,
    }
}

#[test]
fn moving_the_read_position_publishes_chat_read() {
    let caller = UserId::new();
    let chat_id = ChatId::new();
    let mut fakes = Fakes::new().expect_event(move |e| {
        *e == Event::ChatRead {
            chat_id,
            user_id: caller,
            last_read_seq: 7,
        }
    });
    fakes
        .chats
        .expect_mark_read()
        .withf(|_, _, seq| *seq == 9)
        .returning(move |c, u, _| Ok(Some((read_state(c, u, 7), true))));

    let state = block_on(fakes.service().mark_read(caller, chat_id, 9)).expect("read");

    assert_eq!(state.last_read_seq, 7);
}

#[test]
fn a_read_position_that_does_not_move_publishes_nothing() {
    let mut fakes = Fakes::new().no_events();
    fakes
        .chats
        .expect_mark_read()
        .returning(|c, u, _| Ok(Some((read_state(c, u, 5), false))));

    block_on(fakes.service().mark_read(UserId::new(), ChatId::new(), 2)).expect("read");
}

#[test]
fn marking_read_needs_membership_and_a_non_negative_seq() {
    let mut fakes = Fakes::new().no_events();
    fakes.chats.expect_mark_read().returning(|_, _, _| Ok(None));
    let service = fakes.service();

    assert!(matches!(
        block_on(service.mark_read(UserId::new(), ChatId::new(), 1)),
        Err(ChatError::NotFound)
    ));
    assert_invalid(
        block_on(service.mark_read(UserId::new(), ChatId::new(), -1)),
        "seq",
    );
}

// ---- typing ----

#[test]
fn typing_is_relayed_for_members_only() {
    let user = UserId::new();
    let group = chat(ChatKind::Group);
    let group_id = group.id;
    let member = with_membership(
        Fakes::new().expect_event(move |e| {
            *e == Event::Typing {
                chat_id: group_id,
                user_id: user,
            }
        }),
        &group,
        user,
        MemberRole::Member,
    );
    assert!(block_on(member.service().typing(user, group.id, || true)).expect("relayed"));

    let mut stranger = Fakes::new().no_events();
    stranger
        .chats
        .expect_find_membership()
        .returning(|_, _| Ok(None));
    let asked = std::sync::atomic::AtomicBool::new(false);
    assert!(matches!(
        block_on(stranger.service().typing(user, group.id, || {
            asked.store(true, std::sync::atomic::Ordering::SeqCst);
            true
        })),
        Err(ChatError::NotFound)
    ));
    assert!(
        !asked.load(std::sync::atomic::Ordering::SeqCst),
        "a stranger never reaches the throttle"
    );
}

#[test]
fn typing_over_the_throttle_announces_nothing() {
    let user = UserId::new();
    let group = chat(ChatKind::Group);
    let member = with_membership(Fakes::new().no_events(), &group, user, MemberRole::Member);

    let announced = block_on(member.service().typing(user, group.id, || false)).expect("member");

    assert!(!announced);
}

// ---- member pages ----

#[test]
fn members_are_paged_for_members_only_with_a_cursor_after_the_last() {
    let caller = UserId::new();
    let group = chat(ChatKind::Group);
    let mut fakes = with_membership(Fakes::new().no_events(), &group, caller, MemberRole::Member);
    let page: Vec<ChatMember> = (0..3)
        .map(|_| member(UserId::new(), MemberRole::Member))
        .collect();
    let returned = page.clone();
    fakes
        .chats
        .expect_list_members()
        .withf(|_, limit, after| *limit == 3 && after.is_none())
        .times(1)
        .returning(move |_, _, _| Ok(returned.clone()));

    let (members, next) =
        block_on(fakes.service().list_members(caller, group.id, 2, None)).expect("page");

    assert_eq!(members, page[..2]);
    assert_eq!(
        next,
        Some(MemberCursor {
            joined_at: page[1].joined_at,
            user_id: page[1].user_id
        })
    );

    let mut stranger = Fakes::new().no_events();
    stranger
        .chats
        .expect_find_membership()
        .returning(|_, _| Ok(None));
    stranger.chats.expect_list_members().never();
    assert!(matches!(
        block_on(stranger.service().list_members(caller, group.id, 2, None)),
        Err(ChatError::NotFound)
    ));
    assert_invalid(
        block_on(
            Fakes::new()
                .service()
                .list_members(caller, group.id, 0, None),
        ),
        "limit",
    );
}
