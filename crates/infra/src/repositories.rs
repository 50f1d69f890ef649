//! SeaORM implementations of the repository ports. One code path serves
//! PostgreSQL and SQLite.

mod api_keys;
mod chats;
mod convert;
mod messages;
mod users;

pub use api_keys::SeaApiKeyRepository;
pub use chats::SeaChatRepository;
pub use messages::SeaMessageRepository;
pub use users::SeaUserRepository;

use missive_domain::InfraError;
use missive_domain::value::ValueError;

/// A stored value that no longer passes its value object's validation means
/// the data was changed behind the service's back.
fn corrupt(what: &'static str) -> impl FnOnce(ValueError) -> InfraError {
    move |e| InfraError::unexpected(format!("stored {what} is invalid: {e}"))
}
