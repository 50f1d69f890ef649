//! SeaORM implementations of the repository ports. One code path serves
//! PostgreSQL and SQLite.

mod api_keys;
pub(crate) mod changes;
mod chats;
mod convert;
mod listing;
mod messages;
mod reactions;
mod search;
mod uploads;
mod users;

pub use api_keys::SeaApiKeyRepository;
pub use changes::SeaChangeLog;
pub use chats::SeaChatRepository;
pub use messages::{GroupCommit, GroupCommitStats, SeaMessageRepository, send_turn_key};
pub use reactions::{SeaPinRepository, SeaReactionRepository};
pub use search::{SearchPlan, SearchTuning};
pub use uploads::SeaUploadRepository;
pub use users::SeaUserRepository;

use missive_domain::InfraError;
use missive_domain::value::ValueError;

/// How unread counts stay cheap and exact (see `SeaChatRepository`): a
/// member's unread count examines at most this many messages after their
/// read position one by one; beyond that window none can be their own, so
/// positions are counted instead of rows. The invariant "every message of
/// a member is at most `UNREAD_WINDOW` positions after their read
/// position" is kept by the send: a sender more than `UNREAD_WINDOW`
/// behind has their read position moved to their new message (in the same
/// statement; a send by anyone closer writes nothing extra), and new
/// members start with the chat read.
pub const UNREAD_WINDOW: i64 = 1_000;

/// A stored value that no longer passes its value object's validation means
/// the data was changed behind the service's back.
fn corrupt(what: &'static str) -> impl FnOnce(ValueError) -> InfraError {
    move |e| InfraError::unexpected(format!("stored {what} is invalid: {e}"))
}
