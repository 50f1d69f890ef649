//! Search that finds what people type: word prefixes in spaced scripts and
//! substrings inside runs of CJK characters. The full-text index now reads
//! `messages.search_text`, computed by the service for every message
//! (`missive_domain::search::index_text`: lower-cased words, CJK runs as
//! characters and pairs) instead of the raw content. Existing messages are
//! indexed here, in batches. Also an index of each chat's messages by id,
//! so listings across chats are answered chat by chat.

use missive_domain::search::index_text;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Messages indexed per round while migrating.
const BATCH: u64 = 1_000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        db.execute_unprepared("ALTER TABLE messages ADD COLUMN search_text TEXT")
            .await?;
        backfill(manager).await?;
        match backend {
            DbBackend::Postgres => {
                for statement in [
                    "DROP INDEX IF EXISTS idx_messages_search",
                    "ALTER TABLE messages DROP COLUMN search",
                    "ALTER TABLE messages ADD COLUMN search tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED",
                    "CREATE INDEX idx_messages_search ON messages USING GIN (search)",
                ] {
                    db.execute_unprepared(statement).await?;
                }
            }
            _ => {
                let statements = [
                    "DROP TRIGGER IF EXISTS messages_fts_insert",
                    "DROP TRIGGER IF EXISTS messages_fts_update",
                    "DROP TRIGGER IF EXISTS messages_fts_delete",
                    "INSERT INTO messages_fts (messages_fts) VALUES ('delete-all')",
                    "INSERT INTO messages_fts (rowid, content) \
                     SELECT s.rowid, m.search_text FROM message_search s \
                     JOIN messages m ON m.id = s.message_id WHERE m.search_text IS NOT NULL",
                    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN \
                     INSERT INTO message_search (message_id) VALUES (new.id); \
                     INSERT INTO messages_fts (rowid, content) \
                     SELECT last_insert_rowid(), new.search_text WHERE new.search_text IS NOT NULL; \
                     END",
                    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF search_text ON messages BEGIN \
                     INSERT INTO messages_fts (messages_fts, rowid, content) \
                     SELECT 'delete', rowid, old.search_text FROM message_search \
                     WHERE message_id = old.id AND old.search_text IS NOT NULL; \
                     INSERT INTO messages_fts (rowid, content) \
                     SELECT rowid, new.search_text FROM message_search \
                     WHERE message_id = new.id AND new.search_text IS NOT NULL; \
                     END",
                    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN \
                     INSERT INTO messages_fts (messages_fts, rowid, content) \
                     SELECT 'delete', rowid, old.search_text FROM message_search \
                     WHERE message_id = old.id AND old.search_text IS NOT NULL; \
                     DELETE FROM message_search WHERE message_id = old.id; \
                     END",
                ]
                .join("; ");
                // One call, so one connection runs the whole swap: the
                // pool's other connections never see the triggers half
                // replaced.
                db.execute_unprepared(&statements).await?;
            }
        }
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_messages_chat_id ON messages (chat_id, id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_messages_chat_id")
            .await?;
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for statement in [
                    "DROP INDEX IF EXISTS idx_messages_search",
                    "ALTER TABLE messages DROP COLUMN search",
                    "ALTER TABLE messages ADD COLUMN search tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', translate(content, \
                     '!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~', \
                     '                                '))) STORED",
                    "CREATE INDEX idx_messages_search ON messages USING GIN (search)",
                ] {
                    db.execute_unprepared(statement).await?;
                }
            }
            _ => {
                for statement in [
                    "DROP TRIGGER IF EXISTS messages_fts_insert",
                    "DROP TRIGGER IF EXISTS messages_fts_update",
                    "DROP TRIGGER IF EXISTS messages_fts_delete",
                    "INSERT INTO messages_fts (messages_fts) VALUES ('delete-all')",
                    "INSERT INTO messages_fts (rowid, content) \
                     SELECT s.rowid, m.content FROM message_search s \
                     JOIN messages m ON m.id = s.message_id",
                    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN \
                     INSERT INTO message_search (message_id) VALUES (new.id); \
                     INSERT INTO messages_fts (rowid, content) VALUES (last_insert_rowid(), new.content); \
                     END",
                    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN \
                     INSERT INTO messages_fts (messages_fts, rowid, content) \
                     SELECT 'delete', rowid, old.content FROM message_search WHERE message_id = old.id; \
                     INSERT INTO messages_fts (rowid, content) \
                     SELECT rowid, new.content FROM message_search WHERE message_id = new.id; \
                     END",
                    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN \
                     INSERT INTO messages_fts (messages_fts, rowid, content) \
                     SELECT 'delete', rowid, old.content FROM message_search WHERE message_id = old.id; \
                     DELETE FROM message_search WHERE message_id = old.id; \
                     END",
                ] {
                    db.execute_unprepared(statement).await?;
                }
            }
        }
        db.execute_unprepared("ALTER TABLE messages DROP COLUMN search_text")
            .await?;
        Ok(())
    }
}

/// Computes `search_text` for every live message, oldest id first, in
/// batches (deleted messages have no text to index).
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let placeholder = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    loop {
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT id, content FROM messages \
                     WHERE search_text IS NULL AND deleted_at IS NULL LIMIT {BATCH}"
                ),
            ))
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            let id: Value = row
                .try_get_by_index::<sea_orm_migration::sea_orm::prelude::Uuid>(0)?
                .into();
            let content: String = row.try_get_by_index(1)?;
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE messages SET search_text = {} WHERE id = {}",
                    placeholder(1),
                    placeholder(2)
                ),
                [Value::from(index_text(&content)), id],
            ))
            .await?;
        }
    }
}
