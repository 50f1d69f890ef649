//! Chats and memberships: seen by members only, one direct chat per pair,
//! membership changes atomic and versioned, read positions forward only.

use futures_util::future::join_all;
use time::Duration;

use super::Adapters;
use super::support::{group, member, message, new_chat, now, users};
use crate::chat::{
    ChatCursor, ChatKind, ChatMember, ChatTitle, EMBEDDED_MEMBERS, MemberCursor, MemberRole,
};
use crate::ids::{ChatId, UserId};
use crate::message::MessageFilter;
use crate::metadata::Metadata;
use crate::ports::{
    AddMemberOutcome, ChatRepository, InsertChatOutcome, Removal, RemoveMemberOutcome,
};
use crate::search::SearchTerms;

super::rules!("chats":
    a_group_is_seen_by_its_members_only_with_members_oldest_first,
    one_direct_chat_per_pair_whichever_side_creates_it,
    concurrent_direct_chat_creations_store_one_chat,
    chats_are_listed_by_latest_activity_with_a_stable_cursor,
    adding_members_respects_the_limit_and_is_idempotent,
    removing_the_owner_can_hand_ownership_over_atomically,
    a_removal_whose_plan_no_longer_holds_changes_nothing,
    every_membership_change_and_only_a_change_bumps_the_version,
    read_positions_move_forward_only_and_are_clamped,
    a_newcomer_has_nothing_unread_from_before_they_joined,
    deleting_a_chat_takes_its_members_and_messages_with_it,
    a_big_groups_view_carries_its_first_members_the_viewer_and_the_count,
    members_page_in_joining_order_without_gaps_or_repeats_and_counts_follow,
    a_chosen_id_is_stored_once_whoever_races_for_it,
    a_chats_title_and_metadata_change_apart,
    unread_counts_skip_own_and_deleted_messages,
);

/// The chat's membership version, or `None` when it does not exist.
async fn member_version(chats: &dyn ChatRepository, chat_id: ChatId) -> Option<i64> {
    chats
        .chat_versions(&[chat_id])
        .await
        .expect("versions")
        .first()
        .map(|v| v.member_version)
}

/// A group chat's details show it, its members oldest first (the owner
/// first), nothing unread and no last message — to members only; a
/// stranger or an unknown chat reads `None`.
pub async fn a_group_is_seen_by_its_members_only_with_members_oldest_first(a: &Adapters) {
    let people = users(a, 4).await;
    let chat_id = group(a, &people[..3]).await;

    let details = a
        .chats
        .details(chat_id, people[1])
        .await
        .expect("query")
        .expect("a member sees the chat");

    assert_eq!(details.chat.kind, ChatKind::Group);
    assert_eq!(
        details.chat.title.as_ref().map(ChatTitle::as_str),
        Some("Team")
    );
    let ids: Vec<UserId> = details.members.iter().map(|m| m.user_id).collect();
    assert_eq!(ids, people[..3], "every member, oldest first");
    assert_eq!(
        details.members[0].role,
        MemberRole::Owner,
        "the creator is the owner"
    );
    assert_eq!(
        (details.unread_count, details.last_message.is_none()),
        (0, true),
        "a new chat has nothing unread and no last message"
    );
    assert!(
        a.chats
            .details(chat_id, people[3])
            .await
            .expect("query")
            .is_none(),
        "a non-member does not see the chat's details"
    );
    assert!(
        a.chats
            .find_membership(chat_id, people[3])
            .await
            .expect("query")
            .is_none(),
        "a non-member has no membership"
    );
    assert!(
        a.chats
            .details(ChatId::new(), people[0])
            .await
            .expect("query")
            .is_none(),
        "an unknown chat has no details"
    );
}

/// A pair has one direct chat: creating it again, from either side, is
/// `Existing` with the first one's id.
pub async fn one_direct_chat_per_pair_whichever_side_creates_it(a: &Adapters) {
    let people = users(a, 2).await;
    let first = new_chat(ChatKind::Direct, people[0]);
    let pair = [
        member(people[0], MemberRole::Owner),
        member(people[1], MemberRole::Member),
    ];
    assert_eq!(
        a.chats.insert_direct(&first, &pair).await.expect("insert"),
        InsertChatOutcome::Created
    );

    let reverse = [
        member(people[1], MemberRole::Owner),
        member(people[0], MemberRole::Member),
    ];
    let second = a
        .chats
        .insert_direct(&new_chat(ChatKind::Direct, people[1]), &reverse)
        .await
        .expect("insert");

    assert_eq!(
        second,
        InsertChatOutcome::Existing(first.id),
        "the other side finds the pair's chat"
    );
}

/// Ten creations of one pair's direct chat at once store one chat; the
/// others are told its id.
pub async fn concurrent_direct_chat_creations_store_one_chat(a: &Adapters) {
    let people = users(a, 2).await;
    let pair = [
        member(people[0], MemberRole::Owner),
        member(people[1], MemberRole::Member),
    ];
    let attempts: Vec<_> = (0..10)
        .map(|_| new_chat(ChatKind::Direct, people[0]))
        .collect();
    let outcomes = join_all(
        attempts
            .iter()
            .map(|chat| a.chats.insert_direct(chat, &pair)),
    )
    .await;

    let mut created = Vec::new();
    let mut existing = Vec::new();
    for outcome in outcomes {
        match outcome.expect("insert") {
            InsertChatOutcome::Created => created.push(()),
            InsertChatOutcome::Existing(id) => existing.push(id),
            InsertChatOutcome::IdTaken => panic!("fresh ids are never taken"),
        }
    }

    assert_eq!(created.len(), 1, "exactly one creation stores the chat");
    assert_eq!(existing.len(), 9, "the others find it");
    let listed = a
        .chats
        .list_for_member(people[0], 50, None)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1, "one chat is stored");
    assert!(
        existing.iter().all(|id| *id == listed[0].chat.id),
        "every `Existing` names the stored chat: {existing:?} vs {:?}",
        listed[0].chat.id
    );
}

/// A member's chats are listed by latest activity (a message counts),
/// with the last message and the unread count, and a cursor continues
/// after the page's last chat.
pub async fn chats_are_listed_by_latest_activity_with_a_stable_cursor(a: &Adapters) {
    let people = users(a, 2).await;
    // Four groups active a second apart, the oldest first.
    let start = now() - Duration::seconds(10);
    let mut chats = Vec::new();
    for i in 0..4 {
        let mut chat = new_chat(ChatKind::Group, people[0]);
        chat.created_at = start + Duration::seconds(i);
        chat.last_activity_at = chat.created_at;
        let members: Vec<ChatMember> = vec![
            member(people[0], MemberRole::Owner),
            member(people[1], MemberRole::Member),
        ];
        a.chats
            .insert_group(&chat, &members)
            .await
            .expect("a group is stored");
        chats.push(chat.id);
    }
    // A message makes the oldest chat the most recent.
    a.messages
        .append(&message(chats[0], people[1], "bump", None))
        .await
        .expect("send");

    let first = a
        .chats
        .list_for_member(people[0], 2, None)
        .await
        .expect("list");
    let ids: Vec<ChatId> = first.iter().map(|c| c.chat.id).collect();
    assert_eq!(
        ids,
        [chats[0], chats[3]],
        "the chat with the message first, then the newest"
    );
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
    let second = a
        .chats
        .list_for_member(people[0], 5, Some(cursor))
        .await
        .expect("list");
    let ids: Vec<ChatId> = second.iter().map(|c| c.chat.id).collect();
    assert_eq!(
        ids,
        [chats[2], chats[1]],
        "the next page continues after the cursor"
    );
}

/// Adding a member is `Added`, then `AlreadyMember` (the role unchanged);
/// beyond `max_members` it is `Full` and stores nothing.
pub async fn adding_members_respects_the_limit_and_is_idempotent(a: &Adapters) {
    let people = users(a, 4).await;
    let chat_id = group(a, &people[..2]).await;

    let added = a
        .chats
        .add_member(chat_id, &member(people[2], MemberRole::Admin), 3)
        .await
        .expect("add");
    let again = a
        .chats
        .add_member(chat_id, &member(people[2], MemberRole::Member), 3)
        .await
        .expect("add");
    let full = a
        .chats
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
    let roles: Vec<MemberRole> = a
        .chats
        .members(chat_id)
        .await
        .expect("members")
        .iter()
        .map(|m| m.role)
        .collect();
    assert_eq!(
        roles,
        [MemberRole::Owner, MemberRole::Member, MemberRole::Admin],
        "the second addition changed no role, the third stored no one"
    );
}

/// The owner leaving with a successor removes them and makes the
/// successor owner; a second removal is `NotMember`.
pub async fn removing_the_owner_can_hand_ownership_over_atomically(a: &Adapters) {
    let people = users(a, 3).await;
    let chat_id = group(a, &people).await;
    let owner_leaves = Removal {
        user_id: people[0],
        role: MemberRole::Owner,
        new_owner: Some(people[2]),
    };

    assert_eq!(
        a.chats
            .remove_member(chat_id, &owner_leaves)
            .await
            .expect("remove"),
        RemoveMemberOutcome::Removed
    );
    assert_eq!(
        a.chats
            .remove_member(chat_id, &owner_leaves)
            .await
            .expect("again"),
        RemoveMemberOutcome::NotMember
    );

    let members = a.chats.members(chat_id).await.expect("members");
    let roles: Vec<(UserId, MemberRole)> = members.iter().map(|m| (m.user_id, m.role)).collect();
    assert_eq!(
        roles,
        [
            (people[1], MemberRole::Member),
            (people[2], MemberRole::Owner)
        ],
        "the owner is gone and the successor owns the chat"
    );
}

/// A removal planned for a role the target no longer has, or with a
/// successor who is no longer a member, is `Stale` and changes nothing.
pub async fn a_removal_whose_plan_no_longer_holds_changes_nothing(a: &Adapters) {
    let people = users(a, 3).await;
    let chat_id = group(a, &people).await;
    let before = a.chats.members(chat_id).await.expect("members");

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
            a.chats.remove_member(chat_id, &plan).await.expect("remove"),
            RemoveMemberOutcome::Stale,
            "{plan:?}"
        );
    }
    assert_eq!(
        a.chats.members(chat_id).await.expect("members"),
        before,
        "a stale removal changes no member"
    );
}

/// The membership version grows with every addition and removal and with
/// nothing else; a snapshot carries the current version and members;
/// versions of unknown or deleted chats are left out.
pub async fn every_membership_change_and_only_a_change_bumps_the_version(a: &Adapters) {
    let people = users(a, 4).await;
    let chat_id = group(a, &people[..2]).await;
    let other = group(a, &people[..2]).await;
    let chats = a.chats.as_ref();
    let start = member_version(chats, chat_id).await.expect("exists");

    chats
        .add_member(chat_id, &member(people[2], MemberRole::Member), 3)
        .await
        .expect("add");
    let after_add = member_version(chats, chat_id).await.expect("exists");
    chats
        .add_member(chat_id, &member(people[2], MemberRole::Member), 3)
        .await
        .expect("again");
    chats
        .add_member(chat_id, &member(people[3], MemberRole::Member), 3)
        .await
        .expect("full");
    let after_no_ops = member_version(chats, chat_id).await.expect("exists");
    let removal = Removal {
        user_id: people[2],
        role: MemberRole::Member,
        new_owner: None,
    };
    chats
        .remove_member(chat_id, &removal)
        .await
        .expect("remove");
    let after_remove = member_version(chats, chat_id).await.expect("exists");

    assert!(
        after_add > start,
        "an addition bumps the version: {start} -> {after_add}"
    );
    assert_eq!(after_no_ops, after_add, "no-ops leave it");
    assert!(
        after_remove > after_add,
        "a removal bumps the version: {after_add} -> {after_remove}"
    );
    let snapshot = chats
        .member_snapshot(chat_id)
        .await
        .expect("snapshot")
        .expect("exists");
    assert_eq!(
        snapshot.version.member_version, after_remove,
        "the snapshot carries the current version"
    );
    assert_eq!(snapshot.version.last_seq, 0, "no message was sent");
    assert_eq!(
        snapshot.members,
        chats.members(chat_id).await.expect("m"),
        "the snapshot carries the current members"
    );

    let both = chats
        .chat_versions(&[chat_id, other, ChatId::new()])
        .await
        .expect("versions");
    assert_eq!(both.len(), 2, "unknown chats are left out");
    chats.delete(chat_id).await.expect("delete");
    assert_eq!(
        member_version(chats, chat_id).await,
        None,
        "a deleted chat has no version"
    );
    assert!(
        chats
            .member_snapshot(chat_id)
            .await
            .expect("snapshot")
            .is_none(),
        "a deleted chat has no snapshot"
    );
}

/// `mark_read` moves a read position forward only, clamped to the chat's
/// last seq, and says whether it moved; a non-member gets `None`.
pub async fn read_positions_move_forward_only_and_are_clamped(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    for i in 0..5 {
        a.messages
            .append(&message(chat_id, people[1], &format!("m{i}"), None))
            .await
            .expect("send");
    }

    let (state, moved) = a
        .chats
        .mark_read(chat_id, people[0], 2)
        .await
        .expect("read")
        .expect("member");
    assert_eq!(
        (state.last_read_seq, state.unread_count, moved),
        (2, 3, true),
        "forward"
    );

    let (state, moved) = a
        .chats
        .mark_read(chat_id, people[0], 1)
        .await
        .expect("read")
        .expect("member");
    assert_eq!(
        (state.last_read_seq, state.unread_count, moved),
        (2, 3, false),
        "never backwards"
    );

    let (state, moved) = a
        .chats
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
        a.chats
            .mark_read(chat_id, UserId::new(), 1)
            .await
            .expect("read")
            .is_none(),
        "a non-member has no read position"
    );
}

/// A member added with the chat read up to its last message counts only
/// what is sent after they joined as unread.
pub async fn a_newcomer_has_nothing_unread_from_before_they_joined(a: &Adapters) {
    let people = users(a, 3).await;
    let chat_id = group(a, &people[..2]).await;
    for i in 0..3 {
        a.messages
            .append(&message(chat_id, people[0], &format!("m{i}"), None))
            .await
            .expect("send");
    }
    let mut newcomer = member(people[2], MemberRole::Member);
    newcomer.last_read_seq = 3;
    a.chats
        .add_member(chat_id, &newcomer, 10)
        .await
        .expect("add");
    a.messages
        .append(&message(chat_id, people[0], "after", None))
        .await
        .expect("send");

    let details = a
        .chats
        .details(chat_id, people[2])
        .await
        .expect("details")
        .expect("member");
    assert_eq!(
        details.unread_count, 1,
        "only the message after joining is unread"
    );
}

/// Deleting a chat deletes its members and messages: none is found, by
/// id or by search.
pub async fn deleting_a_chat_takes_its_members_and_messages_with_it(a: &Adapters) {
    let people = users(a, 2).await;
    let chat_id = group(a, &people).await;
    let sent = message(chat_id, people[1], "findable needle", None);
    a.messages.append(&sent).await.expect("send");

    a.chats.delete(chat_id).await.expect("delete");

    assert!(
        a.chats
            .details(chat_id, people[0])
            .await
            .expect("query")
            .is_none(),
        "a deleted chat has no details"
    );
    assert!(
        a.chats.members(chat_id).await.expect("members").is_empty(),
        "a deleted chat has no members"
    );
    assert!(
        a.messages.find(sent.id).await.expect("find").is_none(),
        "a deleted chat's message is gone"
    );
    let search = MessageFilter {
        chat_id: None,
        sender_id: None,
        role: None,
        since: None,
        until: None,
        metadata: vec![],
        terms: Some(SearchTerms::parse("needle").expect("valid")),
        before: None,
    };
    assert!(
        a.messages
            .list(people[0], &search, 10)
            .await
            .expect("search")
            .is_empty(),
        "a deleted chat's message is not found by search"
    );
}

/// A big group's view embeds its first `EMBEDDED_MEMBERS` members plus a
/// viewer who joined later, and counts them all; so does the listing.
pub async fn a_big_groups_view_carries_its_first_members_the_viewer_and_the_count(a: &Adapters) {
    let people = users(a, EMBEDDED_MEMBERS + 5).await;
    let chat_id = group(a, &people).await;
    let latecomer = *people.last().expect("people");
    let in_order = a.chats.members(chat_id).await.expect("members");

    let details = a
        .chats
        .details(chat_id, latecomer)
        .await
        .expect("details")
        .expect("member");

    assert_eq!(
        details.member_count,
        (EMBEDDED_MEMBERS + 5) as u64,
        "every member counts"
    );
    let embedded: Vec<UserId> = details.members.iter().map(|m| m.user_id).collect();
    let mut expected: Vec<UserId> = in_order[..EMBEDDED_MEMBERS]
        .iter()
        .map(|m| m.user_id)
        .collect();
    expected.push(latecomer);
    assert_eq!(embedded, expected, "the first members, then the viewer");
    let listed = a
        .chats
        .list_for_member(people[0], 10, None)
        .await
        .expect("list");
    assert_eq!(
        listed[0].members.len(),
        EMBEDDED_MEMBERS,
        "the listing embeds the first members (the owner is one)"
    );
    assert_eq!(
        listed[0].member_count,
        (EMBEDDED_MEMBERS + 5) as u64,
        "the listing counts every member"
    );
}

/// Paging through the members yields each, in joining order, once; the
/// count follows additions and removals.
pub async fn members_page_in_joining_order_without_gaps_or_repeats_and_counts_follow(a: &Adapters) {
    let people = users(a, 23).await;
    let chat_id = group(a, &people[..20]).await;
    for late in &people[20..] {
        a.chats
            .add_member(chat_id, &member(*late, MemberRole::Member), 100)
            .await
            .expect("add");
    }
    let removal = Removal {
        user_id: people[3],
        role: MemberRole::Member,
        new_owner: None,
    };
    a.chats
        .remove_member(chat_id, &removal)
        .await
        .expect("remove");

    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = a.chats.list_members(chat_id, 5, after).await.expect("page");
        after = page.last().map(|m| MemberCursor {
            joined_at: m.joined_at,
            user_id: m.user_id,
        });
        seen.extend(page.iter().map(|m| m.user_id));
        if page.len() < 5 {
            break;
        }
    }

    let expected: Vec<UserId> = a
        .chats
        .members(chat_id)
        .await
        .expect("members")
        .iter()
        .map(|m| m.user_id)
        .collect();
    assert_eq!(
        seen, expected,
        "the pages hold every member in joining order, once"
    );
    assert_eq!(seen.len(), 22, "20 + 3 - 1 members");
    let details = a
        .chats
        .details(chat_id, people[0])
        .await
        .expect("details")
        .expect("member");
    assert_eq!(
        details.member_count, 22,
        "the count follows additions and removals"
    );
}

/// Eight creations of a group with one chosen id store it once (with its
/// metadata); the others are `IdTaken`, and so is a direct chat with
/// that id.
pub async fn a_chosen_id_is_stored_once_whoever_races_for_it(a: &Adapters) {
    let people = users(a, 3).await;
    let mut chosen = new_chat(ChatKind::Group, people[0]);
    chosen.metadata = Metadata::new(serde_json::json!({"source": "import"})).expect("valid");
    let members = vec![member(people[0], MemberRole::Owner)];
    let outcomes: Vec<InsertChatOutcome> =
        join_all((0..8).map(|_| a.chats.insert_group(&chosen, &members)))
            .await
            .into_iter()
            .map(|outcome| outcome.expect("insert"))
            .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == InsertChatOutcome::Created)
            .count(),
        1,
        "exactly one creation stores the chat: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, InsertChatOutcome::Created | InsertChatOutcome::IdTaken)),
        "the others are told the id is taken: {outcomes:?}"
    );
    let stored = a
        .chats
        .details(chosen.id, people[0])
        .await
        .expect("details")
        .expect("member");
    assert_eq!(
        stored.chat.metadata, chosen.metadata,
        "the chat is stored with its metadata"
    );
    assert_eq!(stored.members.len(), 1, "its members are stored once");

    // A direct chat with a taken id: the pair has none, so IdTaken.
    let mut direct = new_chat(ChatKind::Direct, people[1]);
    direct.id = chosen.id;
    let pair = vec![
        member(people[1], MemberRole::Owner),
        member(people[2], MemberRole::Member),
    ];
    assert_eq!(
        a.chats.insert_direct(&direct, &pair).await.expect("insert"),
        InsertChatOutcome::IdTaken,
        "a direct chat cannot take a group's id"
    );
}

/// Updating only the metadata, then only the title, keeps the other.
pub async fn a_chats_title_and_metadata_change_apart(a: &Adapters) {
    let people = users(a, 1).await;
    let chat_id = group(a, &people).await;
    let metadata = Metadata::new(serde_json::json!({"tags": ["a"]})).expect("valid");

    a.chats
        .update(chat_id, None, Some(&metadata))
        .await
        .expect("update");
    let title = ChatTitle::new("Renamed").expect("valid");
    a.chats
        .update(chat_id, Some(&title), None)
        .await
        .expect("update");

    let chat = a
        .chats
        .details(chat_id, people[0])
        .await
        .expect("details")
        .expect("member")
        .chat;
    assert_eq!(chat.metadata, metadata, "a title update keeps the metadata");
    assert_eq!(
        chat.title.as_ref().map(ChatTitle::as_str),
        Some("Renamed"),
        "the new title is stored"
    );
}

/// Unread counts are the messages after the reader's position that others
/// sent and did not delete, in the chat's details, its listing and the
/// read state; reading moves them down, and a mention is counted apart.
pub async fn unread_counts_skip_own_and_deleted_messages(a: &Adapters) {
    let people = users(a, 2).await;
    let (me, them) = (people[0], people[1]);
    let chat_id = group(a, &people).await;
    let mut theirs = Vec::new();
    for text in ["one", "two", "three"] {
        let sent = message(chat_id, them, text, None);
        a.messages.append(&sent).await.expect("send");
        theirs.push(sent.id);
    }
    a.messages
        .append(&message(chat_id, me, "mine", None))
        .await
        .expect("send");
    let mut mention = message(chat_id, them, "@me look", None);
    mention.mentions = crate::mention::Mentions::new(vec![me]).expect("one mention");
    a.messages.append(&mention).await.expect("send");
    a.messages
        .soft_delete(theirs[0], now())
        .await
        .expect("delete")
        .expect("deleted");

    let details = a
        .chats
        .details(chat_id, me)
        .await
        .expect("details")
        .expect("member");
    assert_eq!(
        (details.unread_count, details.mention_count),
        (3, 1),
        "5 positions after mine: one is mine, one deleted; one mentions me"
    );
    let listed = a.chats.list_for_member(me, 10, None).await.expect("list");
    assert_eq!(
        listed.iter().map(|d| d.unread_count).collect::<Vec<_>>(),
        vec![3],
        "the listing counts as the details do"
    );
    let theirs_view = a
        .chats
        .details(chat_id, them)
        .await
        .expect("details")
        .expect("member");
    assert_eq!(
        theirs_view.unread_count, 1,
        "the sender has only mine unread"
    );

    let (state, moved) = a
        .chats
        .mark_read(chat_id, me, 3)
        .await
        .expect("read")
        .expect("member");
    assert!(moved, "reading forward moves");
    assert_eq!(
        (state.last_read_seq, state.unread_count, state.mention_count),
        (3, 1, 1),
        "after position 3 only the mention is left"
    );
}
