//! Repository contract tests: every body runs on SQLite, and on PostgreSQL
//! when `MISSIVE_TEST_DATABASE_URL` is set.

mod api_keys;
mod attachments;
mod blobs;
mod changes;
mod chats;
mod mentions;
mod messages;
mod migrations;
mod reactions;
mod s3;
mod support;
mod threads;
mod uploads;
mod users;
