//! Threads: the root's summary, kept by each reply and each deletion.

use std::sync::LazyLock;

use missive_domain::InfraError;
use missive_domain::ids::{MessageId, UserId};
use missive_domain::ports::Appended;
use missive_domain::sync::ChangeKind;
use sea_orm::{ConnectionTrait, Value};
use time::OffsetDateTime;

use crate::db_error::infra_error;
use crate::repositories::changes::record_about_message;
use crate::sql::{for_update, statement};

/// The part of [`APPEND_PG`] a reply adds: the root's thread summary,
/// updated under the root's row lock in the same statement, and its
/// change recorded after the reply's (reading `logged` orders the two). Values: the reply's time, the sender as for
/// [`PARTICIPANTS`], the root's id, the root's id again.
pub(super) static THREADED_PG: LazyLock<String> = LazyLock::new(|| {
    format!(
        ", threaded AS (UPDATE messages SET reply_count = messages.reply_count + 1, \
            last_reply_seq = stored.seq, last_reply_at = ?, \
            thread_participants = {PARTICIPANTS} \
        FROM stored WHERE messages.id = ?), \
        thread_logged AS (INSERT INTO changes (chat_id, kind, message_id) \
            SELECT stored_chat, {thread}, ? FROM stored, logged)",
        thread = ChangeKind::Thread.code()
    )
});

/// The root's participants with the sender added when they are new and
/// fewer than ten are named (36 characters an id, commas between).
/// Values: the sender's id as text, a LIKE pattern of it, the id again.
pub(super) const PARTICIPANTS: &str = "CASE WHEN thread_participants IS NULL THEN ? \
    WHEN LENGTH(thread_participants) >= 369 OR thread_participants LIKE ? \
        THEN thread_participants \
    ELSE thread_participants || ',' || ? END";

/// Adds replies to a root's summary (values: how many, the newest's seq
/// and time, the sender as for [`PARTICIPANTS`], the root's id). Appends
/// to a chat are serialised, so the newest reply is the last appended.
pub(super) static ROOT_BUMP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE messages SET reply_count = reply_count + ?, last_reply_seq = ?, \
            last_reply_at = ?, thread_participants = {PARTICIPANTS} \
         WHERE id = ?"
    )
});

pub(super) fn participant_values(sender: UserId) -> [Value; 3] {
    let id = sender.as_uuid().hyphenated().to_string();
    [id.clone().into(), format!("%{id}%").into(), id.into()]
}

pub(super) fn root_bump_values(
    root: MessageId,
    replies: i64,
    seq: i64,
    at: OffsetDateTime,
    sender: UserId,
) -> Vec<Value> {
    let mut values: Vec<Value> = vec![replies.into(), seq.into(), at.into()];
    values.extend(participant_values(sender));
    values.push(root.as_uuid().into());
    values
}

/// Recounts the summary of a root from its live replies (after one was
/// deleted). The root's row lock is taken first, by its own statement, so
/// that this one reads every reply committed before it.
pub(super) const ROOT_RECOUNT: &str = "UPDATE messages SET \
    reply_count = (SELECT COUNT(*) FROM messages r \
        WHERE r.thread_root_id = messages.id AND r.deleted_at IS NULL), \
    last_reply_seq = (SELECT MAX(r.seq) FROM messages r \
        WHERE r.thread_root_id = messages.id AND r.deleted_at IS NULL), \
    last_reply_at = (SELECT r.created_at FROM messages r \
        WHERE r.thread_root_id = messages.id AND r.deleted_at IS NULL \
        ORDER BY r.seq DESC LIMIT 1) \
    WHERE id = ?";

/// The new replies of a batch per root: how many, and the seq and time of
/// the newest.
pub(super) fn thread_bumps(answer: &[Appended]) -> Vec<(MessageId, (i64, i64, OffsetDateTime))> {
    let mut bumps: Vec<(MessageId, (i64, i64, OffsetDateTime))> = Vec::new();
    for appended in answer {
        let Appended::Created(message) = appended else {
            continue;
        };
        let Some(root) = message.thread_root_id else {
            continue;
        };
        match bumps.iter_mut().find(|(r, _)| *r == root) {
            Some((_, (count, seq, at))) => {
                *count += 1;
                *seq = message.seq;
                *at = message.created_at;
            }
            None => bumps.push((root, (1, message.seq, message.created_at))),
        }
    }
    bumps
}

/// After the message `id` was deleted in `txn`: when it was a reply,
/// recounts its root's summary under the root's row lock.
pub(super) async fn recount_root_of(
    txn: &impl ConnectionTrait,
    id: MessageId,
) -> Result<(), InfraError> {
    let backend = txn.get_database_backend();
    let root = txn
        .query_one_raw(statement(
            backend,
            "SELECT thread_root_id FROM messages WHERE id = ?",
            vec![id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?
        .map(|row| row.try_get::<Option<uuid::Uuid>>("", "thread_root_id"))
        .transpose()
        .map_err(infra_error)?
        .flatten();
    if let Some(root) = root {
        let lock = format!(
            "SELECT id FROM messages WHERE id = ?{}",
            for_update(backend)
        );
        txn.query_one_raw(statement(backend, &lock, vec![root.into()]))
            .await
            .map_err(infra_error)?;
        txn.execute_raw(statement(backend, ROOT_RECOUNT, vec![root.into()]))
            .await
            .map_err(infra_error)?;
        record_about_message(
            txn,
            ChangeKind::Thread,
            MessageId::from_uuid(root),
            None,
            None,
        )
        .await
        .map_err(infra_error)?;
    }
    Ok(())
}
