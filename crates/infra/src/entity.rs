//! SeaORM models. Private to this crate: adapters convert them to domain
//! types before returning.

pub(crate) mod api_keys;
pub(crate) mod users;
