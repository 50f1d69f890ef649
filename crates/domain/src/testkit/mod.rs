//! The repository contract suite: the rules every storage adapter keeps,
//! written once against the [ports](crate::ports) and run by each adapter
//! family — SQLite and PostgreSQL (`missive-infra`), in memory
//! (`missive-memory`), and yours.
//!
//! The services trust their ports to keep rules that no unit test with a
//! fake can check: seqs are gap-free under parallel sends, a repeated
//! `client_id` stores nothing, a non-member reads nothing, one direct chat
//! per pair, a tombstone keeps its seq, the change log hands out each
//! change once and in commit order … Each rule here is a plain `async fn`
//! that takes a fresh set of adapters and panics, naming the rule, when it
//! breaks.
//!
//! # Running it against your adapters
//!
//! Implement [`Fixture`] (a fresh, empty set of [`Adapters`] per rule, all
//! over one store: a repository checks membership and writes the change
//! log in the same atomic step as its change, so one adapter of yours
//! cannot be mixed with another store's) and run [`Suite`] under the async
//! runtime you use — the suite itself needs none:
//!
//! ```ignore
//! use std::sync::Arc;
//! use missive_domain::async_trait;
//! use missive_domain::testkit::{Adapters, Fixture, NoHooks, Suite};
//!
//! struct Mine;
//!
//! #[async_trait]
//! impl Fixture for Mine {
//!     async fn fresh(&self) -> Adapters {
//!         let db = my_storage::fresh_database().await;
//!         Adapters {
//!             users: Arc::new(MyUsers::new(&db)),
//!             // … one field per port …
//!             hooks: Arc::new(NoHooks), // or yours, see `Hooks`
//!         }
//!     }
//! }
//!
//! #[tokio::test(flavor = "multi_thread")]
//! async fn my_adapters_keep_the_contract() {
//!     Suite::from_env().run(&Mine).await.assert_passed();
//! }
//! ```
//!
//! `Suite::new().only("messages::")` runs the rules whose name contains a
//! string, which helps while an adapter is under construction;
//! [`Suite::from_env`] takes that string from `MISSIVE_CONTRACT_RULE`.
//! [`Suite::rules`] lists the rules a suite runs, [`RULES`] all of them
//! by module. A broken rule panics inside the suite: the test's output
//! shows each panic as it happens (with its location), then
//! [`Report::assert_passed`] lists every broken rule by name.
//!
//! With `missive-memory`'s `testkit` feature, `MemoryStore::testkit_adapters()`
//! gives a complete set to start from: replace the field of the port
//! you are building with a decorator over the memory one.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, stream};

use crate::ports::{
    ApiKeyRepository, BlobStore, ChangeLog, ChatRepository, MessageRepository, PinRepository,
    ReactionRepository, UploadRepository, UserRepository,
};

pub mod support;

pub mod api_keys;
pub mod attachments;
pub mod blobs;
pub mod changes;
pub mod chats;
pub mod mentions;
pub mod messages;
pub mod reactions;
pub mod search;
pub mod threads;
pub mod uploads;
pub mod users;

/// A fresh, empty set of adapters under test: one per port, all over the
/// same storage.
pub struct Adapters {
    /// Users.
    pub users: Arc<dyn UserRepository>,
    /// API keys.
    pub api_keys: Arc<dyn ApiKeyRepository>,
    /// Chats and memberships.
    pub chats: Arc<dyn ChatRepository>,
    /// Messages.
    pub messages: Arc<dyn MessageRepository>,
    /// Reactions.
    pub reactions: Arc<dyn ReactionRepository>,
    /// Pins.
    pub pins: Arc<dyn PinRepository>,
    /// Upload records.
    pub uploads: Arc<dyn UploadRepository>,
    /// Blob bytes (what the upload records' collection deletes from).
    pub blobs: Arc<dyn BlobStore>,
    /// The change log.
    pub changes: Arc<dyn ChangeLog>,
    /// What the storage needs beyond the ports; kept alive as long as the
    /// adapters (a temporary directory, a database to drop …).
    pub hooks: Arc<dyn Hooks>,
}

/// Where adapters come from: a fresh, empty set for every rule.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// New adapters over new, empty storage. Panics when it cannot.
    async fn fresh(&self) -> Adapters;
}

/// What a storage needs beyond the ports for the suite to observe it.
#[async_trait]
pub trait Hooks: Send + Sync {
    /// Waits until every change committed so far is readable from the
    /// change log. Stores whose log is readable at once (SQLite, memory)
    /// keep the default, which returns at once; PostgreSQL's log trails
    /// commits by the transactions still running.
    async fn settle(&self) {}
}

/// Hooks of a storage that needs none.
pub struct NoHooks;

impl Hooks for NoHooks {}

/// One rule of the contract.
pub struct Rule {
    /// `module::rule`, e.g. `messages::seqs_are_gap_free_under_parallel_sends`.
    pub name: &'static str,
    /// Checks the rule against fresh adapters; panics when it is broken.
    pub check: for<'a> fn(&'a Adapters) -> BoxFuture<'a, ()>,
}

/// Builds a module's `RULES` from its rule functions.
macro_rules! rules {
    ($module:literal: $($rule:ident),* $(,)?) => {
        /// The rules of this module, in order.
        pub const RULES: &[$crate::testkit::Rule] = &[
            $($crate::testkit::Rule {
                name: concat!($module, "::", stringify!($rule)),
                check: |adapters| ::std::boxed::Box::pin($rule(adapters)),
            }),*
        ];
    };
}
pub(crate) use rules;

/// Every rule of the contract, module by module.
pub const RULES: &[&[Rule]] = &[
    users::RULES,
    api_keys::RULES,
    chats::RULES,
    messages::RULES,
    search::RULES,
    threads::RULES,
    mentions::RULES,
    reactions::RULES,
    changes::RULES,
    uploads::RULES,
    attachments::RULES,
    blobs::RULES,
];

/// A run of the contract against one fixture.
#[derive(Debug, Clone)]
pub struct Suite {
    only: Option<String>,
    concurrency: usize,
}

impl Default for Suite {
    fn default() -> Self {
        Self::new()
    }
}

impl Suite {
    /// The rules whose name contains `MISSIVE_CONTRACT_RULE` when that
    /// variable is set and not empty, else every rule.
    #[must_use]
    pub fn from_env() -> Self {
        match std::env::var("MISSIVE_CONTRACT_RULE") {
            Ok(part) if !part.trim().is_empty() => Self::new().only(part.trim()),
            _ => Self::new(),
        }
    }

    /// Every rule, eight at a time.
    #[must_use]
    pub fn new() -> Self {
        Self {
            only: None,
            concurrency: 8,
        }
    }

    /// Only the rules whose name contains `part` (e.g. `"messages::"`).
    #[must_use]
    pub fn only(mut self, part: impl Into<String>) -> Self {
        self.only = Some(part.into());
        self
    }

    /// How many rules run at once (each on its own fresh adapters); 1 runs
    /// them one after another.
    #[must_use]
    pub fn concurrency(mut self, rules: usize) -> Self {
        self.concurrency = rules.max(1);
        self
    }

    /// The rules this suite runs.
    pub fn rules(&self) -> impl Iterator<Item = &'static Rule> + '_ {
        RULES
            .iter()
            .flat_map(|module| module.iter())
            .filter(|rule| {
                self.only
                    .as_deref()
                    .is_none_or(|part| rule.name.contains(part))
            })
    }

    /// Runs the rules, each on fresh adapters from `fixture`, and reports
    /// which held. A broken rule does not stop the others.
    pub async fn run(&self, fixture: &dyn Fixture) -> Report {
        let outcomes: Vec<(&'static str, Result<(), String>)> = stream::iter(self.rules())
            .map(|rule| async move {
                let outcome = AssertUnwindSafe(async {
                    let adapters = fixture.fresh().await;
                    (rule.check)(&adapters).await;
                })
                .catch_unwind()
                .await
                .map_err(|panic| panic_message(panic.as_ref()));
                (rule.name, outcome)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut report = Report::default();
        for (name, outcome) in outcomes {
            match outcome {
                Ok(()) => report.passed.push(name),
                Err(why) => report.failed.push((name, why)),
            }
        }
        report.passed.sort_unstable();
        report.failed.sort_unstable();
        report
    }
}

/// Which rules held and which broke.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The rules that held.
    pub passed: Vec<&'static str>,
    /// The rules that broke, with the panic's message.
    pub failed: Vec<(&'static str, String)>,
}

impl Report {
    /// Panics listing every broken rule, or when no rule ran at all.
    ///
    /// # Panics
    /// As said.
    pub fn assert_passed(&self) {
        assert!(
            !self.passed.is_empty() || !self.failed.is_empty(),
            "no contract rule ran"
        );
        assert!(self.failed.is_empty(), "{self}");
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.failed.len() + self.passed.len();
        if self.failed.is_empty() {
            return write!(f, "all {total} contract rules held");
        }
        writeln!(f, "{} of {total} contract rules broke:", self.failed.len())?;
        for (name, why) in &self.failed {
            writeln!(f, "- {name}")?;
            for line in why.lines() {
                writeln!(f, "      {line}")?;
            }
        }
        Ok(())
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "panicked".to_owned()
    }
}
