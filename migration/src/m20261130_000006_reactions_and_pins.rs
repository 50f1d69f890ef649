//! Reactions and pins (SPEC §4.6).
//!
//! A reaction is a row `(message_id, reaction, user_id)`: the primary key
//! makes adding idempotent and counts exact (they are counted, never
//! incremented); rows go with their message or their user. The time a
//! reaction was added is kept in microseconds (`created_us`), so "who
//! reacted, in order" pages by an integer on both engines. The message
//! keeps how many different reactions it carries (`reaction_kinds`, kept
//! under its row lock with each change), so a page of messages that have
//! none reads no reactions at all. A pin lives on
//! its message (`pinned_by`, `pinned_at`), so every read of a message has
//! it without a join; a partial index lists a chat's pins newest first and
//! counts them for the limit of 50.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageReactions::Table)
                    .if_not_exists()
                    .col(uuid(MessageReactions::MessageId))
                    .col(string_len(MessageReactions::Reaction, 160))
                    .col(uuid(MessageReactions::UserId))
                    .col(big_integer(MessageReactions::CreatedUs))
                    .primary_key(
                        Index::create()
                            .col(MessageReactions::MessageId)
                            .col(MessageReactions::Reaction)
                            .col(MessageReactions::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_reactions_message")
                            .from(MessageReactions::Table, MessageReactions::MessageId)
                            .to(Messages::Table, Messages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_reactions_user")
                            .from(MessageReactions::Table, MessageReactions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A user's reactions, for deleting a user without a scan.
        manager
            .create_index(
                Index::create()
                    .name("idx_message_reactions_user")
                    .table(MessageReactions::Table)
                    .col(MessageReactions::UserId)
                    .to_owned(),
            )
            .await?;
        for column in [
            uuid_null(Messages::PinnedBy),
            timestamp_with_time_zone_null(Messages::PinnedAt),
            big_integer(Messages::ReactionKinds).default(0).to_owned(),
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
                "CREATE INDEX idx_messages_pins ON messages (chat_id, pinned_at) \
                 WHERE pinned_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_messages_pins")
            .await?;
        for column in [
            Messages::ReactionKinds,
            Messages::PinnedAt,
            Messages::PinnedBy,
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
        manager
            .drop_table(Table::drop().table(MessageReactions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum MessageReactions {
    Table,
    MessageId,
    Reaction,
    UserId,
    CreatedUs,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    PinnedBy,
    PinnedAt,
    ReactionKinds,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
