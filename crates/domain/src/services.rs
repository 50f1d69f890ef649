//! Use cases. Each service method enforces the rules of one operation and
//! returns that operation's error enum.

pub mod api_keys;
pub mod chats;
pub mod messages;
pub mod pins;
pub mod reactions;
pub mod sync;
pub mod uploads;
pub mod users;

pub use api_keys::ApiKeyService;
pub use chats::ChatService;
pub use messages::MessageService;
pub use pins::PinService;
pub use reactions::ReactionService;
pub use sync::SyncService;
pub use uploads::UploadService;
pub use users::UserService;
