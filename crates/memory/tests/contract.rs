//! The shared repository contract (`missive_domain::testkit`) against the
//! in-memory adapters. `MISSIVE_CONTRACT_RULE=part` runs only the rules
//! whose name contains `part`.

use std::sync::Arc;

use async_trait::async_trait;
use missive_domain::testkit::{Adapters, Fixture, NoHooks, Suite};
use missive_memory::MemoryStore;

/// A new, empty store for every rule.
struct MemoryFixture;

#[async_trait]
impl Fixture for MemoryFixture {
    async fn fresh(&self) -> Adapters {
        let ports = MemoryStore::new().adapters();
        Adapters {
            users: ports.users,
            api_keys: ports.api_keys,
            chats: ports.chats,
            messages: ports.messages,
            reactions: ports.reactions,
            pins: ports.pins,
            uploads: ports.uploads,
            blobs: ports.blobs,
            changes: ports.changes,
            hooks: Arc::new(NoHooks),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_keeps_the_shared_contract() {
    let suite = match std::env::var("MISSIVE_CONTRACT_RULE") {
        Ok(part) if !part.is_empty() => Suite::new().only(part),
        _ => Suite::new(),
    };
    let report = suite.run(&MemoryFixture).await;
    eprintln!(
        "{} contract rules held, {} broke",
        report.passed.len(),
        report.failed.len()
    );
    report.assert_passed();
}
