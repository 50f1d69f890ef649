use missive_domain::chat::MemberRole;
use missive_domain::ids::{ChatId, UserId};
use missive_domain::mention::Mentions;
use missive_domain::message::Message;
use missive_domain::ports::{
    Appended, ChatRepository, MessageEdit, MessageRepository, Removal, RemoveMemberOutcome,
};
use missive_infra::{Database, SeaChatRepository, SeaMessageRepository};

use crate::support::{group, message, now, on_each_backend, users};

async fn post(
    repo: &SeaMessageRepository,
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

async fn mention_count(db: &Database, chat_id: ChatId, user: UserId) -> u64 {
    SeaChatRepository::new(db)
        .details(chat_id, user)
        .await
        .expect("read")
        .expect("member")
        .mention_count
}

async fn mentioned(repo: &SeaMessageRepository, user: UserId) -> Vec<Message> {
    repo.mentions_of(user, None, 50).await.expect("list")
}

#[tokio::test]
async fn named_members_are_notified_once_each_and_reading_past_resets_the_count() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let (ada, bob, cat) = (people[0], people[1], people[2]);
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        // Ada names herself too: a sender is never notified.
        let first = post(&repo, chat_id, ada, &[bob, ada], false).await;
        let second = post(&repo, chat_id, cat, &[bob], false).await;

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
            [bob, ada]
        );
        assert_eq!(mention_count(&db, chat_id, bob).await, 2);
        assert_eq!(mention_count(&db, chat_id, ada).await, 0);
        let listed: Vec<_> = mentioned(&repo, bob).await.iter().map(|m| m.id).collect();
        assert_eq!(listed, [second.id, first.id], "newest first");
        let page = repo
            .mentions_of(bob, Some(second.id), 50)
            .await
            .expect("list");
        assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), [first.id]);

        let chats = SeaChatRepository::new(&db);
        let (read, _) = chats
            .mark_read(chat_id, bob, first.seq)
            .await
            .expect("read")
            .expect("member");
        assert_eq!(read.mention_count, 1);
        chats
            .mark_read(chat_id, bob, second.seq)
            .await
            .expect("read");
        assert_eq!(mention_count(&db, chat_id, bob).await, 0);
        assert_eq!(
            mentioned(&repo, bob).await.len(),
            2,
            "reading does not unlist"
        );
    })
    .await;
}

#[tokio::test]
async fn mentioning_everyone_notifies_every_other_member() {
    on_each_backend(|db| async move {
        let people = users(&db, 4).await;
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let sent = post(&repo, chat_id, people[0], &[], true).await;

        assert!(sent.mention_all);
        for person in &people[1..] {
            assert_eq!(mention_count(&db, chat_id, *person).await, 1);
        }
        assert_eq!(mention_count(&db, chat_id, people[0]).await, 0);
    })
    .await;
}

#[tokio::test]
async fn deleted_messages_notify_nobody_and_edits_move_the_notifications() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let (ada, bob, cat) = (people[0], people[1], people[2]);
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
        let edited = post(&repo, chat_id, ada, &[bob], false).await;
        let deleted = post(&repo, chat_id, ada, &[bob, cat], false).await;

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

        assert_eq!(changed.mentions.users(), [cat]);
        assert_eq!(mention_count(&db, chat_id, bob).await, 0);
        assert_eq!(mention_count(&db, chat_id, cat).await, 1);
        assert!(mentioned(&repo, bob).await.is_empty());
        assert_eq!(mentioned(&repo, cat).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_former_member_no_longer_sees_the_chats_mentions_and_batches_notify_too() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let (ada, bob) = (people[0], people[1]);
        let chat_id = group(&db, &people).await;
        let repo = SeaMessageRepository::new(&db);
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
        assert_eq!(mentioned(&repo, bob).await.len(), 2);

        let removed = SeaChatRepository::new(&db)
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
        assert_eq!(removed, RemoveMemberOutcome::Removed);
        assert!(mentioned(&repo, bob).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn members_among_answers_for_any_number_of_users_in_one_call() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let chat_id = group(&db, &people[..2]).await;
        // More users than SQLite binds in one statement, members among them.
        let mut asked: Vec<UserId> = (0..40_000).map(|_| UserId::new()).collect();
        asked.extend(people.iter().copied());

        let mut found = SeaChatRepository::new(&db)
            .members_among(chat_id, &asked)
            .await
            .expect("read");

        found.sort_unstable();
        let mut expected = people[..2].to_vec();
        expected.sort_unstable();
        assert_eq!(found, expected);
    })
    .await;
}
