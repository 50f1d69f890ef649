//! The shared repository contract (`missive_domain::testkit`) against the
//! in-memory adapters. `MISSIVE_CONTRACT_RULE=part` runs only the rules
//! whose name contains `part`.

use missive_domain::async_trait;
use missive_domain::testkit::{Adapters, Fixture, Suite};
use missive_memory::MemoryStore;

/// A new, empty store for every rule.
struct MemoryFixture;

#[async_trait]
impl Fixture for MemoryFixture {
    async fn fresh(&self) -> Adapters {
        MemoryStore::new().testkit_adapters()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_keeps_the_shared_contract() {
    let report = Suite::from_env().run(&MemoryFixture).await;
    eprintln!(
        "{} contract rules held, {} broke",
        report.passed.len(),
        report.failed.len()
    );
    report.assert_passed();
}
