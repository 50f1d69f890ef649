//! The change log behind `GET /sync` and WebSocket resume (SPEC §4.8; the
//! design is `docs/design/lossless-sync.md`).
//!
//! `changes` holds one row per change **per chat** (never per recipient),
//! written by the statement or transaction that makes the change. Rows
//! carry ids, not payloads: readers render each change from the current
//! state. `xid` is the writing transaction's id on PostgreSQL (a column
//! default, so every insert gets it without naming it); readers pass only
//! rows of transactions older than every running one, so a transaction
//! that commits late is never skipped. SQLite has one writer at a time, so
//! its `id` order is commit order and `xid` stays 0. `AUTOINCREMENT` keeps
//! SQLite from reusing ids after the retention job empties the table.
//!
//! `sync_floor` has one row: the position below which changes were pruned
//! (a token older than it is answered 410 `sync_expired`).

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE changes ( \
        id BIGSERIAL PRIMARY KEY, \
        xid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint), \
        chat_id UUID NOT NULL, \
        kind SMALLINT NOT NULL, \
        message_id UUID NULL, \
        user_id UUID NULL, \
        seq BIGINT NULL, \
        detail TEXT NULL, \
        created_us BIGINT NOT NULL \
            DEFAULT ((EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint))",
    "CREATE INDEX idx_changes_position ON changes (xid, id)",
    "CREATE INDEX idx_changes_created ON changes (created_us)",
    "CREATE TABLE sync_floor (id SMALLINT PRIMARY KEY, xid BIGINT NOT NULL, change_id BIGINT NOT NULL)",
    "INSERT INTO sync_floor (id, xid, change_id) VALUES (1, 0, 0)",
];

const SQLITE_UP: &[&str] = &[
    "CREATE TABLE changes ( \
        id INTEGER PRIMARY KEY AUTOINCREMENT, \
        xid INTEGER NOT NULL DEFAULT 0, \
        chat_id BLOB NOT NULL, \
        kind INTEGER NOT NULL, \
        message_id BLOB NULL, \
        user_id BLOB NULL, \
        seq INTEGER NULL, \
        detail TEXT NULL, \
        created_us INTEGER NOT NULL \
            DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)))",
    "CREATE INDEX idx_changes_created ON changes (created_us)",
    "CREATE TABLE sync_floor (id INTEGER PRIMARY KEY, xid INTEGER NOT NULL, change_id INTEGER NOT NULL)",
    "INSERT INTO sync_floor (id, xid, change_id) VALUES (1, 0, 0)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES_UP,
            _ => SQLITE_UP,
        };
        let db = manager.get_connection();
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE sync_floor").await?;
        db.execute_unprepared("DROP TABLE changes").await?;
        Ok(())
    }
}
