//! Reactions (`message_reactions`) and pins (on `messages`).

use std::collections::HashMap;

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::Message;
use missive_domain::pin::{MAX_PER_CHAT, Pinned};
use missive_domain::ports::{PinRepository, ReactionRepository};
use missive_domain::reaction::{Added, MAX_PER_MESSAGE, Reaction, ReactionSummary, Reactor};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, TransactionTrait, Value,
};
use time::OffsetDateTime;

use missive_domain::sync::ChangeKind;

use super::changes::record_about_message;
use super::convert::{self, from_micros, micros};
use super::messages::find_in;
use crate::Database;
use crate::database::WriteGate;
use crate::db_error::infra_error;
use crate::entity::messages;
use crate::sql::{for_update, placeholders, statement};

/// Sets a message's count of different reactions from its rows (run
/// under the message's row lock, after the change).
const RECOUNT_KINDS: &str = "UPDATE messages SET reaction_kinds = \
    (SELECT COUNT(DISTINCT r.reaction) FROM message_reactions r WHERE r.message_id = messages.id) \
    WHERE id = ?";

/// [`ReactionRepository`] on SeaORM.
#[derive(Debug, Clone)]
pub struct SeaReactionRepository {
    conn: DatabaseConnection,
    write_gate: WriteGate,
}

impl SeaReactionRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
            write_gate: db.write_gate(),
        }
    }

    /// Decides and stores an addition inside `txn`, under the message's
    /// row lock.
    async fn add_in(
        txn: &DatabaseTransaction,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
        at: OffsetDateTime,
    ) -> Result<Option<Added>, sea_orm::DbErr> {
        let backend = txn.get_database_backend();
        let (id, user_id, text) = (message_id.as_uuid(), user.as_uuid(), reaction.as_str());
        // The lock first, in a statement of its own: under READ COMMITTED
        // a statement that waited for a row lock still reads everything
        // else as of its start, so the checks below must be a later
        // statement to see what the previous holder of the lock committed.
        let Some(row) = txn
            .query_one_raw(statement(
                backend,
                &format!(
                    "SELECT CAST(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END AS BIGINT) AS live \
                     FROM messages WHERE id = ?{}",
                    for_update(backend)
                ),
                vec![id.into()],
            ))
            .await?
        else {
            return Ok(None);
        };
        let live: i64 = row.try_get("", "live")?;
        if live == 0 {
            return Ok(None);
        }
        let row = txn
            .query_one_raw(statement(
                backend,
                "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM message_reactions r \
                        WHERE r.message_id = ? AND r.reaction = ? AND r.user_id = ?) \
                        THEN 1 ELSE 0 END AS BIGINT) AS mine, \
                    CAST(CASE WHEN EXISTS (SELECT 1 FROM message_reactions r \
                        WHERE r.message_id = ? AND r.reaction = ?) \
                        THEN 1 ELSE 0 END AS BIGINT) AS known, \
                    (SELECT COUNT(DISTINCT r.reaction) FROM message_reactions r \
                        WHERE r.message_id = ?) AS kinds",
                vec![
                    id.into(),
                    text.into(),
                    user_id.into(),
                    id.into(),
                    text.into(),
                    id.into(),
                ],
            ))
            .await?
            .ok_or_else(|| {
                sea_orm::DbErr::Custom("a SELECT without FROM answered no row".into())
            })?;
        let mine: i64 = row.try_get("", "mine")?;
        let known: i64 = row.try_get("", "known")?;
        let kinds: i64 = row.try_get("", "kinds")?;
        if mine == 1 {
            return Ok(Some(Added::AlreadyThere));
        }
        if known == 0 && kinds >= MAX_PER_MESSAGE as i64 {
            return Ok(Some(Added::TooMany));
        }
        let inserted = txn
            .execute_raw(statement(
                backend,
                "INSERT INTO message_reactions (message_id, reaction, user_id, created_us) \
                 VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                vec![id.into(), text.into(), user_id.into(), micros(at).into()],
            ))
            .await?
            .rows_affected();
        if inserted == 0 {
            return Ok(Some(Added::AlreadyThere));
        }
        txn.execute_raw(statement(backend, RECOUNT_KINDS, vec![id.into()]))
            .await?;
        Ok(Some(Added::Added))
    }

    /// Removes a reaction inside `txn`, under the message's row lock
    /// (taken first, so the recount reads every change committed before),
    /// and recounts the message's different reactions.
    async fn remove_in(
        txn: &DatabaseTransaction,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
    ) -> Result<bool, sea_orm::DbErr> {
        let backend = txn.get_database_backend();
        let id = message_id.as_uuid();
        txn.query_one_raw(statement(
            backend,
            &format!(
                "SELECT id FROM messages WHERE id = ?{}",
                for_update(backend)
            ),
            vec![id.into()],
        ))
        .await?;
        let removed = txn
            .execute_raw(statement(
                backend,
                "DELETE FROM message_reactions \
                 WHERE message_id = ? AND reaction = ? AND user_id = ?",
                vec![id.into(), reaction.as_str().into(), user.as_uuid().into()],
            ))
            .await?
            .rows_affected()
            > 0;
        if removed {
            txn.execute_raw(statement(backend, RECOUNT_KINDS, vec![id.into()]))
                .await?;
        }
        Ok(removed)
    }
}

#[async_trait]
impl ReactionRepository for SeaReactionRepository {
    async fn add(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
        at: OffsetDateTime,
    ) -> Result<Option<Added>, InfraError> {
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let outcome = Self::add_in(&txn, message_id, user, reaction, at)
            .await
            .map_err(infra_error)?;
        if outcome == Some(Added::Added) {
            record_about_message(
                &txn,
                ChangeKind::Reaction,
                message_id,
                Some(user),
                Some(format!("+{}", reaction.as_str())),
            )
            .await
            .map_err(infra_error)?;
            txn.commit().await.map_err(infra_error)?;
        } else {
            txn.rollback().await.map_err(infra_error)?;
        }
        drop(turn);
        Ok(outcome)
    }

    async fn remove(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
    ) -> Result<bool, InfraError> {
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let removed = Self::remove_in(&txn, message_id, user, reaction)
            .await
            .map_err(infra_error)?;
        if removed {
            record_about_message(
                &txn,
                ChangeKind::Reaction,
                message_id,
                Some(user),
                Some(format!("-{}", reaction.as_str())),
            )
            .await
            .map_err(infra_error)?;
        }
        txn.commit().await.map_err(infra_error)?;
        drop(turn);
        Ok(removed)
    }

    async fn has(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
    ) -> Result<bool, InfraError> {
        let found = self
            .conn
            .query_one_raw(statement(
                self.conn.get_database_backend(),
                "SELECT user_id FROM message_reactions \
                 WHERE message_id = ? AND reaction = ? AND user_id = ?",
                vec![
                    message_id.as_uuid().into(),
                    reaction.as_str().into(),
                    user.as_uuid().into(),
                ],
            ))
            .await
            .map_err(infra_error)?;
        Ok(found.is_some())
    }

    async fn summaries(
        &self,
        viewer: UserId,
        ids: &[MessageId],
    ) -> Result<HashMap<MessageId, Vec<ReactionSummary>>, InfraError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let backend = self.conn.get_database_backend();
        let sql = match backend {
            // One index range per message, whatever the planner thinks of
            // the table's size (an IN list over a small table is a scan
            // comparing every row with every id).
            DbBackend::Postgres => format!(
                "SELECT ids.id AS message_id, r.reaction, r.n, r.me, r.first_us \
                 FROM (VALUES {}) AS ids(id) CROSS JOIN LATERAL ( \
                    SELECT reaction, COUNT(*) AS n, \
                        MAX(CASE WHEN user_id = $1 THEN 1 ELSE 0 END) AS me, \
                        MIN(created_us) AS first_us \
                    FROM message_reactions WHERE message_id = ids.id \
                    GROUP BY reaction) r \
                 ORDER BY ids.id, r.first_us, r.reaction",
                (2..ids.len() + 2)
                    .map(|n| format!("(${n}::uuid)"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => format!(
                "SELECT message_id, reaction, COUNT(*) AS n, \
                    MAX(CASE WHEN user_id = ? THEN 1 ELSE 0 END) AS me, \
                    MIN(created_us) AS first_us \
                 FROM message_reactions WHERE message_id IN ({}) \
                 GROUP BY message_id, reaction \
                 ORDER BY message_id, first_us, reaction",
                placeholders(ids.len())
            ),
        };
        let mut values: Vec<Value> = Vec::with_capacity(ids.len() + 1);
        values.push(viewer.as_uuid().into());
        values.extend(ids.iter().map(|id| Value::from(id.as_uuid())));
        let rows = self
            .conn
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                backend, sql, values,
            ))
            .await
            .map_err(infra_error)?;
        let mut found: HashMap<MessageId, Vec<ReactionSummary>> = HashMap::new();
        for row in rows {
            let message_id: uuid::Uuid = row.try_get("", "message_id").map_err(infra_error)?;
            let reaction: String = row.try_get("", "reaction").map_err(infra_error)?;
            let count: i64 = row.try_get("", "n").map_err(infra_error)?;
            // An integer of the engine's width.
            let me = row
                .try_get::<i32>("", "me")
                .map(i64::from)
                .or_else(|_| row.try_get::<i64>("", "me"))
                .map_err(infra_error)?;
            found
                .entry(MessageId::from_uuid(message_id))
                .or_default()
                .push(ReactionSummary {
                    reaction: Reaction::from_stored(reaction),
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                    me: me == 1,
                });
        }
        Ok(found)
    }

    async fn reactors(
        &self,
        message_id: MessageId,
        reaction: &Reaction,
        after: Option<Reactor>,
        limit: u32,
    ) -> Result<Vec<Reactor>, InfraError> {
        let mut sql = String::from(
            "SELECT user_id, created_us FROM message_reactions \
             WHERE message_id = ? AND reaction = ?",
        );
        let mut values: Vec<Value> = vec![message_id.as_uuid().into(), reaction.as_str().into()];
        if let Some(cursor) = after {
            let at = micros(cursor.at);
            sql.push_str(" AND (created_us > ? OR (created_us = ? AND user_id > ?))");
            values.extend([at.into(), at.into(), cursor.user_id.as_uuid().into()]);
        }
        // Written into the SQL, not bound (see SeaMessageRepository::page).
        sql.push_str(&format!(" ORDER BY created_us, user_id LIMIT {limit}"));
        let rows = self
            .conn
            .query_all_raw(statement(self.conn.get_database_backend(), &sql, values))
            .await
            .map_err(infra_error)?;
        rows.iter()
            .map(|row| {
                let user_id: uuid::Uuid = row.try_get("", "user_id").map_err(infra_error)?;
                let at: i64 = row.try_get("", "created_us").map_err(infra_error)?;
                Ok(Reactor {
                    user_id: UserId::from_uuid(user_id),
                    at: from_micros(at)?,
                })
            })
            .collect()
    }
}

/// [`PinRepository`] on SeaORM: pins live on their message.
#[derive(Debug, Clone)]
pub struct SeaPinRepository {
    conn: DatabaseConnection,
    write_gate: WriteGate,
}

impl SeaPinRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
            write_gate: db.write_gate(),
        }
    }

    async fn pin_in(
        txn: &DatabaseTransaction,
        chat_id: ChatId,
        message_id: MessageId,
        by: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<Pinned>, InfraError> {
        let backend = txn.get_database_backend();
        let chat = chat_id.as_uuid();
        // The chat's row lock serialises pins of one chat (and appends,
        // briefly), so the count below stays true until the commit.
        let locked = txn
            .query_one_raw(statement(
                backend,
                &format!("SELECT id FROM chats WHERE id = ?{}", for_update(backend)),
                vec![chat.into()],
            ))
            .await
            .map_err(infra_error)?;
        if locked.is_none() {
            return Ok(None);
        }
        let Some(row) = txn
            .query_one_raw(statement(
                backend,
                "SELECT CAST(CASE WHEN m.deleted_at IS NULL THEN 1 ELSE 0 END AS BIGINT) AS live, \
                    CAST(CASE WHEN m.pinned_at IS NULL THEN 0 ELSE 1 END AS BIGINT) AS pinned, \
                    (SELECT COUNT(*) FROM messages p \
                        WHERE p.chat_id = ? AND p.pinned_at IS NOT NULL) AS pins \
                 FROM messages m WHERE m.id = ? AND m.chat_id = ?",
                vec![chat.into(), message_id.as_uuid().into(), chat.into()],
            ))
            .await
            .map_err(infra_error)?
        else {
            return Ok(None);
        };
        let live: i64 = row.try_get("", "live").map_err(infra_error)?;
        let pinned: i64 = row.try_get("", "pinned").map_err(infra_error)?;
        let pins: i64 = row.try_get("", "pins").map_err(infra_error)?;
        if live == 0 {
            return Ok(Some(Pinned::Deleted));
        }
        if pinned == 0 {
            if pins >= MAX_PER_CHAT as i64 {
                return Ok(Some(Pinned::TooMany));
            }
            // A deletion takes the message's row lock, not the chat's: the
            // UPDATE waits for it and then finds a tombstone, never pins one.
            let updated = txn
                .execute_raw(statement(
                    backend,
                    "UPDATE messages SET pinned_by = ?, pinned_at = ? \
                     WHERE id = ? AND deleted_at IS NULL",
                    vec![by.as_uuid().into(), at.into(), message_id.as_uuid().into()],
                ))
                .await
                .map_err(infra_error)?
                .rows_affected();
            if updated == 0 {
                return Ok(Some(Pinned::Deleted));
            }
        }
        let message = find_in(txn, message_id)
            .await?
            .ok_or_else(|| InfraError::unexpected("a locked message vanished"))?;
        Ok(Some(if pinned == 0 {
            Pinned::Pinned(message)
        } else {
            Pinned::AlreadyPinned(message)
        }))
    }
}

#[async_trait]
impl PinRepository for SeaPinRepository {
    async fn pin(
        &self,
        chat_id: ChatId,
        message_id: MessageId,
        by: UserId,
        at: OffsetDateTime,
    ) -> Result<Option<Pinned>, InfraError> {
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let outcome = Self::pin_in(&txn, chat_id, message_id, by, at).await?;
        if matches!(outcome, Some(Pinned::Pinned(_))) {
            record_about_message(&txn, ChangeKind::Pin, message_id, None, None)
                .await
                .map_err(infra_error)?;
        }
        txn.commit().await.map_err(infra_error)?;
        drop(turn);
        Ok(outcome)
    }

    async fn unpin(
        &self,
        chat_id: ChatId,
        message_id: MessageId,
    ) -> Result<Option<Message>, InfraError> {
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let changed = txn
            .execute_raw(statement(
                txn.get_database_backend(),
                "UPDATE messages SET pinned_by = NULL, pinned_at = NULL \
                 WHERE id = ? AND chat_id = ? AND pinned_at IS NOT NULL",
                vec![message_id.as_uuid().into(), chat_id.as_uuid().into()],
            ))
            .await
            .map_err(infra_error)?
            .rows_affected();
        if changed == 0 {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(None);
        }
        record_about_message(&txn, ChangeKind::Pin, message_id, None, None)
            .await
            .map_err(infra_error)?;
        let message = find_in(&txn, message_id).await?;
        txn.commit().await.map_err(infra_error)?;
        drop(turn);
        Ok(message)
    }

    async fn pinned(&self, chat_id: ChatId) -> Result<Vec<Message>, InfraError> {
        let sql = format!(
            "SELECT {cols} FROM messages m WHERE m.chat_id = ? AND m.pinned_at IS NOT NULL \
             ORDER BY m.pinned_at DESC, m.seq DESC LIMIT {MAX_PER_CHAT}",
            cols = messages::COLUMNS_M
        );
        let backend = self.conn.get_database_backend();
        let rows = self
            .conn
            .query_all_raw(statement(backend, &sql, vec![chat_id.as_uuid().into()]))
            .await
            .map_err(infra_error)?;
        messages::decode_rows(&rows)
            .map_err(infra_error)?
            .into_iter()
            .map(convert::message)
            .collect()
    }
}
