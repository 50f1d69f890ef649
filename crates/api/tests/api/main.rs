//! HTTP integration tests against the real server on a random port. They
//! run on SQLite, or on PostgreSQL when `MISSIVE_TEST_DATABASE_URL` is set.

mod abuse;
mod api_keys;
mod attachments;
mod auth;
mod bulk;
mod chats;
mod cli;
mod concurrency;
mod docs;
mod errors;
mod helpers;
mod mentions;
mod messages;
mod ops;
mod reactions;
mod resilience;
mod sync;
mod sync_proof;
mod threads;
mod tokens;
mod uploads;
mod users;
mod web;
mod ws;
