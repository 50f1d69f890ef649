//! How message text is searched, the same on every storage engine.
//!
//! People type the beginning of a word in spaced scripts (`rock` should
//! find "rockets") and any part of a run of Chinese or Japanese characters,
//! which have no spaces (`上海` should find "我家在上海东边"). A full-text
//! index matches whole tokens and token prefixes, so the text given to the
//! index is prepared for both ([`index_text`]):
//!
//! * words are runs of letters and digits, as before; a word outside CJK
//!   is one token, found by any prefix of it;
//! * a run of CJK characters (Han, Hiragana, Katakana) becomes its single
//!   characters and its overlapping pairs: `上海东` is indexed as
//!   `上 海 东 上海 海东`.
//!
//! A query ([`SearchTerms::parse`]) asks for every term: the prefix of
//! each spaced-script word, and for each CJK run its single character or
//! its pairs — all pairs must be present, and for runs of three or more
//! characters the run itself is then checked in the candidates' text (the
//! pairs could sit apart), so matching stays exact while the index does the
//! finding.

use crate::value::ValueError;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 1000;

/// Whether `c` belongs to a script written without spaces between words:
/// CJK ideographs (with their extensions and compatibility forms),
/// Hiragana, Katakana (full- and half-width). Hangul, written with spaces,
/// is a spaced script here.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF        // Hiragana, Katakana
        | 0x31F0..=0x31FF      // Katakana phonetic extensions
        | 0x3400..=0x4DBF      // CJK extension A
        | 0x4E00..=0x9FFF      // CJK unified ideographs
        | 0xF900..=0xFAFF      // CJK compatibility ideographs
        | 0xFF66..=0xFF9F      // half-width Katakana
        | 0x20000..=0x2FA1F    // CJK extensions B–F, compatibility supplement
        | 0x30000..=0x323AF) // CJK extensions G–H
}

/// A word split into its spaced-script parts and its CJK runs.
enum Part<'a> {
    Spaced(&'a str),
    Cjk(Vec<char>),
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn parts(word: &str) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cjk: Vec<char> = Vec::new();
    for (at, c) in word.char_indices() {
        if is_cjk(c) {
            if start < at && cjk.is_empty() {
                out.push(Part::Spaced(&word[start..at]));
            }
            cjk.push(c);
            start = at + c.len_utf8();
        } else {
            if !cjk.is_empty() {
                out.push(Part::Cjk(std::mem::take(&mut cjk)));
                start = at;
            }
        }
    }
    if !cjk.is_empty() {
        out.push(Part::Cjk(cjk));
    } else if start < word.len() {
        out.push(Part::Spaced(&word[start..]));
    }
    out
}

/// The text to give the full-text index for `content` (see the module
/// documentation): lower-cased tokens separated by spaces.
pub fn index_text(content: &str) -> String {
    let mut tokens: Vec<String> = Vec::new();
    for word in words(content) {
        for part in parts(word) {
            match part {
                Part::Spaced(text) => tokens.push(text.to_lowercase()),
                Part::Cjk(run) => {
                    tokens.extend(run.iter().map(char::to_string));
                    tokens.extend(run.windows(2).map(|pair| pair.iter().collect()));
                }
            }
        }
    }
    tokens.join(" ")
}

/// What a search asks for, every part required.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchTerms {
    /// Tokens that must begin a word (spaced scripts), lower-cased.
    pub prefixes: Vec<String>,
    /// Tokens that must occur exactly (CJK characters and pairs).
    pub tokens: Vec<String>,
    /// Runs of three or more CJK characters that must occur as they are
    /// in the text (checked on the candidates the tokens found).
    pub phrases: Vec<String>,
}

impl SearchTerms {
    /// Reads a query.
    ///
    /// # Errors
    /// [`ValueError`] when longer than [`MAX_QUERY_CHARS`] or without any
    /// letter or digit.
    pub fn parse(q: &str) -> Result<Self, ValueError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ValueError::new(format!(
                "must be at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let mut terms = Self::default();
        for word in words(q) {
            for part in parts(word) {
                match part {
                    Part::Spaced(text) => push_new(&mut terms.prefixes, text.to_lowercase()),
                    Part::Cjk(run) if run.len() == 1 => {
                        push_new(&mut terms.tokens, run[0].to_string());
                    }
                    Part::Cjk(run) => {
                        for pair in run.windows(2) {
                            push_new(&mut terms.tokens, pair.iter().collect());
                        }
                        if run.len() > 2 {
                            push_new(&mut terms.phrases, run.iter().collect());
                        }
                    }
                }
            }
        }
        if terms.prefixes.is_empty() && terms.tokens.is_empty() {
            return Err(ValueError::new(
                "must contain at least one word (letters or digits)",
            ));
        }
        Ok(terms)
    }
}

fn push_new(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaced_words_are_indexed_whole_and_lower_cased() {
        assert_eq!(
            index_text("Rockets, launch-pad & bob@Example.com 42"),
            "rockets launch pad bob example com 42"
        );
        assert_eq!(index_text("Ünïcode ÉCOLE"), "ünïcode école");
    }

    #[test]
    fn cjk_runs_are_indexed_as_characters_and_pairs() {
        assert_eq!(index_text("上海东"), "上 海 东 上海 海东");
        assert_eq!(index_text("我在iPhone上看"), "我 在 我在 iphone 上 看 上看");
        assert_eq!(index_text("カタカナ"), "カ タ カ ナ カタ タカ カナ");
        assert_eq!(index_text("서울에서"), "서울에서", "Hangul is spaced");
    }

    #[test]
    fn queries_ask_for_prefixes_tokens_and_long_runs() {
        let terms = SearchTerms::parse("Rock 上海 东京塔 上").expect("valid");
        assert_eq!(terms.prefixes, ["rock"]);
        assert_eq!(terms.tokens, ["上海", "东京", "京塔", "上"]);
        assert_eq!(terms.phrases, ["东京塔"]);
        assert!(SearchTerms::parse("?! --").is_err());
        assert!(SearchTerms::parse(&"a".repeat(MAX_QUERY_CHARS + 1)).is_err());
    }

    #[test]
    fn every_term_of_a_query_occurs_in_the_index_text_of_a_matching_message() {
        // The contract both engines rely on, checked without an engine:
        // a message containing the query has every query term among its
        // index tokens (prefixes as token prefixes).
        for (content, q) in [
            ("我家在上海东边", "上海"),
            ("我家在上海东边", "上海东"),
            ("我家在上海东边", "家"),
            ("Rockets launched", "rock laun"),
            ("東京タワーに行く", "タワー"),
        ] {
            let index = index_text(content);
            let tokens: Vec<&str> = index.split(' ').collect();
            let terms = SearchTerms::parse(q).expect("valid");
            for prefix in &terms.prefixes {
                assert!(
                    tokens.iter().any(|t| t.starts_with(prefix.as_str())),
                    "{q} in {content}"
                );
            }
            for token in &terms.tokens {
                assert!(
                    tokens.contains(&token.as_str()),
                    "{token} of {q} in {content}"
                );
            }
            for phrase in &terms.phrases {
                assert!(content.contains(phrase.as_str()));
            }
        }
    }
}
