//! Messages carry their attachments (SPEC §4.7; `docs/design/attachments.md`):
//! `messages.attachments` holds the attached uploads as the message shows
//! them (a JSON array, written once with the message, emptied with it on
//! deletion), so every read of a message — history, events, sync, search —
//! has them without another query. `message_attachments` stays the index
//! of references that visibility and collection read.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE messages ADD COLUMN attachments TEXT")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE messages DROP COLUMN attachments")
            .await?;
        Ok(())
    }
}
