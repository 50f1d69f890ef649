//! The shared repository contract (`missive_domain::testkit`) against the
//! SeaORM adapters: on SQLite always, on PostgreSQL when
//! `MISSIVE_TEST_DATABASE_URL` is set. `MISSIVE_CONTRACT_RULE=part` runs
//! only the rules whose name contains `part`.

use std::sync::Arc;

use async_trait::async_trait;
use missive_domain::testkit::{Adapters, Fixture, Hooks, Suite};
use missive_infra::scratch::{fresh_database, postgres_test_url};
use missive_infra::{
    Database, GroupCommit, LocalBlobStore, SeaApiKeyRepository, SeaChangeLog, SeaChatRepository,
    SeaMessageRepository, SeaPinRepository, SeaReactionRepository, SeaUploadRepository,
    SeaUserRepository, SearchTuning,
};
use tempfile::TempDir;

/// Fresh migrated databases: SQLite files, or new databases on a
/// PostgreSQL server.
struct SeaFixture {
    postgres: Option<String>,
}

/// Keeps the database and its directory for as long as the adapters.
struct SeaHooks {
    db: Database,
    _dir: TempDir,
}

#[async_trait]
impl Hooks for SeaHooks {
    async fn settle(&self) {
        missive_infra::scratch::settle(&self.db)
            .await
            .expect("the change log settles");
    }
}

#[async_trait]
impl Fixture for SeaFixture {
    async fn fresh(&self) -> Adapters {
        sea_adapters(self.postgres.as_deref(), SearchTuning::default()).await
    }
}

/// Adapters over a fresh migrated database — SQLite in a temporary
/// directory, or a new database on the PostgreSQL server `postgres` — with
/// messages searched under `tuning` and sent with group commit on (as the
/// server's default; it groups on SQLite only), and a local blob store
/// beside it.
pub async fn sea_adapters(postgres: Option<&str>, tuning: SearchTuning) -> Adapters {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = if postgres.is_some() { 16 } else { 4 };
    let (db, _) = fresh_database(dir.path(), postgres, pool)
        .await
        .expect("a fresh database");
    adapters_with(db, dir, tuning)
}

/// Adapters over `db` (a local blob store in a new temporary directory).
pub fn adapters_over(db: &Database) -> Adapters {
    let dir = tempfile::tempdir().expect("temp dir");
    adapters_with(db.clone(), dir, SearchTuning::default())
}

fn adapters_with(db: Database, dir: TempDir, tuning: SearchTuning) -> Adapters {
    let blobs = LocalBlobStore::new(dir.path().join("blobs")).expect("blob store");
    Adapters {
        users: Arc::new(SeaUserRepository::new(&db)),
        api_keys: Arc::new(SeaApiKeyRepository::new(&db)),
        chats: Arc::new(SeaChatRepository::new(&db)),
        messages: Arc::new(
            SeaMessageRepository::new(&db)
                .with_search_tuning(tuning)
                .with_group_commit(GroupCommit::default()),
        ),
        reactions: Arc::new(SeaReactionRepository::new(&db)),
        pins: Arc::new(SeaPinRepository::new(&db)),
        uploads: Arc::new(SeaUploadRepository::new(&db)),
        blobs: Arc::new(blobs),
        changes: Arc::new(SeaChangeLog::new(&db)),
        hooks: Arc::new(SeaHooks { db, _dir: dir }),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_keeps_the_shared_contract() {
    Suite::from_env()
        .run(&SeaFixture { postgres: None })
        .await
        .assert_passed();
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_keeps_the_shared_contract() {
    let Some(server) = postgres_test_url() else {
        eprintln!("PostgreSQL contract run skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    };
    Suite::from_env()
        .run(&SeaFixture {
            postgres: Some(server),
        })
        .await
        .assert_passed();
}
