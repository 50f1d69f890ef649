//! Translating database errors into the domain's vocabulary.

use missive_domain::InfraError;
use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Whether `err` is a unique-constraint violation (same on both engines).
pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Maps any database error to [`InfraError`]: connection trouble (the
/// database is down, restarting, the pool is exhausted, SQLite is locked)
/// becomes `Unavailable` so callers answer 503 and may retry; everything
/// else is `Unexpected`.
pub(crate) fn infra_error(err: DbErr) -> InfraError {
    if is_transient(&err) {
        InfraError::Unavailable(Box::new(err))
    } else {
        InfraError::Unexpected(Box::new(err))
    }
}

fn is_transient(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => match runtime {
            RuntimeErr::SqlxError(e) => is_transient_sqlx(e),
            _ => false,
        },
        _ => false,
    }
}

fn is_transient_sqlx(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // PostgreSQL: class 08 connection exception, 57P01-03 shutdown /
            // cannot connect now, 53300 too many connections, 57014 a
            // statement cancelled by `statement_timeout` (the database was
            // too busy or something held a lock: retry later), 55P03 lock
            // not available. SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "53300" | "57014" | "55P03" | "5" | "6"
                )
        }),
        _ => false,
    }
}
