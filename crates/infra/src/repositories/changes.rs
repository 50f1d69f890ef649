//! The change log (see `missive_domain::sync` and the migration
//! `m20261130_000009_change_log`): recording, inside the caller's
//! transaction, and reading in commit order.
//!
//! **PostgreSQL.** Each row's `xid` is its transaction's id (a column
//! default). A reader computes the horizon `pg_snapshot_xmin` of its
//! snapshot — every transaction with a smaller id has ended — and only
//! passes rows below it, ordered by `(xid, id)`. A transaction that
//! commits after one with a larger id is therefore never skipped: until
//! it ends, the horizon stays at or below its id. The price is that a
//! change waits for every older transaction still writing (milliseconds
//! for Missive's own; a long transaction on the same cluster holds live
//! delivery back while it runs).
//!
//! **SQLite.** One writer at a time: `id` order is commit order, and a
//! reader's snapshot holds a prefix of it.

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::ports::ChangeLog;
use missive_domain::sync::{Change, ChangeKind, ChangePage, NewChange, SyncToken};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, TransactionTrait, Value,
};
use time::OffsetDateTime;

use crate::Database;
use crate::database::WriteGate;
use crate::db_error::infra_error;
use crate::repositories::convert::micros;
use crate::sql::{placeholders, statement};

/// Rows per INSERT (SQLite binds at most a few thousand values).
const INSERT_CHUNK: usize = 500;

/// Records `changes` with the caller's connection or transaction: call it
/// inside the transaction that makes them.
pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    changes: &[NewChange],
) -> Result<(), sea_orm::DbErr> {
    let backend = conn.get_database_backend();
    for chunk in changes.chunks(INSERT_CHUNK) {
        let row = format!("({})", placeholders(6));
        let sql = format!(
            "INSERT INTO changes (chat_id, kind, message_id, user_id, seq, detail) VALUES {}",
            vec![row.as_str(); chunk.len()].join(", ")
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
        for change in chunk {
            values.extend(change_values(change));
        }
        conn.execute_raw(statement(backend, &sql, values)).await?;
    }
    Ok(())
}

fn change_values(change: &NewChange) -> [Value; 6] {
    [
        change.chat_id.as_uuid().into(),
        change.kind.code().into(),
        change.message_id.map(|m| m.as_uuid()).into(),
        change.user_id.map(|u| u.as_uuid()).into(),
        change.seq.into(),
        change.detail.clone().into(),
    ]
}

/// The log over a database pool.
#[derive(Clone)]
pub struct SeaChangeLog {
    conn: DatabaseConnection,
    write_gate: WriteGate,
}

impl SeaChangeLog {
    /// A log using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
            write_gate: db.write_gate(),
        }
    }

    fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }
}

#[derive(Debug, FromQueryResult)]
struct PositionRow {
    xid: i64,
    id: i64,
}

#[derive(Debug, FromQueryResult)]
struct WindowRow {
    horizon: i64,
    scanned: i64,
    last_xid: Option<i64>,
    last_id: Option<i64>,
    id: Option<i64>,
    xid: Option<i64>,
    chat_id: Option<uuid::Uuid>,
    kind: Option<i16>,
    message_id: Option<uuid::Uuid>,
    user_id: Option<uuid::Uuid>,
    seq: Option<i64>,
    detail: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct OldestRow {
    created_us: Option<i64>,
}

/// The horizon: PostgreSQL's oldest running transaction id; on SQLite the
/// last id handed out (every row up to it has committed).
const HORIZON_PG: &str = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint";
const NOW_SQLITE: &str = "COALESCE((SELECT MAX(id) FROM changes), \
    (SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)";

#[async_trait]
impl ChangeLog for SeaChangeLog {
    async fn now(&self) -> Result<SyncToken, InfraError> {
        let backend = self.backend();
        let sql = match backend {
            DbBackend::Postgres => format!("SELECT {HORIZON_PG} AS xid, 0::bigint AS id"),
            _ => format!("SELECT 0 AS xid, {NOW_SQLITE} AS id"),
        };
        let row = PositionRow::find_by_statement(statement(backend, &sql, vec![]))
            .one(&self.conn)
            .await
            .map_err(infra_error)?
            .ok_or_else(|| InfraError::unexpected("no horizon"))?;
        Ok(SyncToken::new(row.xid, row.id))
    }

    async fn read(
        &self,
        after: SyncToken,
        viewer: Option<UserId>,
        limit: u32,
        scan: u32,
    ) -> Result<ChangePage, InfraError> {
        let backend = self.backend();
        let limit = limit.max(1);
        let scan = scan.max(limit);
        let mut values: Vec<Value> = Vec::new();
        let (horizon, window_filter, order) = match backend {
            DbBackend::Postgres => {
                values.extend([after.xid.into(), after.id.into()]);
                (
                    format!("SELECT {HORIZON_PG} AS x"),
                    "(c.xid, c.id) > (?, ?) AND c.xid < (SELECT x FROM h)",
                    "xid, id",
                )
            }
            _ => {
                values.push(after.id.into());
                (
                    format!("SELECT {NOW_SQLITE} AS x"),
                    "c.id > ? AND c.id <= (SELECT x FROM h)",
                    "id",
                )
            }
        };
        let visible = match viewer {
            Some(viewer) => {
                values.extend([viewer.as_uuid().into(), viewer.as_uuid().into()]);
                // A chat's deletion is addressed to each former member alone
                // (a chat created again with the id has other members).
                format!(
                    "WHERE (w.chat_id IN (SELECT chat_id FROM chat_members WHERE user_id = ?) \
                        AND w.kind <> {deleted}) \
                     OR (w.user_id = ? AND w.kind IN ({removed}, {deleted}))",
                    removed = ChangeKind::MemberRemoved.code(),
                    deleted = ChangeKind::ChatDeleted.code()
                )
            }
            None => String::new(),
        };
        let sql = format!(
            "WITH h AS ({horizon}), \
             w AS (SELECT c.id, c.xid, c.chat_id, c.kind, c.message_id, c.user_id, c.seq, c.detail \
                FROM changes c WHERE {window_filter} ORDER BY c.{order_c} LIMIT {scan}), \
             last AS (SELECT xid, id FROM w ORDER BY {order_desc} LIMIT 1), \
             v AS (SELECT w.* FROM w {visible} ORDER BY {order} LIMIT {take}) \
             SELECT (SELECT x FROM h) AS horizon, (SELECT COUNT(*) FROM w) AS scanned, \
                last.xid AS last_xid, last.id AS last_id, \
                v.id, v.xid, v.chat_id, v.kind, v.message_id, v.user_id, v.seq, v.detail \
             FROM h LEFT JOIN last ON 1 = 1 LEFT JOIN v ON 1 = 1 \
             ORDER BY v.{order_v}",
            order_c = order.replace(", ", ", c."),
            order_desc = order
                .split(", ")
                .map(|c| format!("{c} DESC"))
                .collect::<Vec<_>>()
                .join(", "),
            order_v = order.replace(", ", ", v."),
            take = limit + 1,
        );
        let rows = WindowRow::find_by_statement(statement(backend, &sql, values))
            .all(&self.conn)
            .await
            .map_err(infra_error)?;
        let Some(first) = rows.first() else {
            return Err(InfraError::unexpected("the change window answered no row"));
        };
        let (horizon, scanned) = (first.horizon, first.scanned);
        let last = first
            .last_xid
            .zip(first.last_id)
            .map(|(xid, id)| SyncToken::new(xid, id));
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(change) = decode(row)? {
                changes.push(change);
            }
        }
        let complete_end = match backend {
            DbBackend::Postgres => SyncToken::new(horizon, 0),
            _ => SyncToken::new(0, horizon),
        };
        if changes.len() > limit as usize {
            changes.truncate(limit as usize);
            let end = changes.last().map_or(after, |c| c.position);
            return Ok(ChangePage {
                changes,
                end,
                has_more: true,
            });
        }
        if scanned >= i64::from(scan) {
            return Ok(ChangePage {
                changes,
                end: last.unwrap_or(after),
                has_more: true,
            });
        }
        Ok(ChangePage {
            changes,
            end: complete_end,
            has_more: false,
        })
    }

    async fn floor(&self) -> Result<SyncToken, InfraError> {
        let backend = self.backend();
        let row = PositionRow::find_by_statement(statement(
            backend,
            "SELECT xid, change_id AS id FROM sync_floor WHERE id = 1",
            vec![],
        ))
        .one(&self.conn)
        .await
        .map_err(infra_error)?;
        Ok(row.map_or_else(SyncToken::default, |r| SyncToken::new(r.xid, r.id)))
    }

    async fn prune(&self, before: OffsetDateTime, batch: u32) -> Result<u64, InfraError> {
        let backend = self.backend();
        let order = match backend {
            DbBackend::Postgres => "xid, id",
            _ => "id",
        };
        let _turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // Of the `batch` oldest positions (an index range, however large
        // the log), those recorded before `before`: the floor is a clean cut,
        // and a log with nothing to prune costs one short range read.
        let rows = PositionRow::find_by_statement(statement(
            backend,
            &format!(
                "DELETE FROM changes WHERE id IN (SELECT id FROM ( \
                    SELECT id, created_us FROM changes ORDER BY {order} LIMIT {batch}) oldest \
                 WHERE created_us < ?) RETURNING xid, id"
            ),
            vec![micros(before).into()],
        ))
        .all(&txn)
        .await
        .map_err(infra_error)?;
        let Some(highest) = rows.iter().map(|r| SyncToken::new(r.xid, r.id)).max() else {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(0);
        };
        txn.execute_raw(statement(
            backend,
            "UPDATE sync_floor SET xid = ?, change_id = ? WHERE id = 1 \
             AND (xid < ? OR (xid = ? AND change_id < ?))",
            vec![
                highest.xid.into(),
                highest.id.into(),
                highest.xid.into(),
                highest.xid.into(),
                highest.id.into(),
            ],
        ))
        .await
        .map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)?;
        Ok(rows.len() as u64)
    }

    async fn oldest(&self) -> Result<Option<OffsetDateTime>, InfraError> {
        let backend = self.backend();
        let row = OldestRow::find_by_statement(statement(
            backend,
            "SELECT MIN(created_us) AS created_us FROM changes",
            vec![],
        ))
        .one(&self.conn)
        .await
        .map_err(infra_error)?;
        Ok(row
            .and_then(|r| r.created_us)
            .and_then(|us| OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000).ok()))
    }
}

/// A window row's change, if it carries one (the row of an empty window
/// carries only the window's facts).
fn decode(row: WindowRow) -> Result<Option<Change>, InfraError> {
    let (Some(id), Some(xid), Some(chat_id), Some(kind)) = (row.id, row.xid, row.chat_id, row.kind)
    else {
        return Ok(None);
    };
    let kind = ChangeKind::from_code(kind)
        .ok_or_else(|| InfraError::unexpected(format!("unknown change kind {kind}")))?;
    Ok(Some(Change {
        position: SyncToken::new(xid, id),
        chat_id: ChatId::from_uuid(chat_id),
        kind,
        message_id: row.message_id.map(MessageId::from_uuid),
        user_id: row.user_id.map(UserId::from_uuid),
        seq: row.seq,
        detail: row.detail,
    }))
}

/// Records a change of message `message_id` with its chat and seq read
/// from the message itself (inside the caller's transaction, after the
/// change).
pub(crate) async fn record_about_message(
    conn: &impl ConnectionTrait,
    kind: ChangeKind,
    message_id: MessageId,
    user_id: Option<UserId>,
    detail: Option<String>,
) -> Result<(), sea_orm::DbErr> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "INSERT INTO changes (chat_id, kind, message_id, user_id, seq, detail) \
         SELECT chat_id, ?, id, ?, seq, ? FROM messages WHERE id = ?",
        vec![
            kind.code().into(),
            user_id.map(|u| u.as_uuid()).into(),
            detail.into(),
            message_id.as_uuid().into(),
        ],
    ))
    .await?;
    Ok(())
}
