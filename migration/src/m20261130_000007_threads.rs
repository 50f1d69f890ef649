//! Threads (SPEC §4.6). A reply names the root of its thread
//! (`thread_root_id`); the root keeps the summary of its live replies
//! (`reply_count`, `last_reply_seq`, `last_reply_at`) and the first ten
//! members who replied (`thread_participants`: their ids, comma-separated,
//! in the order they first replied), updated in the transaction of each
//! reply and each deletion. A partial index pages a thread by seq.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            uuid_null(Messages::ThreadRootId),
            big_integer(Messages::ReplyCount).default(0).to_owned(),
            big_integer_null(Messages::LastReplySeq),
            timestamp_with_time_zone_null(Messages::LastReplyAt),
            text_null(Messages::ThreadParticipants),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_messages_thread ON messages (thread_root_id, seq) \
                 WHERE thread_root_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_messages_thread")
            .await?;
        for column in [
            Messages::ThreadParticipants,
            Messages::LastReplyAt,
            Messages::LastReplySeq,
            Messages::ReplyCount,
            Messages::ThreadRootId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Messages::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    ThreadRootId,
    ReplyCount,
    LastReplySeq,
    LastReplyAt,
    ThreadParticipants,
}
