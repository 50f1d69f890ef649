//! The change log on PostgreSQL, where transactions interleave: the
//! horizon never passes a late commit, and a send waits for its chat's
//! turn. The rules every change log keeps are in
//! `missive_domain::testkit::changes`.

use missive_domain::ports::{ChangeLog, MessageRepository};
use missive_domain::sync::ChangeKind;
use missive_infra::{Backend, SeaChangeLog, SeaMessageRepository};
use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::support::{group, message, on_each_backend, settle, users};

fn kinds(changes: &[missive_domain::sync::Change]) -> Vec<ChangeKind> {
    changes.iter().map(|c| c.kind).collect()
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
        assert!(!early.has_more, "no more until the open transaction ends");

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
