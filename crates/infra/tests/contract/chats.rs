//! The chats rule that stays with the SeaORM adapters: unread counts
//! around `UNREAD_WINDOW` (row by row near the read position, by positions
//! beyond it) and a far-behind sender's catch-up, an infra mechanism the
//! ports do not promise. The rest moved to missive_domain::testkit::chats.

use missive_domain::ids::UserId;
use missive_domain::ports::{ChatRepository, MessageRepository};
use missive_infra::{SeaChatRepository, SeaMessageRepository, UNREAD_WINDOW};

use crate::support::{group, message, now, on_each_backend, users};

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
