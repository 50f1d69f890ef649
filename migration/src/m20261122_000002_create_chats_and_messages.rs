use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Chats::Table)
                    .if_not_exists()
                    .col(uuid(Chats::Id).primary_key())
                    .col(string_len(Chats::Kind, 16))
                    .col(string_len_null(Chats::Title, 400))
                    .col(uuid(Chats::CreatedBy))
                    .col(timestamp_with_time_zone(Chats::CreatedAt))
                    // Highest message seq; a send bumps it in the same
                    // statement/transaction that inserts the message.
                    .col(big_integer(Chats::LastSeq).default(0))
                    // Microseconds since the epoch of the newer of creation
                    // and the last message: an integer sorts identically on
                    // both engines.
                    .col(big_integer(Chats::LastActivityUs))
                    // "<smaller uuid>:<larger uuid>" for direct chats, NULL
                    // for groups: one direct chat per pair, enforced here.
                    .col(string_len_null(Chats::DirectKey, 80).unique_key())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chats_created_by")
                            .from(Chats::Table, Chats::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChatMembers::Table)
                    .if_not_exists()
                    .col(uuid(ChatMembers::ChatId))
                    .col(uuid(ChatMembers::UserId))
                    .col(string_len(ChatMembers::Role, 16))
                    .col(timestamp_with_time_zone(ChatMembers::JoinedAt))
                    .col(big_integer(ChatMembers::LastReadSeq).default(0))
                    .primary_key(
                        Index::create()
                            .col(ChatMembers::ChatId)
                            .col(ChatMembers::UserId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_members_chat")
                            .from(ChatMembers::Table, ChatMembers::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_chat_members_user")
                            .from(ChatMembers::Table, ChatMembers::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "My chats" starts from the user.
        manager
            .create_index(
                Index::create()
                    .name("idx_chat_members_user")
                    .table(ChatMembers::Table)
                    .col(ChatMembers::UserId)
                    .col(ChatMembers::ChatId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .if_not_exists()
                    .col(uuid(Messages::Id).primary_key())
                    .col(uuid(Messages::ChatId))
                    .col(big_integer(Messages::Seq))
                    .col(uuid(Messages::SenderId))
                    .col(text(Messages::Content))
                    .col(string_len(Messages::Role, 16))
                    .col(boolean_null(Messages::Rating))
                    .col(string_len_null(Messages::ClientId, 256))
                    .col(uuid_null(Messages::ReplyTo))
                    .col(timestamp_with_time_zone(Messages::SentAt))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .col(timestamp_with_time_zone_null(Messages::EditedAt))
                    .col(timestamp_with_time_zone_null(Messages::DeletedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_chat")
                            .from(Messages::Table, Messages::ChatId)
                            .to(Chats::Table, Chats::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_messages_sender")
                            .from(Messages::Table, Messages::SenderId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Gap-free order: one message per (chat, seq); serves history pages.
        manager
            .create_index(
                Index::create()
                    .name("uq_messages_chat_seq")
                    .table(Messages::Table)
                    .col(Messages::ChatId)
                    .col(Messages::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Idempotent sends: NULL client ids never collide.
        manager
            .create_index(
                Index::create()
                    .name("uq_messages_chat_sender_client")
                    .table(Messages::Table)
                    .col(Messages::ChatId)
                    .col(Messages::SenderId)
                    .col(Messages::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                // `simple`: lower-cases and splits words without stemming or
                // stop words, so every language is searchable. ASCII
                // punctuation becomes spaces first, so e-mail addresses, URLs
                // and hyphenated words split into their words exactly as
                // SQLite's tokenizer (and the query side) split them.
                db.execute_unprepared(
                    "ALTER TABLE messages ADD COLUMN search tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', translate(content, \
                     '!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~', \
                     '                                '))) STORED",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_messages_search ON messages USING GIN (search)",
                )
                .await?;
            }
            _ => {
                // A contentless FTS5 index kept in step by triggers. It is
                // keyed by `message_search.rowid`, an INTEGER PRIMARY KEY
                // (stable across VACUUM, unlike the implicit rowid of a table
                // with a UUID key). Diacritics are kept, as on PostgreSQL.
                for statement in [
                    "CREATE TABLE message_search (rowid INTEGER PRIMARY KEY, \
                     message_id BLOB NOT NULL UNIQUE)",
                    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='', \
                     tokenize='unicode61 remove_diacritics 0')",
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
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            let db = manager.get_connection();
            for statement in [
                "DROP TRIGGER IF EXISTS messages_fts_update",
                "DROP TRIGGER IF EXISTS messages_fts_delete",
                "DROP TRIGGER IF EXISTS messages_fts_insert",
                "DROP TABLE IF EXISTS messages_fts",
                "DROP TABLE IF EXISTS message_search",
            ] {
                db.execute_unprepared(statement).await?;
            }
        }
        for table in [
            Messages::Table.into_iden(),
            ChatMembers::Table.into_iden(),
            Chats::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Chats {
    Table,
    Id,
    Kind,
    Title,
    CreatedBy,
    CreatedAt,
    LastSeq,
    LastActivityUs,
    DirectKey,
}

#[derive(DeriveIden)]
enum ChatMembers {
    Table,
    ChatId,
    UserId,
    Role,
    JoinedAt,
    LastReadSeq,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    ChatId,
    Seq,
    SenderId,
    Content,
    Role,
    Rating,
    ClientId,
    ReplyTo,
    SentAt,
    CreatedAt,
    EditedAt,
    DeletedAt,
}
