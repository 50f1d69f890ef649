//! How PostgreSQL answers a search across the viewer's chats, newest
//! first, with no single plan that is fast for every query.
//!
//! PostgreSQL cannot tell how many messages a word prefix matches (its
//! statistics keep whole lexemes: `fen:*` is estimated at 683 rows when it
//! matches 241 447 of a million), so it cannot choose well between the
//! full-text index and reading messages newest first; left alone it reads
//! every message of every chat for a common word. So each search first
//! learns its [`Scope`] — how many chats and messages the viewer's search
//! covers, how many messages there are (one cheap statement) — and then:
//!
//! 1. a **small** scope (at most [`SearchTuning::small_scope`] messages) is
//!    read **per chat**, newest first, to the end if need be: never more
//!    rows than the scope holds;
//! 2. when the scope is one chat, or holds a good share of all messages,
//!    the **recent** plan reads a window of the newest messages (at most
//!    [`SearchTuning::recent_rows`], the chat's or everyone's) and keeps
//!    the viewer's matches; once a page is full, it is the answer — in the
//!    viewer's own archive, any term in more than one message of 1 000 (at
//!    the defaults) ends here, in a few milliseconds;
//! 3. otherwise, or when that page is not full, the **rare** plan fetches
//!    the terms' matches of anyone from the full-text index, at most
//!    [`SearchTuning::rare_matches`] + 1 of them, and keeps the viewer's:
//!    when they were all, that is the answer; when there were more, the
//!    terms are common after all and [`Scope::common_terms`] picks
//!    **newest** (all messages newest first, skipping other chats) or
//!    **per chat**.
//!
//! Every plan answers the same; only the cost differs (the contract tests
//! run each query under each plan). Access paths are pinned with
//! transaction-local planner settings, since the misestimate is what this
//! module works around. The worst case left is a term common in other
//! people's chats and rare in the viewer's (many chats, many messages):
//! the capped fetch and then each chat read to its end. BENCHMARKS.md has the
//! numbers.

use missive_domain::ids::UserId;
use missive_domain::message::MessageFilter;
use missive_domain::search::SearchTerms;
use sea_orm::prelude::Uuid;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, TransactionTrait, Value,
};

use super::listing::{common, list_postgres, tsquery};
use crate::entity::messages;
use crate::sql::statement;

/// Which plan a search ran with (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchPlan {
    /// The scope's newest messages (a bounded number), the matches kept;
    /// when the page is not full, the rare plan after all.
    Recent,
    /// Every match fetched once from the full-text index (up to a cap;
    /// beyond it newest or per chat).
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
    /// The recent plan reads at most this many of the newest messages (a
    /// page of 20 is full there for any term in one message of 1 000 of
    /// the viewer's). A miss costs about 20 ms at 20 000; at 1 million
    /// messages 5 000 left two-prefix queries to the index (p99 61 ms),
    /// 20 000 answers most of them (p99 35 ms), 50 000 no better (42 ms).
    pub recent_rows: u32,
    /// Scopes of at most this many messages are read per chat at once.
    pub small_scope: u32,
    /// Always use this plan (tests compare the plans' answers).
    pub plan: Option<SearchPlan>,
}

impl Default for SearchTuning {
    fn default() -> Self {
        Self {
            rare_matches: 5_000,
            recent_rows: 20_000,
            small_scope: 20_000,
            plan: None,
        }
    }
}

/// What a search's first statement learns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scope {
    /// Chats in scope (the viewer's, or the one asked for).
    pub chats: i64,
    /// Messages ever sent to those chats.
    pub mine: f64,
    /// Messages stored, as PostgreSQL last estimated (negative: unknown).
    pub total: f64,
}

impl Scope {
    /// The plan to try first; `None`: the rare plan.
    pub fn first(&self, tuning: &SearchTuning, one_chat: bool) -> Option<SearchPlan> {
        if self.mine <= f64::from(tuning.small_scope) {
            Some(SearchPlan::PerChat)
        } else if one_chat || self.total <= 0.0 || self.mine * 4.0 >= self.total {
            Some(SearchPlan::Recent)
        } else {
            None
        }
    }

    /// The plan for terms with more matches than the rare plan fetches.
    /// Chat by chat, reading is bounded by the scope: each chat until its
    /// page is full or it ends. Newest first through everyone's messages
    /// reads `page / (density × share)` rows when the viewer's messages
    /// are spread evenly in time — far fewer when they are a good share —
    /// but everything newer than the viewer's last messages when they are
    /// not; with a share of at least a quarter that is at most four times
    /// the scope.
    pub fn common_terms(&self) -> SearchPlan {
        if self.chats > 1 && self.total > 0.0 && self.mine * 4.0 >= self.total {
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

fn scope_sql(viewer: UserId, filter: &MessageFilter) -> Sql {
    let mut values: Vec<Value> = vec![viewer.as_uuid().into()];
    let scope = chat_scope(filter, "cm.chat_id", &mut values);
    values.push(viewer.as_uuid().into());
    let scope_again = chat_scope(filter, "cm.chat_id", &mut values);
    let sql = format!(
        "SELECT \
           (SELECT count(*) FROM chat_members cm WHERE cm.user_id = ?{scope}) AS chats, \
           (SELECT CAST(coalesce(sum(c.last_seq), 0) AS float8) \
              FROM chat_members cm JOIN chats c ON c.id = cm.chat_id \
              WHERE cm.user_id = ?{scope_again}) AS mine, \
           (SELECT CAST(reltuples AS float8) FROM pg_class \
              WHERE oid = CAST('messages' AS regclass)) AS total"
    );
    (sql, values)
}

/// A window of the newest `rows` messages — of the one chat asked for
/// (its `(chat_id, id)` index), else of everyone (the time-ordered primary
/// key) — and the viewer's matches in it, newest first. At most `rows`
/// rows are read whoever wrote them, fewer when the page fills early. The
/// window is a prefix of the viewer's messages newest first, so a full
/// page from it is the answer.
fn recent_sql(
    viewer: UserId,
    filter: &MessageFilter,
    terms: &SearchTerms,
    rows: u32,
    limit: u32,
) -> Sql {
    let mut values: Vec<Value> = Vec::new();
    let mut window = String::from("TRUE");
    if let Some(chat) = filter.chat_id {
        window = String::from("m.chat_id = ?");
        values.push(chat.as_uuid().into());
    }
    // The cursor bounds the window; every other filter applies in it.
    if let Some(before) = filter.before {
        window.push_str(" AND m.id < ?");
        values.push(before.as_uuid().into());
    }
    values.push(viewer.as_uuid().into());
    let rest = MessageFilter {
        before: None,
        ..filter.clone()
    };
    let filters = common(&rest, true, &mut values);
    let sql = format!(
        "SELECT {cols} FROM ( \
            SELECT * FROM messages m WHERE {window} \
            ORDER BY m.id DESC LIMIT {rows}) m \
         WHERE m.chat_id = ANY(ARRAY(SELECT cm.chat_id FROM chat_members cm WHERE cm.user_id = ?)) \
           AND m.deleted_at IS NULL AND m.search @@ to_tsquery('simple', '{query}')\
         {filters} ORDER BY m.id DESC LIMIT {limit}",
        cols = messages::COLUMNS_M,
        query = tsquery(terms),
    );
    (sql, values)
}

/// Rare terms: up to `rare_matches + 1` matches of anyone fetched once
/// from the full-text index; those of the viewer's chats, filtered, newest
/// first. Every row carries, after the message's columns, how many matches
/// were fetched; with more than `rare_matches` the page is not to be
/// trusted. Without any match in the viewer's chats, one row of `NULL`s
/// carries the count.
fn rare_sql(
    viewer: UserId,
    filter: &MessageFilter,
    terms: &SearchTerms,
    rare_matches: u32,
    limit: u32,
) -> Sql {
    let mut values: Vec<Value> = vec![viewer.as_uuid().into()];
    let scope = chat_scope(filter, "m.chat_id", &mut values);
    let filters = common(filter, true, &mut values);
    let sql = format!(
        "WITH hits AS MATERIALIZED ( \
            SELECT {cols} FROM messages m \
            WHERE m.deleted_at IS NULL AND m.search @@ to_tsquery('simple', '{query}') \
            LIMIT {cap}) \
         SELECT {cols}, x.matches FROM (SELECT count(*) AS matches FROM hits) x \
         LEFT JOIN LATERAL ( \
            SELECT {cols} FROM hits m \
            WHERE m.chat_id IN (SELECT cm.chat_id FROM chat_members cm WHERE cm.user_id = ?)\
            {scope}{filters} ORDER BY m.id DESC LIMIT {limit}) m ON true",
        cols = messages::COLUMNS_M,
        query = tsquery(terms),
        cap = i64::from(rare_matches) + 1,
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
    let scope = async || -> Result<Scope, sea_orm::DbErr> {
        let (sql, values) = scope_sql(viewer, filter);
        let row = one_row(conn, statement(backend, &sql, values)).await?;
        Ok(Scope {
            chats: row.try_get("", "chats")?,
            mine: row.try_get("", "mine")?,
            total: row.try_get("", "total")?,
        })
    };
    let mut known = None;
    let mut plan = match tuning.plan {
        Some(plan) => Some(plan),
        None => {
            let scope = scope().await?;
            known = Some(scope);
            scope.first(&tuning, filter.chat_id.is_some())
        }
    };
    if plan == Some(SearchPlan::Recent) {
        let sql = recent_sql(viewer, filter, terms, tuning.recent_rows, limit);
        let rows = pinned(conn, sql, NEWEST_PINS).await?;
        if rows.len() >= limit as usize {
            return Ok(rows);
        }
        plan = None;
    }
    if matches!(plan, None | Some(SearchPlan::Rare)) {
        // Rare, or found out to be common: the count decides.
        let sql = rare_sql(viewer, filter, terms, tuning.rare_matches, limit);
        let rows = pinned(conn, sql, NO_SEQSCAN).await?;
        let matches: i64 = match rows.first() {
            Some(row) => row.try_get("", "matches")?,
            None => 0,
        };
        if matches <= i64::from(tuning.rare_matches) {
            let mut page = Vec::with_capacity(rows.len());
            for row in rows {
                if row.try_get_by_index::<Option<Uuid>>(0)?.is_some() {
                    page.push(row);
                }
            }
            return Ok(page);
        }
        let scope = match known {
            Some(scope) => scope,
            None => scope().await?,
        };
        plan = Some(scope.common_terms());
    }
    match plan {
        // The primary key read backwards, never a sort of everything.
        Some(SearchPlan::Newest) => {
            pinned(conn, newest_sql(viewer, filter, terms, limit), NEWEST_PINS).await
        }
        // Each chat's `(chat_id, id)` index read backwards, not a bitmap
        // of the whole chat.
        _ => {
            let pins = "SELECT set_config('enable_bitmapscan', 'off', true)";
            pinned(conn, list_postgres(viewer, filter, limit), pins).await
        }
    }
}

/// The full-text index, never a scan of every message (PostgreSQL may
/// expect a term it misestimates as common to fill the cap quickly).
const NO_SEQSCAN: &str = "SELECT set_config('enable_seqscan', 'off', true)";

/// Reading newest first through an index: never a scan and sort of all.
const NEWEST_PINS: &str = "SELECT set_config('enable_seqscan', 'off', true), \
    set_config('enable_bitmapscan', 'off', true), \
    set_config('enable_sort', 'off', true)";

async fn one_row(
    conn: &DatabaseConnection,
    statement: sea_orm::Statement,
) -> Result<QueryResult, sea_orm::DbErr> {
    conn.query_one_raw(statement)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound("search planning".into()))
}

/// Runs `sql` in a transaction whose planner settings `pins` sets.
async fn pinned(
    conn: &DatabaseConnection,
    (sql, values): Sql,
    pins: &str,
) -> Result<Vec<QueryResult>, sea_orm::DbErr> {
    let backend = DbBackend::Postgres;
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

    fn scope(chats: i64, mine: f64, total: f64) -> Scope {
        Scope { chats, mine, total }
    }

    const TUNING: SearchTuning = SearchTuning {
        rare_matches: 5000,
        recent_rows: 20_000,
        small_scope: 20_000,
        plan: None,
    };

    #[test]
    fn small_scopes_are_read_chat_by_chat_without_probing() {
        assert_eq!(
            scope(3, 20_000.0, 1e7).first(&TUNING, false),
            Some(SearchPlan::PerChat)
        );
        assert_eq!(
            scope(1, 0.0, 1e7).first(&TUNING, true),
            Some(SearchPlan::PerChat)
        );
    }

    #[test]
    fn recent_messages_come_first_for_one_chat_or_a_good_share() {
        // One user's archive.
        assert_eq!(
            scope(100, 1e6, 1e6).first(&TUNING, false),
            Some(SearchPlan::Recent)
        );
        // A quarter of everything.
        assert_eq!(
            scope(100, 25e4, 1e6).first(&TUNING, false),
            Some(SearchPlan::Recent)
        );
        // One large chat among many: its own index.
        assert_eq!(
            scope(1, 1e5, 1e7).first(&TUNING, true),
            Some(SearchPlan::Recent)
        );
        // Statistics not gathered yet.
        assert_eq!(
            scope(5, 1e5, -1.0).first(&TUNING, false),
            Some(SearchPlan::Recent)
        );
        // Many chats holding a small share: the index decides.
        assert_eq!(scope(100, 1e5, 1e6).first(&TUNING, false), None);
    }

    #[test]
    fn common_terms_are_read_newest_first_when_the_viewer_holds_a_good_share() {
        assert_eq!(scope(100, 1e6, 1e6).common_terms(), SearchPlan::Newest);
        assert_eq!(scope(2, 25e4, 1e6).common_terms(), SearchPlan::Newest);
    }

    #[test]
    fn common_terms_are_read_chat_by_chat_otherwise() {
        // A tenth of everything, in 100 chats: maybe all of it years old.
        assert_eq!(scope(100, 1e5, 1e6).common_terms(), SearchPlan::PerChat);
        // A single chat asked for: its own index, newest first.
        assert_eq!(scope(1, 9e5, 1e6).common_terms(), SearchPlan::PerChat);
        // Statistics not gathered yet: bounded by the scope.
        assert_eq!(scope(3, 1e5, -1.0).common_terms(), SearchPlan::PerChat);
    }
}
