//! What every handler can reach: the use-case services, never a pool.

use std::ops::Deref;
use std::sync::Arc;

use missive_domain::services::api_keys::ApiKeyService;
use missive_domain::services::chats::ChatService;
use missive_domain::services::messages::MessageService;
use missive_domain::services::pins::PinService;
use missive_domain::services::reactions::ReactionService;
use missive_domain::services::sync::SyncService;
use missive_domain::services::uploads::UploadService;
use missive_domain::services::users::UserService;
use missive_infra::Database;

use crate::auth::jwt::JwtKeys;
use crate::config::Settings;

/// Shared application state, cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// The application's services and settings.
pub struct App {
    /// Accounts: registration, login, look-ups.
    pub users: UserService,
    /// API keys: creation, listing, revocation, authentication.
    pub api_keys: ApiKeyService,
    /// Chats and memberships.
    pub chats: ChatService,
    /// Messages.
    pub messages: MessageService,
    /// Reactions to messages.
    pub reactions: ReactionService,
    /// Pinned messages.
    pub pins: PinService,
    /// Uploads (attachments).
    pub uploads: UploadService,
    /// How many uploads stream at once.
    pub upload_slots: std::sync::Arc<crate::upload_slots::UploadSlots>,
    /// The change log: `GET /sync`, WebSocket resume and live delivery.
    pub sync: SyncService,
    /// Request rate limits.
    pub rate_limits: crate::rate_limit::RateLimits,
    /// WebSocket connections and their shutdown.
    pub realtime: crate::realtime::Realtime,
    /// Issues and verifies access tokens.
    pub jwt: JwtKeys,
    /// Only for readiness checks.
    pub database: Database,
    /// The configuration the server started with.
    pub settings: Settings,
}
