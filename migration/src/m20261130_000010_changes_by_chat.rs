//! The change log by chat: a deleted chat's changes are deleted with it
//! (a chat created again with the same client-chosen id must not show its
//! members the old chat's changes), which needs them by chat. The index by
//! time goes: pruning walks the oldest positions first, which are the
//! oldest changes.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_changes_created")
            .await?;
        db.execute_unprepared("CREATE INDEX idx_changes_chat ON changes (chat_id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_changes_chat").await?;
        db.execute_unprepared("CREATE INDEX idx_changes_created ON changes (created_us)")
            .await?;
        Ok(())
    }
}
