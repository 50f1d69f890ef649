//! Connecting to the database, migrating it, and checking it is alive.

use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use missive_domain::InfraError;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, DatabaseConnection, DbBackend, DbErr};

use crate::db_error::infra_error;

/// Which engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (production, several instances).
    Postgres,
    /// SQLite (embedded, single instance).
    Sqlite,
}

/// How to open the pool.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    /// `postgres://…` or `sqlite://…` URL.
    pub url: String,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before it is
    /// answered 503, so a dead database fails requests fast.
    pub acquire_timeout: Duration,
    /// PostgreSQL: statements running longer are cancelled (the request
    /// answers 503), so no request holds a connection and locks
    /// indefinitely. `None` for migrations, which may take long.
    pub statement_timeout: Option<Duration>,
}

/// A pooled connection to PostgreSQL or SQLite.
#[derive(Debug, Clone)]
pub struct Database {
    conn: DatabaseConnection,
    max_connections: u32,
    write_gate: WriteGate,
}

/// Queues this process's SQLite write transactions.
///
/// SQLite has one writer at a time. A transaction that finds the database
/// locked waits in SQLite's busy handler, which *sleeps* (1, 2, 5, 10 …
/// 100 ms) and polls again: under concurrent sends most of the time went
/// to those sleeps (BENCHMARKS.md). Hot write transactions take a turn
/// here first, in FIFO order, so they meet an unlocked database. On
/// PostgreSQL the gate is open (row locks do the work).
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteGate(Option<Arc<tokio::sync::Mutex<()>>>);

impl WriteGate {
    /// Waits for this process's turn to write; hold the guard until the
    /// transaction has committed or rolled back.
    pub(crate) async fn turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.0 {
            Some(gate) => Some(Arc::clone(gate).lock_owned().await),
            None => None,
        }
    }
}

/// How busy the pool is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (idle or in use).
    pub open: u32,
    /// Connections open and idle.
    pub idle: usize,
    /// The configured maximum.
    pub max: u32,
}

impl Database {
    /// Opens the pool. For SQLite it turns on WAL, foreign keys and a busy
    /// timeout; for PostgreSQL it checks one connection.
    ///
    /// # Errors
    /// [`DbErr`] when the URL is invalid or the database cannot be reached.
    pub async fn connect(options: &DatabaseOptions) -> Result<Self, DbErr> {
        let mut connect = ConnectOptions::new(options.url.clone());
        connect
            .max_connections(options.max_connections.max(1))
            .min_connections(0)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(options.acquire_timeout)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5))
            });
        if options.url.starts_with("postgres") {
            // sqlx pings a pooled connection on *every* acquire by default:
            // one extra round trip to PostgreSQL per query (BENCHMARKS.md:
            // a fifth of PostgreSQL's CPU per history page). Only a
            // connection idle for a second or more is pinged; a busy one
            // that broke fails its query (503, retried by clients with
            // their client_id) and is discarded. SQLite's "round trip" is
            // to an in-process thread and measured no faster without it,
            // so it keeps the default.
            connect.test_before_acquire_if_idle_for(Duration::from_secs(1));
            // Every statement is prepared once per connection; PostgreSQL
            // then plans it again on *each* execution whenever its custom
            // plan looks cheaper than the generic one — which the history
            // page and the send statement always do (a seq bound narrows
            // the estimate) although both plans are the same index scan.
            // Planning was most of PostgreSQL's CPU per history page
            // (BENCHMARKS.md). Missive's statements are key lookups whose
            // best plan does not depend on the values, so generic plans
            // are forced; full-text search, whose plan does depend on how
            // rare the words are, writes its words into the SQL instead
            // (see `SeaMessageRepository::search`).
            let statement_timeout = options
                .statement_timeout
                .map_or_else(|| "0".to_owned(), |t| format!("{}ms", t.as_millis()));
            connect.map_sqlx_postgres_opts(move |opts| {
                opts.options([
                    ("plan_cache_mode", "force_generic_plan"),
                    ("statement_timeout", statement_timeout.as_str()),
                ])
            });
        }
        let conn = sea_orm::Database::connect(connect).await?;
        let write_gate = match conn.get_database_backend() {
            DbBackend::Sqlite => WriteGate(Some(Arc::default())),
            _ => WriteGate(None),
        };
        Ok(Self {
            conn,
            max_connections: options.max_connections.max(1),
            write_gate,
        })
    }

    /// The engine behind this pool.
    pub fn backend(&self) -> Backend {
        match self.conn.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    /// Open, idle and maximum pool connections.
    pub fn pool_stats(&self) -> PoolStats {
        let (open, idle) = match self.conn.get_database_backend() {
            DbBackend::Postgres => {
                let pool = self.conn.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = self.conn.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        PoolStats {
            open,
            idle,
            max: self.max_connections,
        }
    }

    /// Applies every pending migration.
    ///
    /// # Errors
    /// [`DbErr`] when a migration fails.
    pub async fn migrate_up(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    /// Checks the database answers a trivial query.
    ///
    /// # Errors
    /// [`InfraError::Unavailable`] when it does not.
    pub async fn ping(&self) -> Result<(), InfraError> {
        self.conn.ping().await.map_err(infra_error)
    }

    /// The queue for SQLite write transactions (open on PostgreSQL).
    pub(crate) fn write_gate(&self) -> WriteGate {
        self.write_gate.clone()
    }

    /// The SeaORM connection, for adapters in this crate and for the
    /// migration commands.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Closes the pool, waiting for connections to be returned.
    ///
    /// # Errors
    /// [`DbErr`] when closing fails.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}
