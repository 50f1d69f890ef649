use std::future::Future;

use missive_infra::Database;
use missive_infra::scratch::{fresh_database, postgres_test_url};
use time::OffsetDateTime;

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

/// Now, at the microsecond precision both databases keep.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_microsecond(now.microsecond()).expect("valid")
}
