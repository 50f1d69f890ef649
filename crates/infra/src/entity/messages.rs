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
    /// A JSON object; NULL when empty.
    pub metadata: Option<Json>,
    /// What the full-text index reads (`missive_domain::search::index_text`
    /// of the content); NULL for a tombstone. Written, never read back.
    pub search_text: Option<String>,
    /// Who pinned the message, if it is pinned.
    pub pinned_by: Option<Uuid>,
    /// When it was pinned.
    pub pinned_at: Option<TimeDateTimeWithTimeZone>,
    /// For a reply: the root of its thread.
    pub thread_root_id: Option<Uuid>,
    /// For a root: its live replies.
    pub reply_count: i64,
    /// For a root: the seq of its newest live reply.
    pub last_reply_seq: Option<i64>,
    /// For a root: when its newest live reply was stored.
    pub last_reply_at: Option<TimeDateTimeWithTimeZone>,
    /// For a root: the first ten members who replied, comma-separated.
    pub thread_participants: Option<String>,
    /// The members it mentions, comma-separated; NULL for none.
    pub mentions: Option<String>,
    /// Whether it mentions everyone.
    pub mention_all: bool,
    /// How many different reactions it carries.
    pub reaction_kinds: i64,
    /// Its attachments as it shows them, a JSON array; NULL for none.
    pub attachments: Option<String>,
}

/// The columns of [`Model`] a message is read from (all but the write-only
/// `search_text`), qualified with the alias `m`, for raw SQL decoded with
/// [`decode_rows`].
pub(crate) const COLUMNS_M: &str = "m.id, m.chat_id, m.seq, m.sender_id, m.content, m.role, \
    m.rating, m.client_id, m.reply_to, m.sent_at, m.created_at, m.edited_at, m.deleted_at, \
    m.metadata, m.pinned_by, m.pinned_at, m.thread_root_id, m.reply_count, m.last_reply_seq, \
    m.last_reply_at, m.thread_participants, m.mentions, m.mention_all, \
    m.reaction_kinds, m.attachments";

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Decodes rows selected with [`COLUMNS_M`] straight from the driver's row,
/// by position.
///
/// SeaORM's generic decoding looks every column up by name and, for each
/// NULL in an optional column, formats an error message that it then
/// discards; with 50 rows of 13 columns per history page that was a fifth
/// of the server's CPU for the page (BENCHMARKS.md). The types are the
/// same sqlx types SeaORM decodes into, so the values are identical.
pub(crate) fn decode_rows(rows: &[sea_orm::QueryResult]) -> Result<Vec<Model>, DbErr> {
    rows.iter().map(decode_row).collect()
}

macro_rules! decode_by_position {
    ($row:expr) => {{
        use sea_orm::sqlx::Row as _;
        let row = $row;
        Model {
            id: row.try_get(0)?,
            chat_id: row.try_get(1)?,
            seq: row.try_get(2)?,
            sender_id: row.try_get(3)?,
            content: row.try_get(4)?,
            role: row.try_get(5)?,
            rating: row.try_get(6)?,
            client_id: row.try_get(7)?,
            reply_to: row.try_get(8)?,
            sent_at: row.try_get(9)?,
            created_at: row.try_get(10)?,
            edited_at: row.try_get(11)?,
            deleted_at: row.try_get(12)?,
            metadata: row.try_get(13)?,
            search_text: None,
            pinned_by: row.try_get(14)?,
            pinned_at: row.try_get(15)?,
            thread_root_id: row.try_get(16)?,
            reply_count: row.try_get(17)?,
            last_reply_seq: row.try_get(18)?,
            last_reply_at: row.try_get(19)?,
            thread_participants: row.try_get(20)?,
            mentions: row.try_get(21)?,
            mention_all: row.try_get(22)?,
            reaction_kinds: row.try_get(23)?,
            attachments: row.try_get(24)?,
        }
    }};
}

fn decode_row(result: &sea_orm::QueryResult) -> Result<Model, DbErr> {
    let decoded = if let Some(row) = result.try_as_pg_row() {
        decode_pg(row)
    } else if let Some(row) = result.try_as_sqlite_row() {
        decode_sqlite(row)
    } else {
        // No other row kind is built here; SeaORM's path covers it anyway.
        return <Model as sea_orm::FromQueryResult>::from_query_result(result, "");
    };
    decoded.map_err(|error| DbErr::Query(sea_orm::RuntimeErr::SqlxError(error.into())))
}

fn decode_pg(row: &sea_orm::sqlx::postgres::PgRow) -> Result<Model, sea_orm::sqlx::Error> {
    Ok(decode_by_position!(row))
}

fn decode_sqlite(row: &sea_orm::sqlx::sqlite::SqliteRow) -> Result<Model, sea_orm::sqlx::Error> {
    Ok(decode_by_position!(row))
}
