use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub chat_id: Uuid,
    pub seq: i64,
    pub sender_id: Uuid,
    pub content: String,
    pub role: String,
    pub rating: Option<bool>,
    pub client_id: Option<String>,
    pub reply_to: Option<Uuid>,
    pub sent_at: TimeDateTimeWithTimeZone,
    pub created_at: TimeDateTimeWithTimeZone,
    pub edited_at: Option<TimeDateTimeWithTimeZone>,
    pub deleted_at: Option<TimeDateTimeWithTimeZone>,
}

/// The columns of [`Model`], qualified with the alias `m`, for raw SQL.
pub(crate) const COLUMNS_M: &str = "m.id, m.chat_id, m.seq, m.sender_id, m.content, m.role, \
    m.rating, m.client_id, m.reply_to, m.sent_at, m.created_at, m.edited_at, m.deleted_at";

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
