//! What the API answers: the response bodies of REST and the payloads of
//! WebSocket events, built from domain values. One home, so routes, the
//! WebSocket protocol and the dispatcher all show a chat or a message the
//! same way.

mod chats;
mod members;
mod messages;
mod uploads;

pub use chats::{ChatKindDto, ChatList, ChatView, ReadStateView};
pub use members::{MemberList, MemberView, RoleDto};
pub use messages::{
    MentionList, MessagePageView, MessageRoleDto, MessageView, PinList, PinView, ReactionView,
    ReactorList, ReactorView, SearchResults, ThreadView,
};
pub use uploads::{BinaryBody, UploadView};

/// Serialises timestamps as RFC 3339 in UTC.
pub(crate) mod rfc3339 {
    pub use time::serde::rfc3339::*;
}
