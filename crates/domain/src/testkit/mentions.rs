//! Mentions: who is notified (named members or everyone, never the
//! sender), the unread count reading resets, and the list of a user's
//! mentions in the chats they are still in.

use super::Adapters;
use super::support::{group, message, now, users};
use crate::chat::MemberRole;
use crate::ids::{ChatId, UserId};
use crate::mention::Mentions;
use crate::message::Message;
use crate::ports::{Appended, MessageEdit, MessageRepository, Removal, RemoveMemberOutcome};

super::rules!("mentions":
    named_members_are_notified_once_each_and_reading_past_resets_the_count,
    mentioning_everyone_notifies_every_other_member,
    deleted_messages_notify_nobody_and_edits_move_the_notifications,
    a_former_member_no_longer_sees_the_chats_mentions_and_batches_notify_too,
    members_among_answers_for_any_number_of_users_in_one_call,
);

async fn post(
    repo: &dyn MessageRepository,
    chat_id: ChatId,
    sender: UserId,
    named: &[UserId],
    all: bool,
) -> Message {
    let mut new = message(chat_id, sender, "hey", None);
    new.mentions = Mentions::new(named.to_vec()).expect("valid");
    new.mention_all = all;
    match repo.append(&new).await.expect("send") {
        Appended::Created(m) => m,
        Appended::Existing(_) => panic!("no client id, no duplicate"),
    }
}

async fn mention_count(a: &Adapters, chat_id: ChatId, user: UserId) -> u64 {
    a.chats
        .details(chat_id, user)
        .await
        .expect("read")
        .expect("member")
        .mention_count
}

async fn mentioned(repo: &dyn MessageRepository, user: UserId) -> Vec<Message> {
    repo.mentions_of(user, None, 50).await.expect("list")
}

/// Each named member (never the sender) is notified once per message; the
/// list is kept as sent, `mentions_of` lists newest first with a cursor,
/// and reading past a mention lowers the count without unlisting it.
pub async fn named_members_are_notified_once_each_and_reading_past_resets_the_count(a: &Adapters) {
    let people = users(a, 3).await;
    let (ada, bob, cat) = (people[0], people[1], people[2]);
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    // Ada names herself too: a sender is never notified.
    let first = post(repo, chat_id, ada, &[bob, ada], false).await;
    let second = post(repo, chat_id, cat, &[bob], false).await;

    assert_eq!(
        first.mentions.users(),
        [bob, ada],
        "the list is kept as sent"
    );
    assert_eq!(
        repo.find(first.id)
            .await
            .expect("find")
            .expect("stored")
            .mentions
            .users(),
        [bob, ada],
        "and reads back as sent"
    );
    assert_eq!(
        mention_count(a, chat_id, bob).await,
        2,
        "Bob is named twice"
    );
    assert_eq!(
        mention_count(a, chat_id, ada).await,
        0,
        "a sender is never notified"
    );
    let listed: Vec<_> = mentioned(repo, bob).await.iter().map(|m| m.id).collect();
    assert_eq!(listed, [second.id, first.id], "newest first");
    let page = repo
        .mentions_of(bob, Some(second.id), 50)
        .await
        .expect("list");
    assert_eq!(
        page.iter().map(|m| m.id).collect::<Vec<_>>(),
        [first.id],
        "strictly before the cursor"
    );

    let (read, _) = a
        .chats
        .mark_read(chat_id, bob, first.seq)
        .await
        .expect("read")
        .expect("member");
    assert_eq!(read.mention_count, 1, "read past the first mention");
    a.chats
        .mark_read(chat_id, bob, second.seq)
        .await
        .expect("read");
    assert_eq!(
        mention_count(a, chat_id, bob).await,
        0,
        "read past both mentions"
    );
    assert_eq!(
        mentioned(repo, bob).await.len(),
        2,
        "reading does not unlist"
    );
}

/// Mentioning everyone notifies every member but the sender.
pub async fn mentioning_everyone_notifies_every_other_member(a: &Adapters) {
    let people = users(a, 4).await;
    let chat_id = group(a, &people).await;
    let sent = post(a.messages.as_ref(), chat_id, people[0], &[], true).await;

    assert!(sent.mention_all, "the message mentions everyone");
    for person in &people[1..] {
        assert_eq!(
            mention_count(a, chat_id, *person).await,
            1,
            "every other member is notified"
        );
    }
    assert_eq!(
        mention_count(a, chat_id, people[0]).await,
        0,
        "the sender is not"
    );
}

/// A deleted message notifies nobody; an edit of the mentions moves the
/// notifications to the newly named.
pub async fn deleted_messages_notify_nobody_and_edits_move_the_notifications(a: &Adapters) {
    let people = users(a, 3).await;
    let (ada, bob, cat) = (people[0], people[1], people[2]);
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let edited = post(repo, chat_id, ada, &[bob], false).await;
    let deleted = post(repo, chat_id, ada, &[bob, cat], false).await;

    repo.soft_delete(deleted.id, now()).await.expect("delete");
    let changed = repo
        .edit(
            edited.id,
            &MessageEdit {
                content: None,
                rating: None,
                metadata: None,
                mentions: Some(Mentions::new(vec![cat]).expect("valid")),
            },
        )
        .await
        .expect("edit")
        .expect("edited");

    assert_eq!(changed.mentions.users(), [cat], "the mentions are replaced");
    assert_eq!(
        mention_count(a, chat_id, bob).await,
        0,
        "Bob is no longer notified"
    );
    assert_eq!(
        mention_count(a, chat_id, cat).await,
        1,
        "Cat is, once (the deleted message not)"
    );
    assert!(
        mentioned(repo, bob).await.is_empty(),
        "nothing lists Bob any more"
    );
    assert_eq!(
        mentioned(repo, cat).await.len(),
        1,
        "the edited message lists Cat"
    );
}

/// A batch notifies those its messages name; a member who leaves no
/// longer sees the chat's mentions.
pub async fn a_former_member_no_longer_sees_the_chats_mentions_and_batches_notify_too(
    a: &Adapters,
) {
    let people = users(a, 2).await;
    let (ada, bob) = (people[0], people[1]);
    let chat_id = group(a, &people).await;
    let repo = a.messages.as_ref();
    let batch: Vec<_> = (0..3)
        .map(|i| {
            let mut new = message(chat_id, ada, "batched", None);
            if i != 1 {
                new.mentions = Mentions::new(vec![bob]).expect("valid");
            }
            new
        })
        .collect();
    repo.append_batch(&batch).await.expect("batch");
    assert_eq!(
        mentioned(repo, bob).await.len(),
        2,
        "two of the batch name Bob"
    );

    let removed = a
        .chats
        .remove_member(
            chat_id,
            &Removal {
                user_id: bob,
                role: MemberRole::Member,
                new_owner: None,
            },
        )
        .await
        .expect("remove");
    assert_eq!(removed, RemoveMemberOutcome::Removed, "Bob is removed");
    assert!(
        mentioned(repo, bob).await.is_empty(),
        "a former member sees none of the chat's mentions"
    );
}

/// `members_among` names exactly the members among any number of users
/// (here 40 003, more than SQLite binds in one statement).
pub async fn members_among_answers_for_any_number_of_users_in_one_call(a: &Adapters) {
    let people = users(a, 3).await;
    let chat_id = group(a, &people[..2]).await;
    // More users than SQLite binds in one statement, members among them.
    let mut asked: Vec<UserId> = (0..40_000).map(|_| UserId::new()).collect();
    asked.extend(people.iter().copied());

    let mut found = a.chats.members_among(chat_id, &asked).await.expect("read");

    found.sort_unstable();
    let mut expected = people[..2].to_vec();
    expected.sort_unstable();
    assert_eq!(found, expected, "exactly the members");
}
