//! What keeps costs bounded and removals final:
//!
//! * `chats.member_version`, bumped in the same transaction as every
//!   membership change, so a real-time dispatcher can tell — with one
//!   query per batch of events — whether the members it remembers are
//!   still the members, whatever signals it lost or got out of order.
//! * `chats.member_count`, kept in the same transactions, and
//!   `chat_members.joined_us` (microseconds since the epoch: an integer
//!   sorts chronologically on both engines, SQLite's timestamp text does
//!   not) with an index of members in joining order: a chat's view carries
//!   the count and the first members only, and the rest are paged, so
//!   neither grows with the group.
//! * Unread counts at a bounded cost: no member's own message may lie more
//!   than 1 000 positions after their read position (the send keeps it so,
//!   see `UNREAD_WINDOW` in missive-infra); existing read positions are
//!   moved forward where they were further behind their own messages, and
//!   a partial index of deleted messages counts the deleted ones beyond.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

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
        manager
            .alter_table(
                Table::alter()
                    .table(Chats::Table)
                    .add_column(big_integer(Chats::MemberCount).default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE chats SET member_count = \
             (SELECT COUNT(*) FROM chat_members WHERE chat_members.chat_id = chats.id)",
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChatMembers::Table)
                    .add_column(big_integer(ChatMembers::JoinedUs).default(0))
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE chat_members SET joined_us = \
                 (EXTRACT(EPOCH FROM joined_at) * 1000000)::BIGINT"
            }
            // Rows from before this migration: julianday's double is exact
            // to a few microseconds, which is all the order needs.
            _ => {
                "UPDATE chat_members SET joined_us = \
                 CAST(ROUND((julianday(joined_at) - 2440587.5) * 86400000000.0) AS INTEGER)"
            }
        })
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_chat_members_joined \
             ON chat_members (chat_id, joined_us, user_id)",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX IF NOT EXISTS idx_messages_deleted ON messages (chat_id, seq) \
             WHERE deleted_at IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE chat_members SET last_read_seq = ( \
                 SELECT MAX(m.seq) - 1000 FROM messages m \
                 WHERE m.chat_id = chat_members.chat_id AND m.sender_id = chat_members.user_id) \
             WHERE last_read_seq < ( \
                 SELECT COALESCE(MAX(m.seq), 0) - 1000 FROM messages m \
                 WHERE m.chat_id = chat_members.chat_id AND m.sender_id = chat_members.user_id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS idx_messages_deleted")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_chat_members_joined")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ChatMembers::Table)
                    .drop_column(ChatMembers::JoinedUs)
                    .to_owned(),
            )
            .await?;
        for column in [Chats::MemberVersion, Chats::MemberCount] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Chats::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    MemberVersion,
    MemberCount,
}

#[derive(DeriveIden)]
enum ChatMembers {
    Table,
    JoinedUs,
}
