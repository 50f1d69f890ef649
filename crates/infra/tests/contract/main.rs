//! Repository contract tests: the shared suite (`missive_domain::testkit`,
//! in `suite.rs`), its blob rules on S3 (`blobs.rs`), and what only SQL
//! storage has (migrations, search plans, PostgreSQL's locks, SQLite's
//! group commit) or S3 has. Every body runs on SQLite, and on PostgreSQL
//! when `MISSIVE_TEST_DATABASE_URL` is set (group commit's, on SQLite
//! only).

mod attachments;
mod blobs;
mod changes;
mod chats;
mod group_commit;
mod messages;
mod migrations;
mod s3;
mod suite;
mod support;
mod uploads;
