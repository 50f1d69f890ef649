//! Throwaway databases for test suites and benchmarks: each caller gets a
//! fresh, empty, migrated database so runs never see each other's rows.

use sea_orm::{ConnectionTrait, DbErr};
use std::time::Duration;

use crate::{Database, DatabaseOptions};

/// The environment variable naming a PostgreSQL server for tests. When it is
/// set, suites also run against PostgreSQL; the role needs `CREATEDB`.
pub const TEST_DATABASE_URL_VAR: &str = "MISSIVE_TEST_DATABASE_URL";

/// The PostgreSQL URL from [`TEST_DATABASE_URL_VAR`], if set and not empty.
pub fn postgres_test_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// Creates a new, uniquely named database on the PostgreSQL server of
/// `server_url` and returns its URL. The database is left for the caller
/// (or the throwaway cluster) to drop.
///
/// # Errors
/// [`DbErr`] when the server cannot be reached or refuses `CREATE DATABASE`.
pub async fn create_postgres_database(server_url: &str) -> Result<String, DbErr> {
    let admin = Database::connect(&options(server_url.to_owned(), 1)).await?;
    let name = format!("missive_test_{}", uuid::Uuid::now_v7().simple());
    admin
        .connection()
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    admin.close().await?;
    Ok(with_database_name(server_url, &name))
}

/// A fresh migrated database: SQLite in a file under `dir`, or, with
/// `postgres_server` given, a new PostgreSQL database on that server.
///
/// # Errors
/// [`DbErr`] when the database cannot be created, opened or migrated.
pub async fn fresh_database(
    dir: &std::path::Path,
    postgres_server: Option<&str>,
    max_connections: u32,
) -> Result<(Database, String), DbErr> {
    let url = match postgres_server {
        Some(server) => create_postgres_database(server).await?,
        None => format!(
            "sqlite://{}?mode=rwc",
            dir.join("missive-test.db").display()
        ),
    };
    let db = Database::connect(&options(url.clone(), max_connections)).await?;
    db.migrate_up().await?;
    Ok((db, url))
}

fn options(url: String, max_connections: u32) -> DatabaseOptions {
    DatabaseOptions {
        url,
        max_connections,
        acquire_timeout: Duration::from_secs(10),
        statement_timeout: None,
    }
}

/// `postgres://u:p@h:1/old?x=y` with `old` replaced by `name`.
fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Waits until every transaction that committed before the call is below
/// the change log's horizon, so `GET /sync` and live delivery can see it.
/// On PostgreSQL the horizon is cluster-wide: a suite's other databases
/// hold it back for moments. Immediate on SQLite.
///
/// # Errors
/// When the database cannot be read, or the horizon does not pass within
/// 30 seconds.
pub async fn settle(db: &Database) -> Result<(), DbErr> {
    use missive_domain::ports::ChangeLog;
    if db.backend() != crate::Backend::Postgres {
        return Ok(());
    }
    let row = db
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_current_xact_id()::text::bigint AS x",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no transaction id".into()))?;
    let fence: i64 = row.try_get("", "x")?;
    let log = crate::SeaChangeLog::new(db);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = log.now().await.map_err(|e| DbErr::Custom(e.to_string()))?;
        if now.xid > fence {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(DbErr::Custom(format!("the horizon never passed {fence}")));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn database_name_is_replaced_keeping_credentials_and_query() {
        assert_eq!(
            with_database_name(
                "postgres://u:p@127.0.0.1:5432/missive?sslmode=disable",
                "t1"
            ),
            "postgres://u:p@127.0.0.1:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database_name("postgres://h", "t2"), "postgres://h/t2");
    }
}
