//! Members as the API shows them.

use missive_domain::chat::{ChatMember, MemberRole};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::rfc3339;

/// A member's role.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = MemberRole)]
pub enum RoleDto {
    /// Created the chat; may delete it.
    Owner,
    /// Manages the group.
    Admin,
    /// Takes part.
    Member,
}

impl From<MemberRole> for RoleDto {
    fn from(role: MemberRole) -> Self {
        match role {
            MemberRole::Owner => Self::Owner,
            MemberRole::Admin => Self::Admin,
            MemberRole::Member => Self::Member,
        }
    }
}

impl From<RoleDto> for MemberRole {
    fn from(role: RoleDto) -> Self {
        match role {
            RoleDto::Owner => Self::Owner,
            RoleDto::Admin => Self::Admin,
            RoleDto::Member => Self::Member,
        }
    }
}

/// A chat member.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = ChatMember)]
pub struct MemberView {
    /// The member.
    pub user_id: uuid::Uuid,
    /// Their role.
    pub role: RoleDto,
    /// When they joined.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub joined_at: OffsetDateTime,
    /// Every message with `seq` ≤ this is read by them.
    pub last_read_seq: i64,
}

impl From<ChatMember> for MemberView {
    fn from(member: ChatMember) -> Self {
        Self {
            user_id: member.user_id.as_uuid(),
            role: member.role.into(),
            joined_at: member.joined_at,
            last_read_seq: member.last_read_seq,
        }
    }
}

/// A page of members.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MemberList {
    /// In joining order (then user id).
    pub items: Vec<MemberView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}
