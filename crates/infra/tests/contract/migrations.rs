//! Existing databases migrate in place: messages written before the
//! search index changed are found the new way after `migrate up`, and the
//! newest migrations undo and redo cleanly.

use migration::{Migrator, MigratorTrait};
use missive_domain::message::MessageFilter;
use missive_domain::ports::MessageRepository;
use missive_domain::search::SearchTerms;
use missive_infra::scratch::{create_postgres_database, postgres_test_url};
use missive_infra::{Database, DatabaseOptions, SeaMessageRepository};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// The migrations before the search index read `search_text`.
const BEFORE_SEARCH_TEXT: u32 = 4;

/// One connection, as `missive migrate` and the server's auto-migration
/// use: SQLite schema changes spread over a pool raced each other here
/// (a trigger dropped on one connection was still there for the next).
async fn blank(url: String) -> Database {
    Database::connect(&DatabaseOptions {
        url,
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(10),
        statement_timeout: None,
    })
    .await
    .expect("connect")
}

async fn exec(db: &Database, sql: &str, values: Vec<sea_orm::Value>) {
    let backend = db.connection().get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            let mut n = 0;
            sql.chars()
                .map(|c| {
                    if c == '?' {
                        n += 1;
                        format!("${n}")
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        }
        _ => sql.to_owned(),
    };
    if let Err(error) = db
        .connection()
        .execute_raw(Statement::from_sql_and_values(backend, sql.clone(), values))
        .await
    {
        panic!("{sql}: {error}");
    }
}

async fn old_messages_are_found_the_new_way(db: Database) {
    Migrator::up(db.connection(), Some(BEFORE_SEARCH_TEXT))
        .await
        .expect("older migrations");
    let (user, chat) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let at = time::OffsetDateTime::now_utc();
    exec(
        &db,
        "INSERT INTO users (id, email, full_name, password_hash, created_at) VALUES (?, ?, 'Old', 'x', ?)",
        vec![user.into(), format!("{user}@example.org").into(), at.into()],
    )
    .await;
    exec(
        &db,
        "INSERT INTO chats (id, kind, title, created_by, created_at, last_seq, last_activity_us) \
         VALUES (?, 'group', 'Old', ?, ?, 2, 0)",
        vec![chat.into(), user.into(), at.into()],
    )
    .await;
    exec(
        &db,
        "INSERT INTO chat_members (chat_id, user_id, role, joined_at, last_read_seq) \
         VALUES (?, ?, 'owner', ?, 0)",
        vec![chat.into(), user.into(), at.into()],
    )
    .await;
    for (seq, content) in [(1_i64, "Rockets launched"), (2, "我家在上海东边")] {
        exec(
            &db,
            "INSERT INTO messages (id, chat_id, seq, sender_id, content, role, sent_at, created_at) \
             VALUES (?, ?, ?, ?, ?, 'user', ?, ?)",
            vec![
                uuid::Uuid::now_v7().into(),
                chat.into(),
                seq.into(),
                user.into(),
                content.into(),
                at.into(),
                at.into(),
            ],
        )
        .await;
    }

    Migrator::up(db.connection(), None).await.expect("the rest");

    let repo = SeaMessageRepository::new(&db);
    let viewer = missive_domain::ids::UserId::from_uuid(user);
    for q in ["rock", "上海", "海东"] {
        let filter = MessageFilter {
            chat_id: None,
            sender_id: None,
            role: None,
            since: None,
            until: None,
            metadata: vec![],
            terms: Some(SearchTerms::parse(q).expect("valid")),
            before: None,
        };
        let found = repo.list(viewer, &filter, 10).await.expect("list");
        assert_eq!(found.len(), 1, "{q}");
    }

    let applied = Migrator::get_migration_with_status(db.connection())
        .await
        .expect("status")
        .len();
    let newest = u32::try_from(applied).expect("few") - BEFORE_SEARCH_TEXT;
    Migrator::down(db.connection(), Some(newest))
        .await
        .expect("down");
    Migrator::up(db.connection(), None).await.expect("up again");
}

#[tokio::test]
async fn existing_databases_migrate_in_place_and_the_newest_migrations_undo_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
    old_messages_are_found_the_new_way(blank(sqlite).await).await;
    match postgres_test_url() {
        Some(server) => {
            let url = create_postgres_database(&server).await.expect("database");
            old_messages_are_found_the_new_way(blank(url).await).await;
        }
        None => eprintln!("PostgreSQL migration run skipped: MISSIVE_TEST_DATABASE_URL is not set"),
    }
}
