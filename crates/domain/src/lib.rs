//! # missive-domain
//!
//! The core of Missive: entities, validated value objects, the ports the
//! domain needs from the outside world, and the use-case services that
//! enforce every business rule. This crate does no I/O and depends on no
//! runtime, web framework or database driver, so other Rust services can
//! embed it with storage adapters of their own.
//!
//! * [`user`], [`api_key`], [`chat`], [`message`], [`mention`], [`reaction`], [`pin`], [`thread`] and [`paging`] hold entities and value objects. Constructors
//!   validate, so a value of these types is always valid ("parse, don't
//!   validate").
//! * [`ports`] holds the traits adapters implement (`Arc<dyn Port>`); with the
//!   `mocks` feature each has a `mockall` fake (`MockUserRepository`, …).
//! * [`services`] holds the use cases; each returns its own error enum.
//!
//! ## Embedding
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
//! A complete, runnable embedding with in-memory adapters lives in
//! `examples/embed.rs` (`cargo run -p missive-domain --example embed`).
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
