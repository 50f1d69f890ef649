//! How PostgreSQL answers a search across the viewer's chats, newest
//! first, with no single plan that is fast for every query.
//!
//! PostgreSQL cannot tell how many messages a word prefix matches (its
//! statistics keep whole lexemes), so it cannot choose well between the
//! full-text index and reading messages newest first; left alone it reads
//! every message of every chat for a common word. Each search therefore
//! starts with a [`Probe`] — one cheap statement: how many live messages of
//! anyone carry the terms (counted up to a cap, from the full-text index),
//! how many chats and messages are in scope, how many messages there are —
//! and picks one of three plans ([`SearchPlan`]):
//!
//! * **rare** terms (at most [`SearchTuning::rare_matches`] matches): the
//!   matches are fetched once from the full-text index and those of the
//!   viewer's chats kept — at most that many rows read;
//! * common terms, viewer's chats holding a good share of all messages:
//!   **newest** first through every message (the primary key is time
//!   ordered), skipping other chats, until the page is full — matches are
//!   dense, so few rows are read;
//! * common terms, viewer's chats a small share: **per chat**, each chat
//!   read newest first from its `(chat_id, id)` index until its page is
//!   full, and the pages merged.
//!
//! The plan's access path is pinned with transaction-local planner
//! settings, since the misestimate is what this module works around. The
//! worst case left is a term common in other people's chats and rare in
//! the viewer's (many chats): each chat is read to its end. BENCHMARKS.md
//! has the numbers.

use missive_domain::ids::UserId;
use missive_domain::message::MessageFilter;
use missive_domain::search::SearchTerms;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, TransactionTrait, Value,
};

use super::listing::{common, list_postgres, tsquery};
use crate::entity::messages;
use crate::sql::statement;

/// Which plan a search ran with (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchPlan {
    /// Every match fetched once from the full-text index.
    Rare,
    /// All messages newest first, the viewer's kept.
    Newest,
    /// Each of the viewer's chats newest first, pages merged.
    PerChat,
}

/// Knobs of the search planner on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchTuning {
    /// Terms matching at most this many messages (of anyone) are rare.
    /// Reading that many rows costs about what reading newest first costs
    /// when matches are that sparse: √(20 × messages) balances them, 5000
    /// at about a million messages.
    pub rare_matches: u32,
    /// Always use this plan (tests compare the plans' answers).
    pub plan: Option<SearchPlan>,
}

impl Default for SearchTuning {
    fn default() -> Self {
        Self {
            rare_matches: 5_000,
            plan: None,
        }
    }
}

/// What a search's first statement learns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Probe {
    /// Live messages carrying the terms, counted up to `rare_matches + 1`.
    pub matches: i64,
    /// Chats in scope (the viewer's, or the one asked for).
    pub chats: i64,
    /// Messages ever sent to those chats.
    pub mine: f64,
    /// Messages stored, as PostgreSQL last estimated (negative: unknown).
    pub total: f64,
}

impl Probe {
    /// The plan for this search. Reading newest first costs about
    /// `page × total / (matches × share)` rows, chat by chat about
    /// `page × chats × total / matches`: newest first wins when the
    /// viewer's share of all messages is above 1 / chats.
    pub fn plan(&self, rare_matches: u32) -> SearchPlan {
        if self.matches <= i64::from(rare_matches) {
            SearchPlan::Rare
        } else if self.total <= 0.0 || self.mine * self.chats as f64 >= self.total {
            SearchPlan::Newest
        } else {
            SearchPlan::PerChat
        }
    }
}

/// A statement with `?` placeholders and its values.
type Sql = (String, Vec<Value>);

/// `AND cm.chat_id = ?` when the filter names a chat.
fn chat_scope(filter: &MessageFilter, column: &str, values: &mut Vec<Value>) -> String {
    match filter.chat_id {
        Some(chat) => {
            values.push(chat.as_uuid().into());
            format!(" AND {column} = ?")
        }
        None => String::new(),
    }
}

fn probe_sql(
    viewer: UserId,
    filter: &MessageFilter,
    terms: &SearchTerms,
    rare_matches: u32,
) -> Sql {
    let mut values: Vec<Value> = vec![viewer.as_uuid().into()];
    let scope = chat_scope(filter, "cm.chat_id", &mut values);
    values.push(viewer.as_uuid().into());
    let scope_again = chat_scope(filter, "cm.chat_id", &mut values);
    let sql = format!(
        "SELECT \
           (SELECT count(*) FROM (SELECT 1 FROM messages m \
              WHERE m.search @@ to_tsquery('simple', '{query}') AND m.deleted_at IS NULL \
              LIMIT {cap}) x) AS matches, \
           (SELECT count(*) FROM chat_members cm WHERE cm.user_id = ?{scope}) AS chats, \
           (SELECT CAST(coalesce(sum(c.last_seq), 0) AS float8) \
              FROM chat_members cm JOIN chats c ON c.id = cm.chat_id \
              WHERE cm.user_id = ?{scope_again}) AS mine, \
           (SELECT CAST(reltuples AS float8) FROM pg_class \
              WHERE oid = CAST('messages' AS regclass)) AS total",
        query = tsquery(terms),
        cap = i64::from(rare_matches) + 1,
    );
    (sql, values)
}

/// Rare terms: the matches fetched once from the full-text index, checked
/// against the viewer's chats, then the filters, newest first.
fn rare_sql(viewer: UserId, filter: &MessageFilter, terms: &SearchTerms, limit: u32) -> Sql {
    let mut values: Vec<Value> = vec![viewer.as_uuid().into()];
    let scope = chat_scope(filter, "m.chat_id", &mut values);
    let filters = common(filter, true, &mut values);
    let sql = format!(
        "WITH hits AS MATERIALIZED ( \
            SELECT {cols} FROM messages m \
            WHERE m.deleted_at IS NULL AND m.search @@ to_tsquery('simple', '{query}')) \
         SELECT {cols} FROM hits m \
         WHERE m.chat_id IN (SELECT cm.chat_id FROM chat_members cm WHERE cm.user_id = ?)\
         {scope}{filters} ORDER BY m.id DESC LIMIT {limit}",
        cols = messages::COLUMNS_M,
        query = tsquery(terms),
    );
    (sql, values)
}

/// Common terms, viewer's chats a good share: every message newest first
/// (the time-ordered primary key), the viewer's matching ones kept.
fn newest_sql(viewer: UserId, filter: &MessageFilter, terms: &SearchTerms, limit: u32) -> Sql {
    let mut values: Vec<Value> = vec![viewer.as_uuid().into()];
    let scope = chat_scope(filter, "m.chat_id", &mut values);
    let filters = common(filter, true, &mut values);
    let sql = format!(
        "SELECT {cols} FROM messages m \
         WHERE m.chat_id = ANY(ARRAY(SELECT cm.chat_id FROM chat_members cm WHERE cm.user_id = ?))\
         {scope} AND m.deleted_at IS NULL AND m.search @@ to_tsquery('simple', '{query}')\
         {filters} ORDER BY m.id DESC LIMIT {limit}",
        cols = messages::COLUMNS_M,
        query = tsquery(terms),
    );
    (sql, values)
}

/// Runs a search (`filter.terms` is `terms`) on PostgreSQL; the rows carry
/// [`messages::COLUMNS_M`].
pub(super) async fn search_postgres(
    conn: &DatabaseConnection,
    tuning: SearchTuning,
    viewer: UserId,
    filter: &MessageFilter,
    terms: &SearchTerms,
    limit: u32,
) -> Result<Vec<QueryResult>, sea_orm::DbErr> {
    let backend = DbBackend::Postgres;
    let plan = match tuning.plan {
        Some(plan) => plan,
        None => {
            let (sql, values) = probe_sql(viewer, filter, terms, tuning.rare_matches);
            let row = conn
                .query_one_raw(statement(backend, &sql, values))
                .await?
                .ok_or_else(|| sea_orm::DbErr::RecordNotFound("search probe".into()))?;
            Probe {
                matches: row.try_get("", "matches")?,
                chats: row.try_get("", "chats")?,
                mine: row.try_get("", "mine")?,
                total: row.try_get("", "total")?,
            }
            .plan(tuning.rare_matches)
        }
    };
    let ((sql, values), pins) = match plan {
        // The full-text index is what the planner picks here anyway.
        SearchPlan::Rare => (rare_sql(viewer, filter, terms, limit), ""),
        // The primary key read backwards, never a sort of everything.
        SearchPlan::Newest => (
            newest_sql(viewer, filter, terms, limit),
            "SELECT set_config('enable_seqscan', 'off', true), \
                    set_config('enable_bitmapscan', 'off', true), \
                    set_config('enable_sort', 'off', true)",
        ),
        // Each chat's `(chat_id, id)` index read backwards, not a bitmap
        // of the whole chat.
        SearchPlan::PerChat => (
            list_postgres(viewer, filter, limit),
            "SELECT set_config('enable_bitmapscan', 'off', true)",
        ),
    };
    if pins.is_empty() {
        return conn.query_all_raw(statement(backend, &sql, values)).await;
    }
    let txn = conn.begin().await?;
    txn.query_one_raw(statement(backend, pins, Vec::new()))
        .await?;
    let rows = txn.query_all_raw(statement(backend, &sql, values)).await?;
    txn.commit().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(matches: i64, chats: i64, mine: f64, total: f64) -> Probe {
        Probe {
            matches,
            chats,
            mine,
            total,
        }
    }

    #[test]
    fn rare_terms_are_fetched_from_the_index_once() {
        assert_eq!(probe(0, 100, 10.0, 1e6).plan(5000), SearchPlan::Rare);
        assert_eq!(probe(5000, 1, 1e6, 1e6).plan(5000), SearchPlan::Rare);
    }

    #[test]
    fn common_terms_are_read_newest_first_when_the_viewer_holds_a_good_share() {
        // One user's archive: everything is theirs.
        assert_eq!(probe(5001, 100, 1e6, 1e6).plan(5000), SearchPlan::Newest);
        // 100 chats holding 1 % of everything: exactly the balance.
        assert_eq!(probe(5001, 100, 1e4, 1e6).plan(5000), SearchPlan::Newest);
        // Statistics not gathered yet, or stale.
        assert_eq!(probe(5001, 3, 10.0, -1.0).plan(5000), SearchPlan::Newest);
        assert_eq!(probe(5001, 1, 20.0, 10.0).plan(5000), SearchPlan::Newest);
    }

    #[test]
    fn common_terms_are_read_chat_by_chat_when_the_viewer_holds_a_small_share() {
        assert_eq!(probe(5001, 100, 9e3, 1e6).plan(5000), SearchPlan::PerChat);
        // A single chat asked for: its own index, newest first.
        assert_eq!(probe(5001, 1, 1e5, 1e6).plan(5000), SearchPlan::PerChat);
    }
}
