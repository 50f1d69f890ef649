//! Mentions (SPEC §4.6). The message keeps its list (`mentions`: ids,
//! comma-separated; `mention_all`); `message_mentions` holds one row per
//! member to notify, written in the send's transaction, so a member's
//! unread mentions in a chat (`user_id, chat_id, seq`) and their mentions
//! newest first (`user_id, message_id`: ids are time-ordered) are index
//! ranges.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            text_null(Messages::Mentions),
            boolean(Messages::MentionAll).default(false).to_owned(),
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
            .create_table(
                Table::create()
                    .table(MessageMentions::Table)
                    .if_not_exists()
                    .col(uuid(MessageMentions::MessageId))
                    .col(uuid(MessageMentions::UserId))
                    .col(uuid(MessageMentions::ChatId))
                    .col(big_integer(MessageMentions::Seq))
                    .primary_key(
                        Index::create()
                            .col(MessageMentions::MessageId)
                            .col(MessageMentions::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_mentions_message")
                            .from(MessageMentions::Table, MessageMentions::MessageId)
                            .to(Messages::Table, Messages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_mentions_user")
                            .from(MessageMentions::Table, MessageMentions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_message_mentions_unread",
                [
                    MessageMentions::UserId,
                    MessageMentions::ChatId,
                    MessageMentions::Seq,
                ]
                .to_vec(),
            ),
            (
                "idx_message_mentions_newest",
                [MessageMentions::UserId, MessageMentions::MessageId].to_vec(),
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(MessageMentions::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MessageMentions::Table).to_owned())
            .await?;
        for column in [Messages::MentionAll, Messages::Mentions] {
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

#[derive(DeriveIden, Clone, Copy)]
enum MessageMentions {
    Table,
    MessageId,
    UserId,
    ChatId,
    Seq,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    Mentions,
    MentionAll,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
