use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chats")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub title: Option<String>,
    pub created_by: Uuid,
    pub created_at: TimeDateTimeWithTimeZone,
    pub last_seq: i64,
    pub last_activity_us: i64,
    #[sea_orm(unique)]
    pub direct_key: Option<String>,
    /// Kept with every membership change (see the migration).
    pub member_version: i64,
    /// Kept with every membership change.
    pub member_count: i64,
    /// A JSON object; NULL when empty.
    pub metadata: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
