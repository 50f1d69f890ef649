//! # missive-domain
//!
//! The core of Missive, a chat and message-persistence backend: entities,
//! validated value objects, the ports the domain needs from the outside
//! world, and the use cases that enforce every business rule. This crate
//! does no I/O and depends on no runtime, web framework or database
//! driver, so other Rust services can embed it with storage of their own.
//!
//! ## Map
//!
//! * **Entities and values** — [`user`], [`api_key`], [`chat`],
//!   [`message`], [`mention`], [`reaction`], [`pin`], [`thread`],
//!   [`upload`], [`metadata`], [`sync`], [`paging`]. Constructors validate,
//!   so a value of these types is always valid ("parse, don't validate"):
//!   a [`message::MessageContent`] is never over its limit, an
//!   [`user::Email`] is normalised, a [`metadata::Metadata`] is a bounded
//!   JSON object.
//! * **Ports** — [`ports`]: the traits adapters implement, held by the
//!   services as `Arc<dyn Port>`. Storage: `UserRepository`,
//!   `ApiKeyRepository`, `ChatRepository`, `MessageRepository`,
//!   `ReactionRepository`, `PinRepository`, `UploadRepository`,
//!   `ChangeLog`, `BlobStore`. Around them: `EventPublisher` (real-time
//!   delivery), `Clock`, `PasswordHasher`, `ApiKeyMinter`, `TypeSniffer`,
//!   `ImagePreviewer`. Each method's docs say what an adapter MUST keep.
//! * **Use cases** — [`services`]: `UserService`, `ApiKeyService`,
//!   `ChatService`, `MessageService`, `ReactionService`, `PinService`,
//!   `UploadService`, `SyncService`. Every method checks who may do what
//!   and returns its own error enum, which an API maps to its responses.
//! * **Events** — [`event`]: what the services publish after each change.
//!
//! ## Adapters that exist
//!
//! | crate | what | ports |
//! |---|---|---|
//! | `missive-infra` | SeaORM on PostgreSQL and SQLite, argon2id, local and S3 blob stores | all |
//! | `missive-memory` | in memory, one lock over all state | every storage port, events, clock; a test-only hasher, no key minter |
//! | this crate, feature `mocks` | `mockall` fakes (`MockUserRepository`, …) | all |
//!
//! ## Features
//!
//! * `mocks` — a `mockall` fake of every port, for unit tests of code
//!   that calls them.
//! * `testkit` — [`testkit`]: the **repository contract suite**. Both
//!   shipped adapter families run it; run it against yours to prove it
//!   keeps the rules the services rely on (gap-free seqs under parallel
//!   sends, idempotent `client_id`s, visibility, one direct chat per pair,
//!   the change log's order …).
//!
//! ## Embedding
//!
//! A service is built from its ports; nothing else is global:
//!
//! ```
//! use std::sync::Arc;
//! use missive_domain::ports::{Clock, PasswordHasher, UserRepository};
//! use missive_domain::services::users::UserService;
//!
//! fn build(
//!     users: Arc<dyn UserRepository>,
//!     hasher: Arc<dyn PasswordHasher>,
//!     clock: Arc<dyn Clock>,
//! ) -> UserService {
//!     UserService::new(users, hasher, clock)
//! }
//! ```
//!
//! `missive-memory` gives every port at once, for a first try or for
//! tests; `crates/memory/examples/chat.rs` wires users, chats and messages
//! to it and runs a conversation (`cargo run -p missive-memory --example
//! chat`), and `examples/embed.rs` here implements a user store by hand
//! (`cargo run -p missive-domain --example embed`). To prove an adapter of
//! your own, implement [`testkit::Fixture`] and run
//! [`testkit::Suite`] under your runtime (see the module's docs).
#![deny(missing_docs)]

pub mod api_key;
pub mod chat;
pub mod error;
pub mod event;
pub mod ids;
pub mod mention;
pub mod message;
pub mod metadata;
pub mod paging;
pub mod pin;
pub mod ports;
pub mod reaction;
pub mod search;
pub mod services;
pub mod sync;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod thread;
pub mod upload;
pub mod user;
pub mod value;

pub use error::InfraError;

/// The attribute the ports are declared with (`#[missive_domain::async_trait]`
/// on an `impl` of a port), so an adapter needs no `async-trait` of its own.
pub use async_trait::async_trait;
/// The `time` crate the ports speak (`OffsetDateTime`), so an adapter uses
/// the very same version.
pub use time;
