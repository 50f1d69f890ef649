//! Attachments (SPEC §4.7; `docs/design/attachments.md`). `blobs`: one
//! row per stored content (its SHA-256), the row whose lock a collection
//! holds while it deletes the bytes. `uploads`: a user's upload of a
//! blob (quotas count these). `message_attachments`: a message's
//! references, removed with the message's deletion.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Blobs::Table)
                    .if_not_exists()
                    .col(string_len(Blobs::Sha256, 64).primary_key())
                    .col(big_integer(Blobs::Size))
                    .col(big_integer(Blobs::CreatedUs))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .if_not_exists()
                    .col(uuid(Uploads::Id).primary_key())
                    .col(uuid(Uploads::OwnerId))
                    .col(text(Uploads::Filename))
                    .col(string_len(Uploads::ContentType, 255))
                    .col(big_integer(Uploads::Size))
                    .col(string_len(Uploads::Sha256, 64))
                    .col(integer_null(Uploads::Width))
                    .col(integer_null(Uploads::Height))
                    .col(string_len_null(Uploads::ThumbnailSha256, 64))
                    .col(big_integer(Uploads::CreatedUs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_uploads_owner")
                            .from(Uploads::Table, Uploads::OwnerId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_uploads_blob")
                            .from(Uploads::Table, Uploads::Sha256)
                            .to(Blobs::Table, Blobs::Sha256),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MessageAttachments::Table)
                    .if_not_exists()
                    .col(uuid(MessageAttachments::MessageId))
                    .col(uuid(MessageAttachments::UploadId))
                    .col(small_integer(MessageAttachments::Position))
                    .primary_key(
                        Index::create()
                            .col(MessageAttachments::MessageId)
                            .col(MessageAttachments::UploadId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_attachments_message")
                            .from(MessageAttachments::Table, MessageAttachments::MessageId)
                            .to(Messages::Table, Messages::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_message_attachments_upload")
                            .from(MessageAttachments::Table, MessageAttachments::UploadId)
                            .to(Uploads::Table, Uploads::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, table, column) in [
            (
                "idx_uploads_owner",
                Uploads::Table.into_iden(),
                Uploads::OwnerId.into_iden(),
            ),
            (
                "idx_uploads_sha256",
                Uploads::Table.into_iden(),
                Uploads::Sha256.into_iden(),
            ),
            (
                "idx_uploads_thumbnail",
                Uploads::Table.into_iden(),
                Uploads::ThumbnailSha256.into_iden(),
            ),
            (
                "idx_uploads_created",
                Uploads::Table.into_iden(),
                Uploads::CreatedUs.into_iden(),
            ),
            (
                "idx_message_attachments_upload",
                MessageAttachments::Table.into_iden(),
                MessageAttachments::UploadId.into_iden(),
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MessageAttachments::Table.into_iden(),
            Uploads::Table.into_iden(),
            Blobs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Sha256,
    Size,
    CreatedUs,
}

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    OwnerId,
    Filename,
    ContentType,
    Size,
    Sha256,
    Width,
    Height,
    ThumbnailSha256,
    CreatedUs,
}

#[derive(DeriveIden)]
enum MessageAttachments {
    Table,
    MessageId,
    UploadId,
    Position,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
}
