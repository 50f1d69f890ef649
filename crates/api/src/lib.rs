//! # missive-api
//!
//! The driving adapter of Missive: an axum HTTP API (and, later, the
//! WebSocket gateway) over the use cases of `missive-domain`, wired to the
//! adapters of `missive-infra`; plus configuration, telemetry, the OpenAPI
//! document and the `missive` command line.

pub mod app;
pub mod asyncapi;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod extract;
pub mod gate;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod realtime;
pub mod routes;
pub mod secrets;
pub mod state;
pub mod telemetry;
pub mod upload_slots;
pub mod views;

pub use app::Application;
pub use config::Settings;
