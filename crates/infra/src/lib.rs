//! # missive-infra
//!
//! Driven adapters for the ports of `missive-domain`: SeaORM repositories
//! that run unchanged on PostgreSQL and SQLite, an argon2id password hasher
//! that keeps the async runtime free, an API-key minter (CSPRNG secrets,
//! SHA-256 digests) and the system clock. SeaORM models never leave this
//! crate.

pub mod blobs;
pub mod clock;
pub mod database;
mod db_error;
mod entity;
pub mod keys;
pub mod password;
pub mod realtime;
pub mod repositories;
pub mod scratch;
mod sql;

pub use blobs::{ImagePreviews, LocalBlobStore, MagicSniffer, S3BlobStore, S3Config};
pub use clock::SystemClock;
pub use database::{Backend, Database, DatabaseOptions, PoolStats};
pub use keys::Sha256KeyMinter;
pub use password::Argon2Hasher;
pub use realtime::{Signal, SignalBus, SignalPublisher};
pub use repositories::{
    GroupCommit, GroupCommitStats, SeaApiKeyRepository, SeaChangeLog, SeaChatRepository,
    SeaMessageRepository, SeaPinRepository, SeaReactionRepository, SeaUploadRepository,
    SeaUserRepository, SearchPlan, SearchTuning, UNREAD_WINDOW, send_turn_key,
};
