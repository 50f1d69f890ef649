//! # missive-memory
//!
//! In-memory adapters for every port of [`missive_domain`]: to try the
//! domain without a database, to test code that embeds it, or to run a
//! single-process tool. Nothing is persisted.
//!
//! * [`MemoryStore`] holds all the data behind one lock and hands out one
//!   adapter per repository port over it — [`UserRepository`],
//!   [`ApiKeyRepository`], [`ChatRepository`], [`MessageRepository`],
//!   [`ReactionRepository`], [`PinRepository`], [`UploadRepository`],
//!   [`ChangeLog`] — and a [`BlobStore`] ([`MemoryBlobStore`]); or all of
//!   them at once with [`MemoryStore::adapters`].
//! * [`BroadcastPublisher`] is an [`EventPublisher`] whose events any number
//!   of subscribers receive; [`SystemClock`] is the [`Clock`].
//! * [`PlainTestHasher`] is a [`PasswordHasher`] for tests and demos that
//!   **stores passwords in plain text** (never use it with real passwords,
//!   nor with adapters that persist them); [`BasicSniffer`]
//!   and [`NoPreviews`] serve the upload use case.
//! * There is no `ApiKeyMinter`: a key's secret must come from a secure
//!   random generator, which this crate does not depend on (use
//!   `missive-infra`'s `Sha256KeyMinter`, or your own).
//!
//! ## The shared contract
//!
//! These adapters keep the repository contract the SQLite and PostgreSQL
//! adapters of `missive-infra` keep — the rules of `missive_domain::testkit`,
//! which this crate's tests run against them: gap-free seqs under parallel
//! sends, a repeated `client_id` stores nothing, a non-member reads nothing,
//! one direct chat per pair, a tombstone keeps its seq, the change log
//! hands out each change once in commit order, the limits on reactions,
//! pins and upload quotas hold under any concurrency … Every operation runs
//! in one step under the store's lock (never held across an `.await`), so
//! each is atomic as a database transaction is, and changes are recorded in
//! the change log in that same step. (Two upload operations take more than
//! one step, as their SQL counterparts take a row lock: `create` may wait
//! for a collection of the same bytes to end, and `collect_blob` deletes
//! the bytes between two steps; see [`MemoryUploadRepository`].)
//!
//! Where they differ from the SQL adapters, it is by being exact or
//! simpler, never by breaking a rule: unread and mention counts are
//! counted in full (no caps), a blob is held whole in memory, nothing
//! survives the process. They mirror the SQL adapters' integrity too: a
//! chat member, key owner, upload owner or reactor must be a stored user
//! (an [`InfraError`](missive_domain::InfraError) otherwise, as a foreign
//! key violation is), and a sender whose read position is more than
//! 1 000 positions behind their new message has it moved to that message,
//! as `missive-infra` does. Every time is stored cut to whole
//! microseconds, the precision both databases keep, so values read back
//! and cursors compare as they do there.
//!
//! ## Example
//!
//! The use cases of `missive_domain::services`, wired to the adapters:
//!
//! ```
//! use std::sync::Arc;
//!
//! use missive_domain::chat::{ChatKind, ChatTitle};
//! use missive_domain::message::{MessageContent, MessageRole};
//! use missive_domain::services::chats::{ChatLimits, ChatService, CreateChat};
//! use missive_domain::services::messages::{MessageService, SendMessage};
//! use missive_domain::services::users::{Registration, UserService};
//! use missive_domain::user::{Email, FullName, Password};
//! use missive_memory::{BroadcastPublisher, MemoryStore, PlainTestHasher, SystemClock};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = MemoryStore::new();
//! let ports = store.adapters();
//! let events = Arc::new(BroadcastPublisher::new());
//! let clock = Arc::new(SystemClock);
//! let users = UserService::new(ports.users.clone(), Arc::new(PlainTestHasher), clock.clone());
//! let chats = ChatService::new(
//!     ports.chats.clone(),
//!     ports.users.clone(),
//!     events.clone(),
//!     clock.clone(),
//!     ChatLimits { max_group_members: 100 },
//! );
//! let messages = MessageService::new(
//!     ports.messages.clone(),
//!     ports.chats.clone(),
//!     ports.reactions.clone(),
//!     ports.uploads.clone(),
//!     events.clone(),
//!     clock,
//! );
//!
//! let ada = users
//!     .register(Registration {
//!         email: Email::new("ada@example.org")?,
//!         full_name: FullName::new("Ada")?,
//!         password: Password::new("analytical engine")?,
//!     })
//!     .await?;
//! let (chat, _) = chats
//!     .create_chat(
//!         ada.id,
//!         CreateChat {
//!             kind: ChatKind::Group,
//!             title: Some(ChatTitle::new("Notes")?),
//!             member_ids: vec![],
//!             id: None,
//!             metadata: Default::default(),
//!         },
//!     )
//!     .await?;
//! let (message, created) = messages
//!     .send(
//!         ada.id,
//!         SendMessage {
//!             chat_id: chat.chat.id,
//!             content: MessageContent::new("hello", 4000)?,
//!             client_id: None,
//!             role: MessageRole::User,
//!             rating: None,
//!             sent_at: None,
//!             reply_to: None,
//!             metadata: Default::default(),
//!             mentions: Default::default(),
//!             mention_all: false,
//!             attachments: Default::default(),
//!         },
//!     )
//!     .await?;
//! assert!(created);
//! assert_eq!(message.seq, 1);
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! `examples/chat.rs` is a longer tour (`cargo run -p missive-memory
//! --example chat`): two users, a group, events, an idempotent send,
//! history and unread counts.
//!
//! [`UserRepository`]: missive_domain::ports::UserRepository
//! [`ApiKeyRepository`]: missive_domain::ports::ApiKeyRepository
//! [`ChatRepository`]: missive_domain::ports::ChatRepository
//! [`MessageRepository`]: missive_domain::ports::MessageRepository
//! [`ReactionRepository`]: missive_domain::ports::ReactionRepository
//! [`PinRepository`]: missive_domain::ports::PinRepository
//! [`UploadRepository`]: missive_domain::ports::UploadRepository
//! [`ChangeLog`]: missive_domain::ports::ChangeLog
//! [`BlobStore`]: missive_domain::ports::BlobStore
//! [`EventPublisher`]: missive_domain::ports::EventPublisher
//! [`Clock`]: missive_domain::ports::Clock
//! [`PasswordHasher`]: missive_domain::ports::PasswordHasher
#![deny(missing_docs)]

mod api_keys;
mod append;
mod blobs;
mod changes;
mod chats;
mod clock;
mod events;
mod hasher;
mod listing;
mod media;
mod messages;
mod pins;
mod reactions;
mod state;
mod store;
mod uploads;
mod users;

pub use api_keys::MemoryApiKeyRepository;
pub use blobs::MemoryBlobStore;
pub use changes::MemoryChangeLog;
pub use chats::MemoryChatRepository;
pub use clock::SystemClock;
pub use events::BroadcastPublisher;
pub use hasher::PlainTestHasher;
pub use media::{BasicSniffer, NoPreviews};
pub use messages::MemoryMessageRepository;
pub use pins::MemoryPinRepository;
pub use reactions::MemoryReactionRepository;
pub use store::{MemoryAdapters, MemoryStore};
pub use uploads::MemoryUploadRepository;
pub use users::MemoryUserRepository;
