//! Reactions to messages (SPEC §4.6): any member may add an emoji or a
//! `:shortcode:` to a message, once per reaction; a message carries at most
//! [`MAX_PER_MESSAGE`] distinct reactions.
//!
//! Design (issue 13): a reaction is a row `(message_id, reaction, user_id)`
//! with the time it was added, so adding is idempotent by the primary key
//! and counts are exact under concurrent reacting (they are counted, never
//! incremented). The limit on distinct reactions is checked under the
//! message's row lock, so two new reactions racing for the last slot cannot
//! both get it. Views carry [`ReactionSummary`]s in order of first use —
//! of the earliest of each reaction's rows still there, so when the first
//! member to use a reaction takes it back, it moves to where its next
//! user put it — computed for a whole page of messages in one query.

use time::OffsetDateTime;

use crate::ids::UserId;
use crate::value::ValueError;

/// Most distinct reactions on one message.
pub const MAX_PER_MESSAGE: usize = 50;

/// A reaction: an emoji (any sequence of non-ASCII symbols, such as 👍,
/// 👍🏽, 🏳️‍🌈 or the keycap 1️⃣) or a `:shortcode:` of ASCII letters,
/// digits, `_`, `+` and `-` between colons (`:+1:`, `:party_parrot:`);
/// 1–[`Reaction::MAX_CHARS`] characters, no whitespace or control
/// characters. Kept exactly as given: `:Smile:` and `:smile:` differ, as in
/// Slack and Matrix, where a reaction is a key chosen by the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reaction(String);

impl Reaction {
    /// Longest reaction, in characters.
    pub const MAX_CHARS: usize = 32;

    /// Checks a client's reaction.
    ///
    /// # Errors
    /// [`ValueError`] when it is empty, too long, contains whitespace or
    /// control characters, or is neither a shortcode nor an emoji.
    pub fn new(value: impl Into<String>) -> Result<Self, ValueError> {
        let value = value.into();
        let chars = value.chars().count();
        if chars == 0 {
            return Err(ValueError::new("must not be empty"));
        }
        if chars > Self::MAX_CHARS {
            return Err(ValueError::new(format!(
                "must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_direction_control(c))
        {
            return Err(ValueError::new(
                "must not contain whitespace or control characters",
            ));
        }
        if is_shortcode(&value) || is_emoji(&value) {
            Ok(Self(value))
        } else {
            Err(ValueError::new(
                "must be an emoji or a :shortcode: of letters, digits, _, + and -",
            ))
        }
    }

    /// The reaction as the client gave it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A reaction as stored (already checked when it was added).
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// `:name:` with a name of ASCII letters, digits, `_`, `+` and `-`.
fn is_shortcode(value: &str) -> bool {
    value
        .strip_prefix(':')
        .and_then(|rest| rest.strip_suffix(':'))
        .is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
        })
}

/// Emoji, loosely: no letters of any script, at least one non-ASCII
/// character, and at least one that shows (not only joiners, variation
/// selectors, skin-tone modifiers or tags). ASCII digits, `#` and `*`
/// stay allowed for keycaps (1️⃣ is `1`, U+FE0F, U+20E3); a list of every
/// emoji would age with each Unicode release.
fn is_emoji(value: &str) -> bool {
    !value.is_ascii()
        && !value.chars().any(char::is_alphabetic)
        && value.chars().any(|c| !is_invisible(c))
}

/// Bidirectional embeddings, overrides and isolates: they reorder the
/// text around them (a reaction of U+202E alone reverses what follows it
/// in a naive client), and no emoji needs them.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// Characters that only modify or join their neighbours.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{2064}'
            | '\u{20E3}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{1F3FB}'..='\u{1F3FF}'
            | '\u{E0020}'..='\u{E007F}'
            | '\u{FEFF}'
    )
}

/// One reaction on a message as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionSummary {
    /// The reaction.
    pub reaction: Reaction,
    /// How many members added it.
    pub count: u32,
    /// Whether the reader is one of them.
    pub me: bool,
}

/// Who added a reaction, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reactor {
    /// The member.
    pub user_id: UserId,
    /// When they added it.
    pub at: OffsetDateTime,
}

/// What adding a reaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The caller's reaction is new.
    Added,
    /// The caller had already added it: nothing changed.
    AlreadyThere,
    /// The message already carries [`MAX_PER_MESSAGE`] other reactions.
    TooMany,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_and_shortcodes_are_reactions() {
        for ok in [
            "👍",
            "👍🏽",
            "🏳️‍🌈",
            "1️⃣",
            "#️⃣",
            "❤️",
            "🎉🎉",
            ":+1:",
            ":-1:",
            ":party_parrot:",
            ":Smile:",
            ":a:",
        ] {
            assert_eq!(Reaction::new(ok).expect(ok).as_str(), ok);
        }
    }

    #[test]
    fn words_blanks_and_broken_shortcodes_are_not() {
        for bad in [
            "",
            "ok",
            "+1",
            "1",
            "::",
            ":smile",
            "smile:",
            ":smi le:",
            ":smile:👍",
            "👍 ",
            " 👍",
            "👍\u{0}",
            "\u{200B}",
            "\u{FE0F}\u{200D}",
            "\u{202E}",
            "👍\u{202E}",
            "\u{2067}🎉",
            "🏽",
            "é",
            "上",
            ":é:",
            "👍ok",
        ] {
            assert!(Reaction::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_length_is_counted_in_characters() {
        let longest = "🎉".repeat(Reaction::MAX_CHARS);
        assert!(Reaction::new(longest.as_str()).is_ok());
        assert!(Reaction::new(format!("{longest}🎉")).is_err());
        let shortcode = format!(":{}:", "a".repeat(Reaction::MAX_CHARS - 2));
        assert!(Reaction::new(shortcode.as_str()).is_ok());
        assert!(Reaction::new(format!(":{}:", "a".repeat(Reaction::MAX_CHARS - 1))).is_err());
    }
}
