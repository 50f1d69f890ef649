//! Repository contract tests: the shared suite (`missive_domain::testkit`,
//! in `suite.rs`) and the rules only SQL storage has (migrations, search
//! plans, PostgreSQL's locks, S3), and the blob rules on S3. Every body runs on SQLite, and
//! on PostgreSQL when `MISSIVE_TEST_DATABASE_URL` is set.

mod attachments;
mod blobs;
mod changes;
mod chats;
mod messages;
mod migrations;
mod s3;
mod suite;
mod support;
mod uploads;
