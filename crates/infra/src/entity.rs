//! SeaORM models. Private to this crate: adapters convert them to domain
//! types before returning.

pub(crate) mod api_keys;
pub(crate) mod chat_members;
pub(crate) mod chats;
pub(crate) mod messages;
pub(crate) mod users;
