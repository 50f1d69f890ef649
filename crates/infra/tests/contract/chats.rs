use std::sync::Arc;

use missive_domain::chat::{
    ChatCursor, ChatKind, ChatTitle, EMBEDDED_MEMBERS, MemberCursor, MemberRole,
};
use missive_domain::ids::{ChatId, UserId};
use missive_domain::metadata::Metadata;
use missive_domain::ports::{
    AddMemberOutcome, ChatRepository, InsertChatOutcome, MessageRepository, Removal,
    RemoveMemberOutcome,
};
use missive_infra::{SeaChatRepository, SeaMessageRepository, UNREAD_WINDOW};

use crate::support::{group, member, message, new_chat, now, on_each_backend, users};

#[tokio::test]
async fn a_group_is_seen_by_its_members_only_with_members_oldest_first() {
    on_each_backend(|db| async move {
        let people = users(&db, 4).await;
        let chat_id = group(&db, &people[..3]).await;
        let repo = SeaChatRepository::new(&db);

        let details = repo
            .details(chat_id, people[1])
            .await
            .expect("query")
            .expect("member");

        assert_eq!(details.chat.kind, ChatKind::Group);
        assert_eq!(
            details.chat.title.as_ref().map(ChatTitle::as_str),
            Some("Team")
        );
        let ids: Vec<UserId> = details.members.iter().map(|m| m.user_id).collect();
        assert_eq!(ids, people[..3]);
        assert_eq!(details.members[0].role, MemberRole::Owner);
        assert_eq!(
            (details.unread_count, details.last_message.is_none()),
            (0, true)
        );
        assert!(
            repo.details(chat_id, people[3])
                .await
                .expect("query")
                .is_none()
        );
        assert!(
            repo.find_membership(chat_id, people[3])
                .await
                .expect("query")
                .is_none()
        );
        assert!(
            repo.details(ChatId::new(), people[0])
                .await
                .expect("query")
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn one_direct_chat_per_pair_whichever_side_creates_it() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let repo = SeaChatRepository::new(&db);
        let first = new_chat(ChatKind::Direct, people[0]);
        let pair = [
            member(people[0], MemberRole::Owner),
            member(people[1], MemberRole::Member),
        ];
        assert_eq!(
            repo.insert_direct(&first, &pair).await.expect("insert"),
            InsertChatOutcome::Created
        );

        let reverse = [
            member(people[1], MemberRole::Owner),
            member(people[0], MemberRole::Member),
        ];
        let second = repo
            .insert_direct(&new_chat(ChatKind::Direct, people[1]), &reverse)
            .await
            .expect("insert");

        assert_eq!(second, InsertChatOutcome::Existing(first.id));
    })
    .await;
}

#[tokio::test]
async fn concurrent_direct_chat_creations_store_one_chat() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let repo = Arc::new(SeaChatRepository::new(&db));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let repo = Arc::clone(&repo);
                let people = people.clone();
                tokio::spawn(async move {
                    let pair = [
                        member(people[0], MemberRole::Owner),
                        member(people[1], MemberRole::Member),
                    ];
                    repo.insert_direct(&new_chat(ChatKind::Direct, people[0]), &pair)
                        .await
                })
            })
            .collect();

        let mut created = Vec::new();
        let mut existing = Vec::new();
        for task in tasks {
            match task.await.expect("task").expect("insert") {
                InsertChatOutcome::Created => created.push(()),
                InsertChatOutcome::Existing(id) => existing.push(id),
                InsertChatOutcome::IdTaken => panic!("fresh ids"),
            }
        }

        assert_eq!(created.len(), 1);
        assert_eq!(existing.len(), 9);
        let listed = repo
            .list_for_member(people[0], 50, None)
            .await
            .expect("list");
        assert_eq!(listed.len(), 1);
        assert!(existing.iter().all(|id| *id == listed[0].chat.id));
    })
    .await;
}

#[tokio::test]
async fn chats_are_listed_by_latest_activity_with_a_stable_cursor() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let mut chats = Vec::new();
        for _ in 0..4 {
            chats.push(group(&db, &people).await);
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        // A message makes the oldest chat the most recent.
        SeaMessageRepository::new(&db)
            .append(&message(chats[0], people[1], "bump", None))
            .await
            .expect("send");
        let repo = SeaChatRepository::new(&db);

        let first = repo
            .list_for_member(people[0], 2, None)
            .await
            .expect("list");
        let ids: Vec<ChatId> = first.iter().map(|c| c.chat.id).collect();
        assert_eq!(ids, [chats[0], chats[3]]);
        assert_eq!(
            first[0].unread_count, 1,
            "a message from someone else is unread"
        );
        assert_eq!(
            first[0].last_message.as_ref().map(|m| m.content.as_str()),
            Some("bump")
        );

        let last = &first[1];
        let cursor = ChatCursor {
            last_activity_at: last.chat.last_activity_at,
            chat_id: last.chat.id,
        };
        let second = repo
            .list_for_member(people[0], 5, Some(cursor))
            .await
            .expect("list");
        let ids: Vec<ChatId> = second.iter().map(|c| c.chat.id).collect();
        assert_eq!(ids, [chats[2], chats[1]]);
    })
    .await;
}

#[tokio::test]
async fn adding_members_respects_the_limit_and_is_idempotent() {
    on_each_backend(|db| async move {
        let people = users(&db, 4).await;
        let chat_id = group(&db, &people[..2]).await;
        let repo = SeaChatRepository::new(&db);

        let added = repo
            .add_member(chat_id, &member(people[2], MemberRole::Admin), 3)
            .await
            .expect("add");
        let again = repo
            .add_member(chat_id, &member(people[2], MemberRole::Member), 3)
            .await
            .expect("add");
        let full = repo
            .add_member(chat_id, &member(people[3], MemberRole::Member), 3)
            .await
            .expect("add");

        assert_eq!(
            (added, again, full),
            (
                AddMemberOutcome::Added,
                AddMemberOutcome::AlreadyMember,
                AddMemberOutcome::Full
            )
        );
        let roles: Vec<MemberRole> = repo
            .members(chat_id)
            .await
            .expect("members")
            .iter()
            .map(|m| m.role)
            .collect();
        assert_eq!(
            roles,
            [MemberRole::Owner, MemberRole::Member, MemberRole::Admin]
        );
    })
    .await;
}

#[tokio::test]
async fn removing_the_owner_can_hand_ownership_over_atomically() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaChatRepository::new(&db);
        let owner_leaves = Removal {
            user_id: people[0],
            role: MemberRole::Owner,
            new_owner: Some(people[2]),
        };

        assert_eq!(
            repo.remove_member(chat_id, &owner_leaves)
                .await
                .expect("remove"),
            RemoveMemberOutcome::Removed
        );
        assert_eq!(
            repo.remove_member(chat_id, &owner_leaves)
                .await
                .expect("again"),
            RemoveMemberOutcome::NotMember
        );

        let members = repo.members(chat_id).await.expect("members");
        let roles: Vec<(UserId, MemberRole)> =
            members.iter().map(|m| (m.user_id, m.role)).collect();
        assert_eq!(
            roles,
            [
                (people[1], MemberRole::Member),
                (people[2], MemberRole::Owner)
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_removal_whose_plan_no_longer_holds_changes_nothing() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaChatRepository::new(&db);
        let before = repo.members(chat_id).await.expect("members");

        // The target is the owner now, not the member the plan assumed.
        let wrong_role = Removal {
            user_id: people[0],
            role: MemberRole::Member,
            new_owner: None,
        };
        // The chosen successor has left meanwhile.
        let gone_successor = Removal {
            user_id: people[0],
            role: MemberRole::Owner,
            new_owner: Some(UserId::new()),
        };

        for plan in [wrong_role, gone_successor] {
            assert_eq!(
                repo.remove_member(chat_id, &plan).await.expect("remove"),
                RemoveMemberOutcome::Stale
            );
        }
        assert_eq!(repo.members(chat_id).await.expect("members"), before);
    })
    .await;
}

#[tokio::test]
async fn every_membership_change_and_only_a_change_bumps_the_version() {
    on_each_backend(|db| async move {
        let people = users(&db, 4).await;
        let chat_id = group(&db, &people[..2]).await;
        let other = group(&db, &people[..2]).await;
        let repo = SeaChatRepository::new(&db);
        let version = |chat| {
            let repo = repo.clone();
            async move {
                repo.chat_versions(&[chat])
                    .await
                    .expect("versions")
                    .first()
                    .map(|v| v.member_version)
            }
        };
        let start = version(chat_id).await.expect("exists");

        repo.add_member(chat_id, &member(people[2], MemberRole::Member), 3)
            .await
            .expect("add");
        let after_add = version(chat_id).await.expect("exists");
        repo.add_member(chat_id, &member(people[2], MemberRole::Member), 3)
            .await
            .expect("again");
        repo.add_member(chat_id, &member(people[3], MemberRole::Member), 3)
            .await
            .expect("full");
        let after_no_ops = version(chat_id).await.expect("exists");
        let removal = Removal {
            user_id: people[2],
            role: MemberRole::Member,
            new_owner: None,
        };
        repo.remove_member(chat_id, &removal).await.expect("remove");
        let after_remove = version(chat_id).await.expect("exists");

        assert!(after_add > start, "{start} -> {after_add}");
        assert_eq!(after_no_ops, after_add, "no-ops leave it");
        assert!(after_remove > after_add);
        let snapshot = repo
            .member_snapshot(chat_id)
            .await
            .expect("snapshot")
            .expect("exists");
        assert_eq!(snapshot.version.member_version, after_remove);
        assert_eq!(snapshot.version.last_seq, 0);
        assert_eq!(snapshot.members, repo.members(chat_id).await.expect("m"));

        let both = repo
            .chat_versions(&[chat_id, other, ChatId::new()])
            .await
            .expect("versions");
        assert_eq!(both.len(), 2, "unknown chats are left out");
        repo.delete(chat_id).await.expect("delete");
        assert_eq!(version(chat_id).await, None);
        assert!(
            repo.member_snapshot(chat_id)
                .await
                .expect("snapshot")
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn read_positions_move_forward_only_and_are_clamped() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        for i in 0..5 {
            messages
                .append(&message(chat_id, people[1], &format!("m{i}"), None))
                .await
                .expect("send");
        }
        let repo = SeaChatRepository::new(&db);

        let (state, moved) = repo
            .mark_read(chat_id, people[0], 2)
            .await
            .expect("read")
            .expect("member");
        assert_eq!(
            (state.last_read_seq, state.unread_count, moved),
            (2, 3, true)
        );

        let (state, moved) = repo
            .mark_read(chat_id, people[0], 1)
            .await
            .expect("read")
            .expect("member");
        assert_eq!(
            (state.last_read_seq, state.unread_count, moved),
            (2, 3, false),
            "never backwards"
        );

        let (state, moved) = repo
            .mark_read(chat_id, people[0], 99)
            .await
            .expect("read")
            .expect("member");
        assert_eq!(
            (state.last_read_seq, state.unread_count, moved),
            (5, 0, true),
            "clamped to last_seq"
        );

        assert!(
            repo.mark_read(chat_id, UserId::new(), 1)
                .await
                .expect("read")
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn unread_counts_skip_own_and_deleted_messages_near_and_far_from_the_read_position() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let (me, them) = (people[0], people[1]);
        let chat_id = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        let repo = SeaChatRepository::new(&db);
        let view = || {
            let repo = repo.clone();
            async move {
                let details = repo
                    .details(chat_id, me)
                    .await
                    .expect("details")
                    .expect("member");
                let position = details
                    .members
                    .iter()
                    .find(|m| m.user_id == me)
                    .map(|m| m.last_read_seq);
                (position, details.unread_count)
            }
        };
        let send = |from: UserId, text: String| {
            let messages = messages.clone();
            async move {
                let new = message(chat_id, from, &text, None);
                messages.append(&new).await.expect("send");
                new.id
            }
        };

        // Near the read position: rows are examined.
        let first = send(them, "theirs".into()).await;
        send(me, "mine".into()).await;
        send(them, "theirs again".into()).await;
        messages.soft_delete(first, now()).await.expect("delete");
        assert_eq!(
            view().await,
            (Some(0), 1),
            "3 positions: one mine, one deleted; sending near it moves nothing"
        );

        // Far beyond the window: positions are counted, deleted ones taken off.
        let window = usize::try_from(UNREAD_WINDOW).expect("small");
        let mut far = None;
        for i in 0..window {
            far = Some(send(them, format!("bulk {i}")).await);
        }
        messages
            .soft_delete(far.expect("sent"), now())
            .await
            .expect("delete");
        assert_eq!(
            view().await,
            (Some(0), u64::try_from(window).expect("small")),
            "1 + {window} of theirs, one of them deleted"
        );
        let listed = repo.list_for_member(me, 10, None).await.expect("list");
        assert_eq!(
            listed[0].unread_count,
            u64::try_from(window).expect("small")
        );

        // A sender that far behind catches up to their own message, and
        // the change log says so (sync shows read positions).
        let log = missive_infra::SeaChangeLog::new(&db);
        crate::support::settle(&db).await;
        let before = missive_domain::ports::ChangeLog::now(&log)
            .await
            .expect("now");
        send(me, "back".into()).await;
        let (position, unread) = view().await;
        let caught_up = i64::try_from(window).expect("small") + 4;
        assert_eq!((position, unread), (Some(caught_up), 0));
        crate::support::settle(&db).await;
        let page = missive_domain::ports::ChangeLog::read(&log, before, Some(me), 10, 100)
            .await
            .expect("read");
        let kinds: Vec<_> = page.changes.iter().map(|c| (c.kind, c.seq)).collect();
        assert_eq!(
            kinds,
            [
                (missive_domain::sync::ChangeKind::MessageCreated, None),
                (missive_domain::sync::ChangeKind::Read, Some(caught_up)),
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn a_newcomer_has_nothing_unread_from_before_they_joined() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let chat_id = group(&db, &people[..2]).await;
        let messages = SeaMessageRepository::new(&db);
        for i in 0..3 {
            messages
                .append(&message(chat_id, people[0], &format!("m{i}"), None))
                .await
                .expect("send");
        }
        let repo = SeaChatRepository::new(&db);
        let mut newcomer = member(people[2], MemberRole::Member);
        newcomer.last_read_seq = 3;
        repo.add_member(chat_id, &newcomer, 10).await.expect("add");
        messages
            .append(&message(chat_id, people[0], "after", None))
            .await
            .expect("send");

        let details = repo
            .details(chat_id, people[2])
            .await
            .expect("details")
            .expect("member");
        assert_eq!(details.unread_count, 1);
    })
    .await;
}

#[tokio::test]
async fn deleting_a_chat_takes_its_members_and_messages_with_it() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let chat_id = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        let sent = message(chat_id, people[1], "findable needle", None);
        messages.append(&sent).await.expect("send");
        let repo = SeaChatRepository::new(&db);

        repo.delete(chat_id).await.expect("delete");

        assert!(
            repo.details(chat_id, people[0])
                .await
                .expect("query")
                .is_none()
        );
        assert!(repo.members(chat_id).await.expect("members").is_empty());
        assert!(messages.find(sent.id).await.expect("find").is_none());
        let search = missive_domain::message::MessageFilter {
            chat_id: None,
            sender_id: None,
            role: None,
            since: None,
            until: None,
            metadata: vec![],
            terms: Some(missive_domain::search::SearchTerms::parse("needle").expect("valid")),
            before: None,
        };
        assert!(
            messages
                .list(people[0], &search, 10)
                .await
                .expect("search")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn a_big_groups_view_carries_its_first_members_the_viewer_and_the_count() {
    on_each_backend(|db| async move {
        let people = users(&db, EMBEDDED_MEMBERS + 5).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaChatRepository::new(&db);
        let latecomer = *people.last().expect("people");
        let in_order = repo.members(chat_id).await.expect("members");

        let details = repo
            .details(chat_id, latecomer)
            .await
            .expect("details")
            .expect("member");

        assert_eq!(details.member_count, (EMBEDDED_MEMBERS + 5) as u64);
        let embedded: Vec<UserId> = details.members.iter().map(|m| m.user_id).collect();
        let mut expected: Vec<UserId> = in_order[..EMBEDDED_MEMBERS]
            .iter()
            .map(|m| m.user_id)
            .collect();
        expected.push(latecomer);
        assert_eq!(embedded, expected, "the first members, then the viewer");
        let listed = repo
            .list_for_member(people[0], 10, None)
            .await
            .expect("list");
        assert_eq!(listed[0].members.len(), EMBEDDED_MEMBERS);
        assert_eq!(listed[0].member_count, (EMBEDDED_MEMBERS + 5) as u64);
    })
    .await;
}

#[tokio::test]
async fn members_page_in_joining_order_without_gaps_or_repeats_and_counts_follow() {
    on_each_backend(|db| async move {
        let people = users(&db, 23).await;
        let chat_id = group(&db, &people[..20]).await;
        let repo = SeaChatRepository::new(&db);
        for late in &people[20..] {
            repo.add_member(chat_id, &member(*late, MemberRole::Member), 100)
                .await
                .expect("add");
        }
        let removal = Removal {
            user_id: people[3],
            role: MemberRole::Member,
            new_owner: None,
        };
        repo.remove_member(chat_id, &removal).await.expect("remove");

        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = repo.list_members(chat_id, 5, after).await.expect("page");
            after = page.last().map(|m| MemberCursor {
                joined_at: m.joined_at,
                user_id: m.user_id,
            });
            seen.extend(page.iter().map(|m| m.user_id));
            if page.len() < 5 {
                break;
            }
        }

        let expected: Vec<UserId> = repo
            .members(chat_id)
            .await
            .expect("members")
            .iter()
            .map(|m| m.user_id)
            .collect();
        assert_eq!(seen, expected);
        assert_eq!(seen.len(), 22);
        let details = repo
            .details(chat_id, people[0])
            .await
            .expect("details")
            .expect("member");
        assert_eq!(details.member_count, 22);
    })
    .await;
}

#[tokio::test]
async fn a_chosen_id_is_stored_once_whoever_races_for_it() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let repo = Arc::new(SeaChatRepository::new(&db));
        let mut chosen = new_chat(ChatKind::Group, people[0]);
        chosen.metadata = Metadata::new(serde_json::json!({"source": "import"})).expect("valid");
        let members = vec![member(people[0], MemberRole::Owner)];
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (repo, chat, members) = (Arc::clone(&repo), chosen.clone(), members.clone());
                tokio::spawn(async move { repo.insert_group(&chat, &members).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task").expect("insert"));
        }
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == InsertChatOutcome::Created)
                .count(),
            1
        );
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, InsertChatOutcome::Created | InsertChatOutcome::IdTaken))
        );
        let stored = repo
            .details(chosen.id, people[0])
            .await
            .expect("details")
            .expect("member");
        assert_eq!(stored.chat.metadata, chosen.metadata);
        assert_eq!(stored.members.len(), 1);

        // A direct chat with a taken id: the pair has none, so IdTaken.
        let mut direct = new_chat(ChatKind::Direct, people[1]);
        direct.id = chosen.id;
        let pair = vec![
            member(people[1], MemberRole::Owner),
            member(people[2], MemberRole::Member),
        ];
        assert_eq!(
            repo.insert_direct(&direct, &pair).await.expect("insert"),
            InsertChatOutcome::IdTaken
        );
    })
    .await;
}

#[tokio::test]
async fn a_chats_title_and_metadata_change_apart() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaChatRepository::new(&db);
        let metadata = Metadata::new(serde_json::json!({"tags": ["a"]})).expect("valid");

        repo.update(chat_id, None, Some(&metadata))
            .await
            .expect("update");
        let title = ChatTitle::new("Renamed").expect("valid");
        repo.update(chat_id, Some(&title), None)
            .await
            .expect("update");

        let chat = repo
            .details(chat_id, people[0])
            .await
            .expect("details")
            .expect("member")
            .chat;
        assert_eq!(chat.metadata, metadata);
        assert_eq!(chat.title.as_ref().map(ChatTitle::as_str), Some("Renamed"));
    })
    .await;
}
