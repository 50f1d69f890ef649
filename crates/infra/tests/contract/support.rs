//! What the SQL-only contract tests share: a body run on each backend, and
//! the shared suite's builders over a database.

use std::future::Future;

use missive_domain::ids::{ChatId, UserId};
use missive_domain::testkit::support;
pub use missive_domain::testkit::support::{message, now};
use missive_infra::Database;
use missive_infra::scratch::{fresh_database, postgres_test_url};

use crate::suite::adapters_over;

/// Runs `body` against a fresh SQLite database, then against a fresh
/// PostgreSQL database when one is configured.
pub async fn on_each_backend<F, Fut>(body: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let (sqlite, _) = fresh_database(dir.path(), None, 4).await.expect("sqlite");
    body(sqlite).await;

    match postgres_test_url() {
        Some(server) => {
            let (pg, _) = fresh_database(dir.path(), Some(&server), 16)
                .await
                .expect("postgres");
            body(pg).await;
        }
        None => eprintln!("PostgreSQL contract run skipped: MISSIVE_TEST_DATABASE_URL is not set"),
    }
}

/// Stores `n` users and returns their ids.
pub async fn users(db: &Database, n: usize) -> Vec<UserId> {
    support::users(&adapters_over(db), n).await
}

/// Stores a group owned by the first of `people`, the others members.
pub async fn group(db: &Database, people: &[UserId]) -> ChatId {
    support::group(&adapters_over(db), people).await
}

/// Waits until every change committed so far is readable from the log
/// (see [`missive_infra::scratch::settle`]).
pub async fn settle(db: &Database) {
    missive_infra::scratch::settle(db).await.expect("settle");
}
