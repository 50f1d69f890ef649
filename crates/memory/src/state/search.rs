//! Which messages a [`MessageFilter`] keeps, with the search semantics of
//! `missive_domain::search` that the SQL adapters get from their full-text
//! indexes: the text is tokenised by [`index_text`], every prefix must
//! begin a token, every token must be one, every phrase must occur in the
//! text as it is.

use missive_domain::message::{Message, MessageFilter, MetadataMatch};
use missive_domain::search::{SearchTerms, index_text};
use serde_json::Value;

/// Keeps letters and digits only, lower-cased, as the SQL adapters do
/// with each term before it reaches their index (so a term built by hand
/// matches the same there and here).
fn clean(term: &str) -> String {
    term.chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// Whether the text matches every term.
fn matches_terms(content: &str, terms: &SearchTerms) -> bool {
    let index = index_text(content);
    let tokens: Vec<&str> = index.split(' ').filter(|t| !t.is_empty()).collect();
    let prefixes_found = terms.prefixes.iter().all(|p| {
        let p = clean(p);
        !p.is_empty() && tokens.iter().any(|t| t.starts_with(p.as_str()))
    });
    let tokens_found = terms.tokens.iter().all(|t| {
        let t = clean(t);
        !t.is_empty() && tokens.contains(&t.as_str())
    });
    prefixes_found && tokens_found && terms.phrases.iter().all(|p| content.contains(p.as_str()))
}

/// Whether the value at the condition's key is the string written, or
/// the number or boolean it spells.
fn matches_metadata(message: &Message, condition: &MetadataMatch) -> bool {
    match message.metadata.as_map().get(condition.key()) {
        Some(Value::String(s)) => s == condition.value(),
        Some(Value::Number(n)) => {
            condition
                .as_number()
                .is_some_and(|wanted| match (n.as_i64(), wanted.as_i64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => n.as_f64().is_some_and(|a| wanted.as_f64() == Some(a)),
                })
        }
        Some(Value::Bool(b)) => condition.as_bool() == Some(*b),
        _ => false,
    }
}

/// Whether `filter` keeps `message` (its chat is the caller's business):
/// never a tombstone.
pub(crate) fn matches(filter: &MessageFilter, message: &Message) -> bool {
    !message.is_deleted()
        && filter.chat_id.is_none_or(|c| c == message.chat_id)
        && filter.sender_id.is_none_or(|s| s == message.sender_id)
        && filter.role.is_none_or(|r| r == message.role)
        && filter.since.is_none_or(|t| message.created_at >= t)
        && filter.until.is_none_or(|t| message.created_at < t)
        && filter.before.is_none_or(|b| message.id < b)
        && filter
            .metadata
            .iter()
            .all(|condition| matches_metadata(message, condition))
        && filter
            .terms
            .as_ref()
            .is_none_or(|terms| matches_terms(&message.content, terms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> SearchTerms {
        SearchTerms::parse(q).expect("a query")
    }

    #[test]
    fn prefixes_begin_words_tokens_are_whole_and_phrases_are_checked() {
        assert!(matches_terms("The Quick brown fox", &terms("qui FOX")));
        assert!(!matches_terms("The Quick brown fox", &terms("uick")));
        assert!(matches_terms("我家在上海东边", &terms("上海东")));
        assert!(!matches_terms("上海很大，海东也不小", &terms("上海东")));
        assert!(matches_terms("state-of-the-art", &terms("state of art")));
    }

    #[test]
    fn terms_built_by_hand_are_letters_and_digits_only() {
        let raw = SearchTerms {
            prefixes: vec!["hello') OR ('a'='a".to_owned()],
            tokens: vec![],
            phrases: vec![],
        };
        assert!(!matches_terms("hello world", &raw));
        let empty = SearchTerms {
            prefixes: vec!["'\"".to_owned()],
            tokens: vec![],
            phrases: vec![],
        };
        assert!(!matches_terms("anything", &empty));
    }
}
