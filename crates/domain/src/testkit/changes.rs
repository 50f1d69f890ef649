//! The change log: commit order, visibility to members, paging without
//! loss, bounded scans, pruning, and a chat id used again.

use super::Adapters;
use super::support::{group, member, message, new_chat, users};
use crate::chat::{ChatKind, MemberRole};
use crate::ports::Removal;
use crate::sync::{Change, ChangeKind, SyncToken};

super::rules!("changes":
    changes_come_in_commit_order_to_members_only_and_page_without_loss,
    pruning_deletes_the_oldest_in_batches_and_raises_the_floor,
    a_chat_created_again_with_a_deleted_ones_id_shows_none_of_its_changes,
    whoever_a_deleted_chats_changes_were_addressed_to_still_learns_it_is_gone,
);

fn kinds(changes: &[Change]) -> Vec<ChangeKind> {
    changes.iter().map(|c| c.kind).collect()
}

/// A member reads the chat's changes in commit order; a stranger reads
/// none of them yet moves on; small pages give the same changes; a scan
/// window bounds the work and still moves the position.
pub async fn changes_come_in_commit_order_to_members_only_and_page_without_loss(a: &Adapters) {
    let people = users(a, 3).await;
    let (ada, bob, eve) = (people[0], people[1], people[2]);
    let log = &a.changes;
    let start = log.now().await.expect("now");
    let chat = group(a, &[ada, bob]).await;
    for n in 0..5 {
        a.messages
            .append(&message(chat, ada, &format!("m{n}"), None))
            .await
            .expect("send");
    }
    a.chats.mark_read(chat, bob, 3).await.expect("read");
    a.hooks.settle().await;

    let all = log.read(start, Some(bob), 100, 1000).await.expect("read");
    assert!(!all.has_more, "everything fits in one page");
    assert_eq!(
        kinds(&all.changes),
        [
            ChangeKind::ChatCreated,
            ChangeKind::MessageCreated,
            ChangeKind::MessageCreated,
            ChangeKind::MessageCreated,
            ChangeKind::MessageCreated,
            ChangeKind::MessageCreated,
            ChangeKind::Read,
        ]
    );
    assert_eq!(
        all.changes[6].seq,
        Some(3),
        "the read change carries its seq"
    );
    assert!(
        all.changes
            .windows(2)
            .all(|w| w[0].position < w[1].position),
        "positions rise in commit order: {:?}",
        all.changes
    );
    assert!(
        all.end >= all.changes[6].position,
        "the page's end is past its last change"
    );
    assert!(
        log.now().await.expect("now") >= all.end,
        "now is at or past every page's end"
    );

    // A stranger sees none of it, and the position still moves on.
    let none = log.read(start, Some(eve), 100, 1000).await.expect("read");
    assert!(
        none.changes.is_empty(),
        "a stranger sees nothing: {:?}",
        none.changes
    );
    assert!(
        none.end >= all.end,
        "a stranger's position moves past what they cannot see"
    );

    // Small pages give the same changes.
    let mut paged = Vec::new();
    let mut at = start;
    loop {
        let page = log.read(at, Some(bob), 2, 1000).await.expect("page");
        paged.extend(page.changes);
        at = page.end;
        if !page.has_more {
            break;
        }
    }
    assert_eq!(paged, all.changes, "pages of two give the same changes");

    // A scan window smaller than what the stranger cannot see: bounded
    // work, the position moves past what was looked at.
    let window = log.read(start, Some(eve), 1, 2).await.expect("window");
    assert!(
        window.changes.is_empty(),
        "a stranger sees nothing: {:?}",
        window.changes
    );
    assert!(window.has_more, "a full scan window says there may be more");
    assert_eq!(
        window.end, all.changes[1].position,
        "the position moves past exactly the two changes scanned"
    );
}

/// Pruning deletes the oldest changes recorded before the cutoff, a batch
/// at a time, and raises the floor to the last one deleted; an empty log
/// still knows where it is.
pub async fn pruning_deletes_the_oldest_in_batches_and_raises_the_floor(a: &Adapters) {
    let people = users(a, 1).await;
    let log = &a.changes;
    assert_eq!(
        log.floor().await.expect("floor"),
        SyncToken::default(),
        "nothing pruned yet"
    );
    let start = log.now().await.expect("now");
    let chat = group(a, &people).await;
    for n in 0..4 {
        a.messages
            .append(&message(chat, people[0], &format!("m{n}"), None))
            .await
            .expect("send");
    }
    a.hooks.settle().await;
    let all = log.read(start, None, 100, 100).await.expect("read");
    assert_eq!(
        all.changes.len(),
        5,
        "the chat and four messages: {:?}",
        all.changes
    );
    assert!(
        log.oldest().await.expect("oldest").is_some(),
        "a log with changes has an oldest"
    );

    let past = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    assert_eq!(
        log.prune(past, 2).await.expect("prune"),
        0,
        "nothing that old"
    );
    let future = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    assert_eq!(log.prune(future, 2).await.expect("prune"), 2, "one batch");
    assert_eq!(
        log.floor().await.expect("floor"),
        all.changes[1].position,
        "the floor is the last change pruned"
    );
    let rest = log.read(start, None, 100, 100).await.expect("read");
    assert_eq!(rest.changes, all.changes[2..], "the oldest two are gone");
    assert_eq!(log.prune(future, 10).await.expect("prune"), 3, "the rest");
    assert_eq!(
        log.floor().await.expect("floor"),
        all.changes[4].position,
        "the floor is the last change pruned"
    );
    assert_eq!(
        log.oldest().await.expect("oldest"),
        None,
        "an empty log has no oldest"
    );
    // An empty log still knows where it is.
    assert!(
        log.now().await.expect("now") >= all.changes[4].position,
        "now does not go back when the log is emptied"
    );
}

/// A chat deleted and created again under the same id: its members see
/// the deletion and the new chat, nothing of the old one's life.
pub async fn a_chat_created_again_with_a_deleted_ones_id_shows_none_of_its_changes(a: &Adapters) {
    let people = users(a, 2).await;
    let (ada, bob) = (people[0], people[1]);
    let log = &a.changes;
    let start = log.now().await.expect("now");
    let chat = group(a, &[ada, bob]).await;
    a.messages
        .append(&message(chat, ada, "old", None))
        .await
        .expect("send");
    a.chats.delete(chat).await.expect("delete");
    // The same id again, with ada alone.
    let mut again = new_chat(ChatKind::Group, ada);
    again.id = chat;
    a.chats
        .insert_group(&again, &[member(ada, MemberRole::Owner)])
        .await
        .expect("create again");
    a.hooks.settle().await;
    let seen = log.read(start, Some(ada), 100, 1000).await.expect("read");
    assert_eq!(
        kinds(&seen.changes),
        [ChangeKind::ChatDeleted, ChangeKind::ChatCreated],
        "the old chat's deletion, then the new chat: nothing of the old one's life"
    );
    let bobs = log.read(start, Some(bob), 100, 1000).await.expect("read");
    assert_eq!(
        kinds(&bobs.changes),
        [ChangeKind::ChatDeleted],
        "a former member sees the deletion only"
    );
}

/// Deleting a chat forgets its changes, but not the news that it is gone:
/// a member removed before the deletion (whose removal was one of those
/// changes) and the former members of an earlier chat of the same id
/// (whose deletion notices were) each still read a `ChatDeleted`.
pub async fn whoever_a_deleted_chats_changes_were_addressed_to_still_learns_it_is_gone(
    a: &Adapters,
) {
    let people = users(a, 3).await;
    let (ada, bob, eve) = (people[0], people[1], people[2]);
    let log = &a.changes;
    let start = log.now().await.expect("now");
    let chat = group(a, &[ada, bob, eve]).await;
    let removal = Removal {
        user_id: bob,
        role: MemberRole::Member,
        new_owner: None,
    };
    a.chats.remove_member(chat, &removal).await.expect("remove");
    a.chats.delete(chat).await.expect("delete");
    a.hooks.settle().await;
    let bobs = log.read(start, Some(bob), 100, 1000).await.expect("read");
    assert_eq!(
        kinds(&bobs.changes).last(),
        Some(&ChangeKind::ChatDeleted),
        "bob, removed before the deletion and not synced since, must learn the chat is gone: {:?}",
        kinds(&bobs.changes)
    );

    // The id again, with ada alone, deleted again: the first deletion's
    // notices went with the chat's changes; their readers are told anew.
    let mut again = new_chat(ChatKind::Group, ada);
    again.id = chat;
    a.chats
        .insert_group(&again, &[member(ada, MemberRole::Owner)])
        .await
        .expect("create again");
    a.chats.delete(chat).await.expect("delete again");
    a.hooks.settle().await;
    for (name, user) in [("ada", ada), ("bob", bob), ("eve", eve)] {
        let seen = log.read(start, Some(user), 100, 1000).await.expect("read");
        assert_eq!(
            kinds(&seen.changes).last(),
            Some(&ChangeKind::ChatDeleted),
            "{name} must still read that the chat is gone: {:?}",
            kinds(&seen.changes)
        );
    }
}
