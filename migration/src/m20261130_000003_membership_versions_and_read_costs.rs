//! Two things that keep costs bounded and removals final:
//!
//! * `chats.member_version`, bumped in the same transaction as every
//!   membership change, so a real-time dispatcher can tell — with one
//!   query per batch of events — whether the members it remembers are
//!   still the members, whatever signals it lost or got out of order.
//! * Unread counts in constant time: a sender's read position moves to
//!   their own message when they send (existing read positions are moved
//!   past each member's own messages here), so the unread count is
//!   `last_seq - last_read_seq` minus the deleted messages after the read
//!   position, which a partial index of deleted messages counts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Chats::Table)
                    .add_column(big_integer(Chats::MemberVersion).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_messages_deleted ON messages (chat_id, seq) \
             WHERE deleted_at IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE chat_members SET last_read_seq = ( \
                 SELECT MAX(m.seq) FROM messages m \
                 WHERE m.chat_id = chat_members.chat_id AND m.sender_id = chat_members.user_id) \
             WHERE last_read_seq < ( \
                 SELECT COALESCE(MAX(m.seq), 0) FROM messages m \
                 WHERE m.chat_id = chat_members.chat_id AND m.sender_id = chat_members.user_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_messages_deleted")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Chats::Table)
                    .drop_column(Chats::MemberVersion)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    MemberVersion,
}
