//! Missive's schema. This crate is the only place that defines tables;
//! `missive migrate up|down|status|fresh` and `serve` (with
//! `database.auto_migrate`) apply it. Every migration runs on PostgreSQL and
//! SQLite; the only engine-specific part is the full-text index (a generated
//! `tsvector` with GIN on PostgreSQL, an FTS5 table on SQLite).

/// Whether a migration is applied, as reported by `Migrator::get_migration_with_status`.
pub use sea_orm_migration::MigrationStatus;
pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_users_and_api_keys;
mod m20261122_000002_create_chats_and_messages;
mod m20261130_000003_membership_versions_and_read_costs;
mod m20261130_000004_metadata;
mod m20261130_000005_search_prefixes_and_cjk;
mod m20261130_000006_reactions_and_pins;
mod m20261130_000007_threads;
mod m20261130_000008_mentions;
mod m20261130_000009_change_log;
mod m20261130_000010_changes_by_chat;
mod m20261130_000011_uploads;
mod m20261130_000012_message_attachments;

/// The ordered list of migrations.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_users_and_api_keys::Migration),
            Box::new(m20261122_000002_create_chats_and_messages::Migration),
            Box::new(m20261130_000003_membership_versions_and_read_costs::Migration),
            Box::new(m20261130_000004_metadata::Migration),
            Box::new(m20261130_000005_search_prefixes_and_cjk::Migration),
            Box::new(m20261130_000006_reactions_and_pins::Migration),
            Box::new(m20261130_000007_threads::Migration),
            Box::new(m20261130_000008_mentions::Migration),
            Box::new(m20261130_000009_change_log::Migration),
            Box::new(m20261130_000010_changes_by_chat::Migration),
            Box::new(m20261130_000011_uploads::Migration),
            Box::new(m20261130_000012_message_attachments::Migration),
        ]
    }
}
