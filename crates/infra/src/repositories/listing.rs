//! The SQL of a listing across the viewer's chats (`MessageRepository::
//! list`): every filter of a [`MessageFilter`], the search terms on each
//! engine's full-text index, newest first.

use missive_domain::ids::UserId;
use missive_domain::message::{MessageFilter, MetadataMatch};
use missive_domain::search::SearchTerms;
use sea_orm::Value;

use crate::entity::messages;

/// Keeps letters and digits only: search terms already are (they come
/// from `missive_domain::search`), and this makes sure nothing else can
/// reach an SQL literal whatever a caller passes.
fn clean(term: &str) -> String {
    term.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The conditions every engine writes the same way, on the message
/// aliased `m`; their values are appended to `values` in order.
pub(super) fn common(filter: &MessageFilter, postgres: bool, values: &mut Vec<Value>) -> String {
    let mut sql = String::new();
    if let Some(sender) = filter.sender_id {
        sql.push_str(" AND m.sender_id = ?");
        values.push(sender.as_uuid().into());
    }
    if let Some(role) = filter.role {
        sql.push_str(" AND m.role = ?");
        values.push(role.as_str().into());
    }
    // SQLite keeps times as text whose order is not chronological within
    // a second; julianday() compares them as instants.
    let time = |column: &str| {
        if postgres {
            column.to_owned()
        } else {
            format!("julianday({column})")
        }
    };
    if let Some(since) = filter.since {
        sql.push_str(&format!(" AND {} >= {}", time("m.created_at"), time("?")));
        values.push(since.into());
    }
    if let Some(until) = filter.until {
        sql.push_str(&format!(" AND {} < {}", time("m.created_at"), time("?")));
        values.push(until.into());
    }
    if let Some(before) = filter.before {
        sql.push_str(" AND m.id < ?");
        values.push(before.as_uuid().into());
    }
    for condition in &filter.metadata {
        sql.push_str(&if postgres {
            metadata_postgres(condition, values)
        } else {
            metadata_sqlite(condition, values)
        });
    }
    if let Some(terms) = &filter.terms {
        for phrase in &terms.phrases {
            // The characters' pairs found the candidates; the run itself
            // must be there too (the pairs could sit apart).
            sql.push_str(if postgres {
                " AND strpos(m.content, ?) > 0"
            } else {
                " AND instr(m.content, ?) > 0"
            });
            values.push(phrase.as_str().into());
        }
    }
    sql
}

/// `metadata @> {"key": value}` for each reading of the value: answered by
/// the GIN index on `metadata`.
fn metadata_postgres(condition: &MetadataMatch, values: &mut Vec<Value>) -> String {
    let key = condition.key();
    let mut readings = vec![serde_json::Value::from(condition.value())];
    if let Some(number) = condition.as_number() {
        readings.push(serde_json::Value::Number(number));
    }
    if let Some(flag) = condition.as_bool() {
        readings.push(serde_json::Value::Bool(flag));
    }
    let alternatives: Vec<&str> = readings
        .iter()
        .map(|_| "m.metadata @> CAST(? AS jsonb)")
        .collect();
    for reading in readings {
        values.push(serde_json::json!({ key: reading }).to_string().into());
    }
    format!(" AND ({})", alternatives.join(" OR "))
}

/// The value at `$."key"` compared by its JSON type.
fn metadata_sqlite(condition: &MetadataMatch, values: &mut Vec<Value>) -> String {
    let path = format!("$.\"{}\"", condition.key());
    let mut alternatives =
        vec!["(json_type(m.metadata, ?) = 'text' AND json_extract(m.metadata, ?) = ?)".to_owned()];
    values.extend([
        path.clone().into(),
        path.clone().into(),
        condition.value().into(),
    ]);
    if let Some(number) = condition.as_number() {
        alternatives.push(
            "(json_type(m.metadata, ?) IN ('integer', 'real') AND json_extract(m.metadata, ?) = ?)"
                .to_owned(),
        );
        values.extend([path.clone().into(), path.clone().into()]);
        values.push(match number.as_i64() {
            Some(n) => n.into(),
            None => number.as_f64().unwrap_or(f64::NAN).into(),
        });
    }
    if let Some(flag) = condition.as_bool() {
        alternatives.push("json_type(m.metadata, ?) = ?".to_owned());
        values.extend([path.into(), if flag { "true" } else { "false" }.into()]);
    }
    format!(" AND ({})", alternatives.join(" OR "))
}

/// PostgreSQL: `rock:* & 上海`, written into the SQL (the connection
/// forces generic plans, and a search's best plan depends on its terms);
/// the terms are letters and digits only, so they need no quoting.
pub(super) fn tsquery(terms: &SearchTerms) -> String {
    let prefixes = terms.prefixes.iter().map(|p| format!("{}:*", clean(p)));
    let tokens = terms.tokens.iter().map(|t| clean(t));
    prefixes.chain(tokens).collect::<Vec<_>>().join(" & ")
}

/// SQLite FTS5: `"rock"* "上海"` (every term required).
fn fts5(terms: &SearchTerms) -> String {
    let prefixes = terms.prefixes.iter().map(|p| format!("\"{}\"*", clean(p)));
    let tokens = terms.tokens.iter().map(|t| format!("\"{}\"", clean(t)));
    prefixes.chain(tokens).collect::<Vec<_>>().join(" ")
}

/// PostgreSQL: chat by chat (a lateral page per chat of the viewer, from
/// the `(chat_id, id)` index or the full-text index), so no combination of
/// filters reads a message of a chat the viewer is not in.
pub(super) fn list_postgres(
    viewer: UserId,
    filter: &MessageFilter,
    limit: u32,
) -> (String, Vec<Value>) {
    let mut values = Vec::new();
    let mut inner = common(filter, true, &mut values);
    if let Some(terms) = &filter.terms {
        inner.push_str(&format!(
            " AND m.search @@ to_tsquery('simple', '{}')",
            tsquery(terms)
        ));
    }
    let mut sql = format!(
        "SELECT {cols} FROM chat_members cm CROSS JOIN LATERAL ( \
            SELECT {cols} FROM messages m \
            WHERE m.chat_id = cm.chat_id AND m.deleted_at IS NULL{inner} \
            ORDER BY m.id DESC LIMIT {limit}) m \
         WHERE cm.user_id = ?",
        cols = messages::COLUMNS_M
    );
    values.push(viewer.as_uuid().into());
    if let Some(chat) = filter.chat_id {
        sql.push_str(" AND cm.chat_id = ?");
        values.push(chat.as_uuid().into());
    }
    sql.push_str(&format!(" ORDER BY m.id DESC LIMIT {limit}"));
    (sql, values)
}

/// SQLite: one query joined with the viewer's memberships (and the FTS5
/// table when searching).
pub(super) fn list_sqlite(
    viewer: UserId,
    filter: &MessageFilter,
    limit: u32,
) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = Vec::new();
    let from = match &filter.terms {
        Some(terms) => {
            values.push(fts5(terms).into());
            // CROSS JOIN fixes SQLite's join order: the full-text match
            // runs once, outermost. With the FTS table inner, the planner
            // may evaluate the match once per candidate message — seconds
            // for a common prefix.
            "(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?) f \
             CROSS JOIN message_search s ON s.rowid = f.rowid \
             CROSS JOIN messages m ON m.id = s.message_id"
        }
        None => "messages m",
    };
    values.push(viewer.as_uuid().into());
    let mut sql = format!(
        "SELECT {cols} FROM {from} \
         JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = ? \
         WHERE m.deleted_at IS NULL",
        cols = messages::COLUMNS_M
    );
    if let Some(chat) = filter.chat_id {
        sql.push_str(" AND m.chat_id = ?");
        values.push(chat.as_uuid().into());
    }
    sql.push_str(&common(filter, false, &mut values));
    sql.push_str(&format!(" ORDER BY m.id DESC LIMIT {limit}"));
    (sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_reach_the_sql_as_letters_and_digits_only() {
        let terms = SearchTerms {
            prefixes: vec!["ro'ck".into()],
            tokens: vec!["上海\"".into()],
            phrases: vec![],
        };
        assert_eq!(tsquery(&terms), "rock:* & 上海");
        assert_eq!(fts5(&terms), "\"rock\"* \"上海\"");
    }
}
