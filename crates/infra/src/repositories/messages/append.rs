//! Appending: one statement per message on PostgreSQL, one transaction on
//! SQLite (or one savepoint of a group's transaction: see `group`), and
//! batches; each also writes the reply's thread summary and the mention
//! rows in that same statement or transaction.

use std::sync::LazyLock;

use missive_domain::message::{Message, NewMessage};
use missive_domain::ports::{AppendError, Appended};
use missive_domain::search::index_text;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, Statement, TransactionTrait, Value,
};

use missive_domain::sync::{ChangeKind, NewChange};

use super::attachments::{References, is_upload_gone};
use super::mentions::Notified;
use super::threads::{ROOT_BUMP, THREADED_PG, participant_values, root_bump_values, thread_bumps};
use super::{SeaMessageRepository, UNREAD_WINDOW};
use crate::db_error::{infra_error, is_unique_violation};
use crate::entity::messages;
use crate::repositories::changes::record;
use crate::repositories::convert::{self, micros};
use crate::sql::statement;

/// PostgreSQL: the chat's advisory lock, taken before the row lock.
///
/// Sync delivers changes in transaction-id order, and a transaction gets
/// its id at its first write — for a send, the chat row's UPDATE, which
/// assigns the id *before* waiting for the row's lock. Two senders racing
/// for a chat could so get ids in the opposite order of their seqs, and
/// seq 6 be delivered before seq 5. The advisory lock needs no transaction
/// id; as an uncorrelated condition it is taken once, before the UPDATE
/// writes anything, so senders of a chat get their ids in seq order. The
/// function is in the subquery's FROM: PostgreSQL drops the select list
/// of an `EXISTS`, so `EXISTS (SELECT f())` would never call it. One value:
/// [`send_turn_key`]; two chats whose keys collide only share a queue.
pub(super) const SEND_TURN_PG: &str = "EXISTS (SELECT 1 FROM pg_advisory_xact_lock(?))";

/// The advisory lock key of a chat's sends: the low 64 bits of its id
/// (random in a UUIDv7), computed here rather than hashed in SQL.
pub fn send_turn_key(chat: missive_domain::ids::ChatId) -> i64 {
    let bytes = chat.as_uuid().into_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    i64::from_be_bytes(low)
}

/// PostgreSQL: one statement, one round trip. The UPDATE takes the chat's
/// row lock (serialising senders of one chat, on any instance), checks
/// membership and yields the next seq; the INSERT stores the message; the
/// last part moves the sender's read position to their message only when
/// it is more than [`UNREAD_WINDOW`] behind (the invariant that keeps
/// unread counts cheap; for everyone else it writes nothing). A duplicate
/// `client_id` makes the INSERT — and so the whole statement, bump
/// included — fail atomically on the unique index. `logged` records the
/// change for sync in the same statement, and `caught_up_logged` the
/// sender's read position when it moved (after the message's change: it
/// reads `logged`).
pub(super) static APPEND_PG: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH bumped AS ( \
            UPDATE chats SET last_seq = last_seq + 1, \
                last_activity_us = GREATEST(last_activity_us, ?) \
            WHERE id = ? AND EXISTS ( \
                SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) \
                AND {SEND_TURN_PG} \
            RETURNING last_seq), \
        stored AS ( \
            INSERT INTO messages (id, chat_id, seq, sender_id, content, role, rating, \
                client_id, reply_to, sent_at, created_at, metadata, search_text, \
                thread_root_id, mentions, mention_all, attachments) \
            SELECT ?, ?, bumped.last_seq, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM bumped \
            RETURNING seq, chat_id AS stored_chat, id AS stored_id), \
        logged AS ( \
            INSERT INTO changes (chat_id, kind, message_id) \
            SELECT stored_chat, {created}, stored_id FROM stored RETURNING id), \
        caught_up AS ( \
            UPDATE chat_members SET last_read_seq = stored.seq FROM stored \
            WHERE chat_id = ? AND user_id = ? \
                AND last_read_seq < stored.seq - {UNREAD_WINDOW} \
            RETURNING chat_members.chat_id, chat_members.user_id, chat_members.last_read_seq), \
        caught_up_logged AS ( \
            INSERT INTO changes (chat_id, kind, user_id, seq) \
            SELECT chat_id, {read}, user_id, last_read_seq FROM caught_up, logged) \
        SELECT seq FROM stored",
        created = ChangeKind::MessageCreated.code(),
        read = ChangeKind::Read.code()
    )
});

/// SQLite: the same steps inside one transaction (SQLite has no
/// data-modifying CTEs; it has one writer at a time anyway).
/// A sender far behind catches up to their message (see [`APPEND_PG`]).
pub(super) static CATCH_UP_SQLITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE chat_members SET last_read_seq = ? \
         WHERE chat_id = ? AND user_id = ? AND last_read_seq < ? - {UNREAD_WINDOW}"
    )
});

/// The bump also returns the sender's read position, so the catch-up
/// statement runs only when it has something to do.
pub(super) const BUMP_SQLITE: &str = "UPDATE chats SET last_seq = last_seq + 1, \
        last_activity_us = MAX(last_activity_us, ?) \
    WHERE id = ? AND EXISTS (SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) \
    RETURNING last_seq, \
        (SELECT last_read_seq FROM chat_members WHERE chat_id = ? AND user_id = ?) AS read_seq";

/// Takes the chat's row lock (as every append does) and checks
/// membership, answering the chat's last seq and the sender's read
/// position; no row when the sender is not a member.
pub(super) const LOCK_FOR_BATCH: &str = "UPDATE chats SET last_seq = last_seq \
    WHERE id = ? AND EXISTS (SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) \
    RETURNING last_seq, \
        (SELECT last_read_seq FROM chat_members WHERE chat_id = ? AND user_id = ?) AS read_seq";

/// Moves the chat to the batch's last seq and activity.
pub(super) const BATCH_BUMP: &str = "UPDATE chats SET last_seq = ?, \
    last_activity_us = CASE WHEN last_activity_us > ? THEN last_activity_us ELSE ? END \
    WHERE id = ?";

/// The row of a new message stored with `seq`.
pub(super) fn stored_model(new: &NewMessage, seq: i64) -> messages::ActiveModel {
    messages::ActiveModel {
        id: Set(new.id.as_uuid()),
        chat_id: Set(new.chat_id.as_uuid()),
        seq: Set(seq),
        sender_id: Set(new.sender_id.as_uuid()),
        content: Set(new.content.as_str().to_owned()),
        role: Set(new.role.as_str().to_owned()),
        rating: Set(new.rating),
        client_id: Set(new.client_id.as_ref().map(|c| c.as_str().to_owned())),
        reply_to: Set(new.reply_to.map(|r| r.as_uuid())),
        sent_at: Set(new.sent_at),
        created_at: Set(new.created_at),
        edited_at: Set(None),
        deleted_at: Set(None),
        metadata: Set(new.metadata.to_stored()),
        search_text: Set(Some(index_text(new.content.as_str()))),
        pinned_by: Set(None),
        pinned_at: Set(None),
        thread_root_id: Set(new.thread_root_id.map(|r| r.as_uuid())),
        reply_count: Set(0),
        last_reply_seq: Set(None),
        last_reply_at: Set(None),
        thread_participants: Set(None),
        mentions: Set(convert::stored_user_ids(new.mentions.users())),
        mention_all: Set(new.mention_all),
        reaction_kinds: Set(0),
        attachments: Set(convert::stored_attachments(&new.attachments)),
    }
}

#[derive(Debug, FromQueryResult)]
pub(super) struct SeqRow {
    seq: i64,
}

pub(super) fn bump_values(new: &NewMessage) -> Vec<Value> {
    vec![
        micros(new.created_at).into(),
        new.chat_id.as_uuid().into(),
        new.chat_id.as_uuid().into(),
        new.sender_id.as_uuid().into(),
    ]
}

pub(super) fn insert_values(new: &NewMessage) -> Vec<Value> {
    vec![
        new.id.as_uuid().into(),
        new.chat_id.as_uuid().into(),
        new.sender_id.as_uuid().into(),
        new.content.as_str().into(),
        new.role.as_str().into(),
        new.rating.into(),
        new.client_id.as_ref().map(|c| c.as_str().to_owned()).into(),
        new.reply_to.map(|r| r.as_uuid()).into(),
        new.sent_at.into(),
        new.created_at.into(),
        new.metadata.to_stored().into(),
        index_text(new.content.as_str()).into(),
        new.thread_root_id.map(|r| r.as_uuid()).into(),
        convert::stored_user_ids(new.mentions.users()).into(),
        new.mention_all.into(),
        convert::stored_attachments(&new.attachments).into(),
    ]
}

pub(super) enum Attempt {
    Stored(i64),
    NotMember,
    Duplicate,
    /// An attached upload was deleted since it was checked.
    UploadGone,
}

impl SeaMessageRepository {
    pub(super) async fn append_postgres(&self, new: &NewMessage) -> Result<Attempt, DbErr> {
        let mut values = bump_values(new);
        values.push(send_turn_key(new.chat_id).into());
        values.extend(insert_values(new));
        values.extend([new.chat_id.as_uuid().into(), new.sender_id.as_uuid().into()]);
        // Numbered once: this is the hottest statement.
        static SQL: LazyLock<String> =
            LazyLock::new(|| statement(DbBackend::Postgres, &APPEND_PG, Vec::new()).sql);
        let notified = Notified::of(new);
        let references = References::of(new);
        let statement = if new.thread_root_id.is_none() && !notified.anyone() && !references.any() {
            Statement::from_sql_and_values(DbBackend::Postgres, SQL.as_str(), values)
        } else {
            // Replies, mentions and attachments add parts to the same
            // statement.
            let mut parts = String::new();
            if let Some(root) = new.thread_root_id {
                parts.push_str(&THREADED_PG);
                values.push(new.created_at.into());
                values.extend(participant_values(new.sender_id));
                values.push(root.as_uuid().into());
                values.push(root.as_uuid().into());
            }
            if notified.anyone() {
                parts.push_str(&format!(
                    ", mentioned AS ({})",
                    notified.sql("stored.seq", "stored, ")
                ));
                values.push(new.id.as_uuid().into());
                values.extend(notified.values());
            }
            if references.any() {
                parts.push_str(&references.sql_after_stored());
                values.extend(references.pairs());
            }
            let sql = APPEND_PG.replace(
                " SELECT seq FROM stored",
                &format!("{parts} SELECT seq FROM stored"),
            );
            statement(DbBackend::Postgres, &sql, values)
        };
        let row = SeqRow::find_by_statement(statement).one(&self.conn).await;
        match row {
            Ok(Some(row)) => Ok(Attempt::Stored(row.seq)),
            Ok(None) => Ok(Attempt::NotMember),
            Err(e) if is_unique_violation(&e) => Ok(Attempt::Duplicate),
            Err(e) if references.any() && is_upload_gone(&e) => Ok(Attempt::UploadGone),
            Err(e) => Err(e),
        }
    }

    /// SQLite, alone: one write turn and one transaction for this send
    /// (group commit off; see [`super::group`]).
    pub(super) async fn append_sqlite(&self, new: &NewMessage) -> Result<Attempt, DbErr> {
        let _turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await?;
        let attempt = append_sqlite_in(&txn, new).await?;
        match attempt {
            Attempt::Stored(_) => txn.commit().await?,
            Attempt::NotMember | Attempt::Duplicate | Attempt::UploadGone => {
                txn.rollback().await?;
            }
        }
        Ok(attempt)
    }

    pub(super) async fn append_many(
        &self,
        batch: &[NewMessage],
    ) -> Result<Vec<Appended>, AppendError> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let (chat_id, sender_id) = (first.chat_id, first.sender_id);
        let backend = self.conn.get_database_backend();
        let _turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // The chat's row lock first, as every append takes it: no other
        // append of this chat runs until this one commits, so the client
        // ids looked up below cannot be taken meanwhile.
        let mut lock_values: Vec<Value> = vec![
            chat_id.as_uuid().into(),
            chat_id.as_uuid().into(),
            sender_id.as_uuid().into(),
        ];
        let lock_sql = if backend == DbBackend::Postgres {
            // Transaction ids in seq order, as for single sends.
            lock_values.push(send_turn_key(chat_id).into());
            LOCK_FOR_BATCH.replace(" RETURNING", &format!(" AND {SEND_TURN_PG} RETURNING"))
        } else {
            LOCK_FOR_BATCH.to_owned()
        };
        lock_values.extend([chat_id.as_uuid().into(), sender_id.as_uuid().into()]);
        let Some(locked) = txn
            .query_one_raw(statement(backend, &lock_sql, lock_values))
            .await
            .map_err(infra_error)?
        else {
            txn.rollback().await.map_err(infra_error)?;
            return Err(AppendError::NotMember);
        };
        let last_seq: i64 = locked.try_get("", "last_seq").map_err(infra_error)?;
        let read_seq: i64 = locked.try_get("", "read_seq").map_err(infra_error)?;

        let client_ids: Vec<String> = batch
            .iter()
            .filter_map(|m| m.client_id.as_ref().map(|c| c.as_str().to_owned()))
            .collect();
        let mut existing: std::collections::HashMap<String, Message> =
            std::collections::HashMap::new();
        for chunk in client_ids.chunks(500) {
            let found = messages::Entity::find()
                .filter(messages::Column::ChatId.eq(chat_id.as_uuid()))
                .filter(messages::Column::SenderId.eq(sender_id.as_uuid()))
                .filter(messages::Column::ClientId.is_in(chunk.iter().cloned()))
                .all(&txn)
                .await
                .map_err(infra_error)?;
            for model in found {
                let message = convert::message(model)?;
                if let Some(client_id) = &message.client_id {
                    existing.insert(client_id.as_str().to_owned(), message);
                }
            }
        }

        let mut next = last_seq;
        let mut answer = Vec::with_capacity(batch.len());
        let mut rows = Vec::new();
        let mut newest_at = None;
        for new in batch {
            let repeat = new
                .client_id
                .as_ref()
                .and_then(|c| existing.get(c.as_str()));
            match repeat {
                Some(stored) => answer.push(Appended::Existing(stored.clone())),
                None => {
                    next += 1;
                    rows.push(stored_model(new, next));
                    newest_at = Some(new.created_at);
                    answer.push(Appended::Created(new.stored_as(next)));
                }
            }
        }
        if let Some(created_at) = newest_at {
            for chunk in rows.chunks(200) {
                messages::Entity::insert_many(chunk.to_vec())
                    .exec_without_returning(&txn)
                    .await
                    .map_err(infra_error)?;
            }
            for (new, appended) in batch.iter().zip(&answer) {
                if let Appended::Created(message) = appended {
                    Notified::of(new)
                        .insert(&txn, message.seq)
                        .await
                        .map_err(infra_error)?;
                    References::of(new)
                        .insert(&txn)
                        .await
                        .map_err(|e| upload_gone_or(e, new))?;
                }
            }
            let mut changes: Vec<NewChange> = answer
                .iter()
                .filter_map(|a| match a {
                    Appended::Created(m) => Some(NewChange::message(
                        chat_id,
                        ChangeKind::MessageCreated,
                        m.id,
                    )),
                    Appended::Existing(_) => None,
                })
                .collect();
            let bumps = thread_bumps(&answer);
            changes.extend(
                bumps
                    .iter()
                    .map(|(root, _)| NewChange::message(chat_id, ChangeKind::Thread, *root)),
            );
            record(&txn, &changes).await.map_err(infra_error)?;
            for (root, (replies, seq, at)) in bumps {
                txn.execute_raw(statement(
                    backend,
                    &ROOT_BUMP,
                    root_bump_values(root, replies, seq, at, sender_id),
                ))
                .await
                .map_err(infra_error)?;
            }
            txn.execute_raw(statement(
                backend,
                BATCH_BUMP,
                vec![
                    next.into(),
                    micros(created_at).into(),
                    micros(created_at).into(),
                    chat_id.as_uuid().into(),
                ],
            ))
            .await
            .map_err(infra_error)?;
            if read_seq < next - UNREAD_WINDOW {
                let moved = txn
                    .execute_raw(statement(
                        backend,
                        &CATCH_UP_SQLITE,
                        vec![
                            next.into(),
                            chat_id.as_uuid().into(),
                            sender_id.as_uuid().into(),
                            next.into(),
                        ],
                    ))
                    .await
                    .map_err(infra_error)?
                    .rows_affected();
                // `read_seq` was read before: a read since may have moved
                // the position already, and then there is no change.
                if moved > 0 {
                    record(&txn, &[NewChange::read(chat_id, sender_id, next)])
                        .await
                        .map_err(infra_error)?;
                }
            }
        }
        txn.commit().await.map_err(infra_error)?;
        Ok(answer)
    }
}

/// SQLite: one send's statements inside `txn` (a transaction, or a
/// savepoint of a group's), in the write turn the caller holds. Commits
/// nothing: the caller keeps the work on [`Attempt::Stored`] and must roll
/// it back on any other answer or error (a duplicate's bump, an attachment
/// refused after the message row, are already written).
pub(super) async fn append_sqlite_in(
    txn: &impl ConnectionTrait,
    new: &NewMessage,
) -> Result<Attempt, DbErr> {
    let backend = txn.get_database_backend();
    let Some(bumped) = txn
        .query_one_raw(statement(backend, BUMP_SQLITE, {
            let mut values = bump_values(new);
            values.extend([new.chat_id.as_uuid().into(), new.sender_id.as_uuid().into()]);
            values
        }))
        .await?
    else {
        return Ok(Attempt::NotMember);
    };
    let seq: i64 = bumped.try_get("", "last_seq")?;
    let read_seq: i64 = bumped.try_get("", "read_seq")?;
    let model = stored_model(new, seq);
    match messages::Entity::insert(model)
        .exec_without_returning(txn)
        .await
    {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Ok(Attempt::Duplicate),
        Err(e) => return Err(e),
    }
    if let Some(root) = new.thread_root_id {
        txn.execute_raw(statement(
            backend,
            &ROOT_BUMP,
            root_bump_values(root, 1, seq, new.created_at, new.sender_id),
        ))
        .await?;
    }
    Notified::of(new).insert(txn, seq).await?;
    if let Err(e) = References::of(new).insert(txn).await {
        return if is_upload_gone(&e) {
            Ok(Attempt::UploadGone)
        } else {
            Err(e)
        };
    }
    let mut changes = vec![NewChange::message(
        new.chat_id,
        ChangeKind::MessageCreated,
        new.id,
    )];
    if let Some(root) = new.thread_root_id {
        changes.push(NewChange::message(new.chat_id, ChangeKind::Thread, root));
    }
    if read_seq < seq - UNREAD_WINDOW {
        let moved = txn
            .execute_raw(statement(
                backend,
                &CATCH_UP_SQLITE,
                vec![
                    seq.into(),
                    new.chat_id.as_uuid().into(),
                    new.sender_id.as_uuid().into(),
                    seq.into(),
                ],
            ))
            .await?
            .rows_affected();
        if moved > 0 {
            changes.push(NewChange::read(new.chat_id, new.sender_id, seq));
        }
    }
    record(txn, &changes).await?;
    Ok(Attempt::Stored(seq))
}

/// A batch's failure: [`AppendError::UploadGone`] when an attached upload
/// was deleted since it was checked, else storage's.
fn upload_gone_or(err: DbErr, new: &NewMessage) -> AppendError {
    if !new.attachments.is_empty() && is_upload_gone(&err) {
        AppendError::UploadGone
    } else {
        AppendError::Infra(infra_error(err))
    }
}
