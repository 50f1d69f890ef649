//! The change log: commit order, visibility, paging, the horizon that
//! never passes a late commit, pruning.

use missive_domain::ports::{ChangeLog, ChatRepository, MessageRepository};
use missive_domain::sync::{ChangeKind, SyncToken};
use missive_infra::{Backend, SeaChangeLog, SeaChatRepository, SeaMessageRepository};
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::support::{group, message, on_each_backend, settle, users};

fn kinds(changes: &[missive_domain::sync::Change]) -> Vec<ChangeKind> {
    changes.iter().map(|c| c.kind).collect()
}

#[tokio::test]
async fn changes_come_in_commit_order_to_members_only_and_page_without_loss() {
    on_each_backend(|db| async move {
        let people = users(&db, 3).await;
        let (ada, bob, eve) = (people[0], people[1], people[2]);
        let log = SeaChangeLog::new(&db);
        let start = log.now().await.expect("now");
        let chat = group(&db, &[ada, bob]).await;
        let messages = SeaMessageRepository::new(&db);
        for n in 0..5 {
            messages
                .append(&message(chat, ada, &format!("m{n}"), None))
                .await
                .expect("send");
        }
        SeaChatRepository::new(&db)
            .mark_read(chat, bob, 3)
            .await
            .expect("read");
        settle(&db).await;

        let all = log.read(start, Some(bob), 100, 1000).await.expect("read");
        assert!(!all.has_more);
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
        assert_eq!(all.changes[6].seq, Some(3));
        assert!(
            all.changes
                .windows(2)
                .all(|w| w[0].position < w[1].position)
        );
        assert!(all.end >= all.changes[6].position);
        assert!(log.now().await.expect("now") >= all.end);

        // A stranger sees none of it, and the position still moves on.
        let none = log.read(start, Some(eve), 100, 1000).await.expect("read");
        assert!(none.changes.is_empty());
        assert!(none.end >= all.end);

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
        assert_eq!(paged, all.changes);

        // A scan window smaller than what the stranger cannot see: bounded
        // work, the position moves past what was looked at.
        let window = log.read(start, Some(eve), 1, 2).await.expect("window");
        assert!(window.changes.is_empty());
        assert!(window.has_more);
        assert_eq!(window.end, all.changes[1].position);
    })
    .await;
}

#[tokio::test]
async fn a_change_that_commits_late_is_never_passed() {
    on_each_backend(|db| async move {
        if db.backend() != Backend::Postgres {
            // One writer at a time: commit order is id order.
            return;
        }
        let people = users(&db, 1).await;
        let chat = group(&db, &people).await;
        let log = SeaChangeLog::new(&db);
        settle(&db).await;
        let start = log.now().await.expect("now");
        // An older transaction records a change and stays open …
        let late = db.connection().begin().await.expect("begin");
        late.execute_unprepared(&format!(
            "INSERT INTO changes (chat_id, kind) VALUES ('{}', {})",
            chat.as_uuid(),
            ChangeKind::ChatUpdated.code()
        ))
        .await
        .expect("insert");
        // … while a newer one commits.
        SeaMessageRepository::new(&db)
            .append(&message(chat, people[0], "newer", None))
            .await
            .expect("send");

        let early = log.read(start, None, 100, 100).await.expect("read");
        assert!(
            early.changes.is_empty(),
            "nothing past the open transaction: {:?}",
            early.changes
        );
        assert!(!early.has_more);

        late.commit().await.expect("commit");
        settle(&db).await;
        let after = log.read(early.end, None, 100, 100).await.expect("read");
        assert_eq!(
            kinds(&after.changes),
            [ChangeKind::ChatUpdated, ChangeKind::MessageCreated],
            "the late commit first (its transaction is older), nothing lost"
        );
    })
    .await;
}

#[tokio::test]
async fn pruning_deletes_the_oldest_in_batches_and_raises_the_floor() {
    on_each_backend(|db| async move {
        let people = users(&db, 1).await;
        let log = SeaChangeLog::new(&db);
        assert_eq!(log.floor().await.expect("floor"), SyncToken::default());
        let start = log.now().await.expect("now");
        let chat = group(&db, &people).await;
        let messages = SeaMessageRepository::new(&db);
        for n in 0..4 {
            messages
                .append(&message(chat, people[0], &format!("m{n}"), None))
                .await
                .expect("send");
        }
        settle(&db).await;
        let all = log.read(start, None, 100, 100).await.expect("read");
        assert_eq!(all.changes.len(), 5);
        assert!(log.oldest().await.expect("oldest").is_some());

        let past = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        assert_eq!(
            log.prune(past, 2).await.expect("prune"),
            0,
            "nothing that old"
        );
        let future = time::OffsetDateTime::now_utc() + time::Duration::days(1);
        assert_eq!(log.prune(future, 2).await.expect("prune"), 2);
        assert_eq!(log.floor().await.expect("floor"), all.changes[1].position);
        let rest = log.read(start, None, 100, 100).await.expect("read");
        assert_eq!(rest.changes, all.changes[2..]);
        assert_eq!(log.prune(future, 10).await.expect("prune"), 3);
        assert_eq!(log.floor().await.expect("floor"), all.changes[4].position);
        assert_eq!(log.oldest().await.expect("oldest"), None);
        // An empty log still knows where it is.
        assert!(log.now().await.expect("now") >= all.changes[4].position);
    })
    .await;
}

#[tokio::test]
async fn a_send_waits_for_its_chats_turn_before_writing_anything() {
    on_each_backend(|db| async move {
        if db.backend() != Backend::Postgres {
            return;
        }
        let people = users(&db, 1).await;
        let chat = group(&db, &people).await;
        // Someone holds the chat's turn (the advisory lock sends take).
        let holder = db.connection().begin().await.expect("begin");
        holder
            .execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({})",
                missive_infra::send_turn_key(chat)
            ))
            .await
            .expect("lock");
        let messages = SeaMessageRepository::new(&db);
        let send = tokio::spawn({
            let new = message(chat, people[0], "waits", None);
            async move { messages.append(&new).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!send.is_finished(), "the send went ahead without its turn");
        holder.commit().await.expect("release");
        send.await.expect("task").expect("send");
    })
    .await;
}

#[tokio::test]
async fn a_chat_created_again_with_a_deleted_ones_id_shows_none_of_its_changes() {
    on_each_backend(|db| async move {
        let people = users(&db, 2).await;
        let (ada, bob) = (people[0], people[1]);
        let log = SeaChangeLog::new(&db);
        let chats = SeaChatRepository::new(&db);
        let start = log.now().await.expect("now");
        let chat = group(&db, &[ada, bob]).await;
        SeaMessageRepository::new(&db)
            .append(&message(chat, ada, "old", None))
            .await
            .expect("send");
        chats.delete(chat).await.expect("delete");
        // The same id again, with ada alone.
        let mut again = crate::support::new_chat(missive_domain::chat::ChatKind::Group, ada);
        again.id = chat;
        chats
            .insert_group(
                &again,
                &[crate::support::member(
                    ada,
                    missive_domain::chat::MemberRole::Owner,
                )],
            )
            .await
            .expect("create again");
        settle(&db).await;
        let seen = log.read(start, Some(ada), 100, 1000).await.expect("read");
        assert_eq!(
            kinds(&seen.changes),
            [ChangeKind::ChatDeleted, ChangeKind::ChatCreated],
            "the old chat's deletion, then the new chat: nothing of the old one's life"
        );
        let bobs = log.read(start, Some(bob), 100, 1000).await.expect("read");
        assert_eq!(kinds(&bobs.changes), [ChangeKind::ChatDeleted]);
    })
    .await;
}
