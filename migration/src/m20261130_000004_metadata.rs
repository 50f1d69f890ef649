//! Metadata on messages and chats: a JSON object each, NULL when empty.
//! JSONB on PostgreSQL (with a GIN index for `metadata.KEY=VALUE`
//! filters, which it answers with `@>` containment), JSON text on SQLite.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let column_type = match manager.get_database_backend() {
            DbBackend::Postgres => "JSONB",
            _ => "TEXT",
        };
        for table in ["messages", "chats"] {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN metadata {column_type}"
            ))
            .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "CREATE INDEX idx_messages_metadata ON messages \
                 USING GIN (metadata jsonb_path_ops)",
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_messages_metadata")
            .await?;
        for table in ["messages", "chats"] {
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN metadata"))
                .await?;
        }
        Ok(())
    }
}
