//! Messages and their value objects.

use std::str::FromStr;

use time::OffsetDateTime;

use crate::ids::{ChatId, MessageId, UserId};
use crate::mention::Mentions;
use crate::metadata::Metadata;
use crate::paging::Seq;
use crate::pin::Pin;
use crate::reaction::ReactionSummary;
use crate::search::SearchTerms;
use crate::thread::ThreadSummary;
use crate::upload::Upload;
use crate::value::{ValueError, check_chars};

/// Message text: 1 to `max_chars` characters (Unicode scalar values) and
/// not only whitespace. Stored as given, untrimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    /// Validates content against the configured maximum length.
    ///
    /// # Errors
    /// [`ValueError`] when empty, only whitespace, or longer than
    /// `max_chars`.
    pub fn new(raw: impl Into<String>, max_chars: usize) -> Result<Self, ValueError> {
        let raw = raw.into();
        check_chars(&raw, 1, max_chars)?;
        if raw.trim().is_empty() {
            return Err(ValueError::new("must not be only whitespace"));
        }
        Ok(Self(raw))
    }

    /// Validates content that may be empty — allowed for a message with
    /// attachments, which the message service checks (see
    /// [`Self::is_empty`]). Non-empty content follows [`Self::new`].
    ///
    /// # Errors
    /// [`ValueError`] as for [`Self::new`], except for the empty string.
    pub fn new_or_empty(raw: impl Into<String>, max_chars: usize) -> Result<Self, ValueError> {
        let raw = raw.into();
        if raw.is_empty() {
            Ok(Self(raw))
        } else {
            Self::new(raw, max_chars)
        }
    }

    /// Validates a new message's content: empty only when the message
    /// has attachments (`attached`), else as [`Self::new`].
    ///
    /// # Errors
    /// [`ValueError`] as for [`Self::new_or_empty`], or when empty without
    /// an attachment.
    pub fn for_message(
        raw: impl Into<String>,
        max_chars: usize,
        attached: bool,
    ) -> Result<Self, ValueError> {
        let content = Self::new_or_empty(raw, max_chars)?;
        if content.is_empty() && !attached {
            return Err(ValueError::new(Self::EMPTY_NEEDS_ATTACHMENTS));
        }
        Ok(content)
    }

    /// Why empty content was refused.
    pub const EMPTY_NEEDS_ATTACHMENTS: &'static str =
        "must not be empty unless the message has attachments";

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether there is no text (a message of attachments only).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A client-chosen idempotency key: 1–64 characters, unique per (chat,
/// sender). Re-sending with the same key returns the stored message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// Longest key accepted.
    pub const MAX_CHARS: usize = 64;

    /// Validates a key (taken as given, untrimmed).
    ///
    /// # Errors
    /// [`ValueError`] when empty or longer than 64 characters.
    pub fn new(raw: impl Into<String>) -> Result<Self, ValueError> {
        let raw = raw.into();
        check_chars(&raw, 1, Self::MAX_CHARS)?;
        Ok(Self(raw))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client-supplied time, normalised: converted to UTC, cut to whole
/// microseconds (the precision both databases keep), years 1–9999 (what
/// RFC 3339 can express), so it reads back exactly as it was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentAt(OffsetDateTime);

impl SentAt {
    /// Normalises and checks a client time.
    ///
    /// # Errors
    /// [`ValueError`] when, in UTC, it falls outside years 1–9999.
    pub fn new(at: OffsetDateTime) -> Result<Self, ValueError> {
        let out_of_range = || ValueError::new("must be between years 1 and 9999 (UTC)");
        let utc = at
            .checked_to_offset(time::UtcOffset::UTC)
            .ok_or_else(out_of_range)?;
        if !(1..=9999).contains(&utc.year()) {
            return Err(out_of_range());
        }
        let micros = utc.microsecond();
        Ok(Self(
            utc.replace_microsecond(micros)
                .map_err(|_| out_of_range())?,
        ))
    }

    /// The normalised time.
    pub fn get(self) -> OffsetDateTime {
        self.0
    }
}

/// Who authored a turn, for LLM transcripts. Ordinary chat messages are
/// `user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageRole {
    /// A person (the default).
    #[default]
    User,
    /// A model's answer.
    Assistant,
    /// A system prompt or notice.
    System,
    /// Instructions from the application's developer (OpenAI's name for
    /// what used to be the system prompt of reasoning models).
    Developer,
    /// The output of a tool the model called (its call id is best kept in
    /// the message's metadata).
    Tool,
}

impl MessageRole {
    /// Every role, in their documented order.
    pub const ALL: [Self; 5] = [
        Self::User,
        Self::Assistant,
        Self::System,
        Self::Developer,
        Self::Tool,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
            Self::System => "system",
            Self::Developer => "developer",
            Self::Tool => "tool",
        }
    }
}

impl FromStr for MessageRole {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| {
                ValueError::new("must be one of: user, assistant, system, developer, tool")
            })
    }
}

/// A stored message. A deleted message stays in the sequence as a
/// tombstone: `deleted_at` set and `content` empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Stable id.
    pub id: MessageId,
    /// The chat it belongs to.
    pub chat_id: ChatId,
    /// Position in the chat: the n-th message stored has `seq = n`.
    pub seq: i64,
    /// Author.
    pub sender_id: UserId,
    /// Text; empty for tombstones.
    pub content: String,
    /// Transcript role.
    pub role: MessageRole,
    /// Thumbs up (`true`), down (`false`) or none.
    pub rating: Option<bool>,
    /// The sender's idempotency key, if they gave one.
    pub client_id: Option<ClientId>,
    /// The message this one answers (same chat).
    pub reply_to: Option<MessageId>,
    /// The root of the thread this reply belongs to (`reply_to`, or its
    /// root when `reply_to` is itself a reply).
    pub thread_root_id: Option<MessageId>,
    /// When it is a thread's root: its live replies, summed up.
    pub thread: Option<ThreadSummary>,
    /// The members it mentions by name.
    pub mentions: Mentions,
    /// Whether it mentions everyone in the group.
    pub mention_all: bool,
    /// When the client says it was sent (defaults to the server time).
    pub sent_at: OffsetDateTime,
    /// When the server stored it.
    pub created_at: OffsetDateTime,
    /// When its content was last changed.
    pub edited_at: Option<OffsetDateTime>,
    /// When it was deleted.
    pub deleted_at: Option<OffsetDateTime>,
    /// The sender's metadata (model, usage, tool call id, …).
    pub metadata: Metadata,
    /// Who pinned it and when, if it is pinned.
    pub pinned: Option<Pin>,
    /// Its reactions as one reader sees them (`me` is theirs), in order
    /// of first use. `None` when not read for a reader (the real-time
    /// fan-out, where reactions travel as their own events); storage may
    /// answer `Some([])` for a message it knows has none, so that readers
    /// look up reactions only for messages that have some.
    pub reactions: Option<Vec<ReactionSummary>>,
    /// The sender's uploads it carries, in the order given (none for a
    /// tombstone).
    pub attachments: Vec<Upload>,
}

impl Message {
    /// Whether this is a tombstone.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A message to store; the repository assigns `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Id for the new message.
    pub id: MessageId,
    /// Target chat.
    pub chat_id: ChatId,
    /// Author (must be a member).
    pub sender_id: UserId,
    /// Text.
    pub content: MessageContent,
    /// Transcript role.
    pub role: MessageRole,
    /// Initial rating.
    pub rating: Option<bool>,
    /// Idempotency key.
    pub client_id: Option<ClientId>,
    /// Answered message (same chat, already checked).
    pub reply_to: Option<MessageId>,
    /// The root of the thread it joins (see [`Message::thread_root_id`]).
    pub thread_root_id: Option<MessageId>,
    /// The members it mentions (members of the chat, already checked).
    pub mentions: Mentions,
    /// Whether it mentions everyone (a group's owner or admin, checked).
    pub mention_all: bool,
    /// Client-side send time.
    pub sent_at: OffsetDateTime,
    /// Server time.
    pub created_at: OffsetDateTime,
    /// The sender's metadata.
    pub metadata: Metadata,
    /// The sender's own uploads it attaches (checked, at most ten).
    pub attachments: Vec<Upload>,
}

impl NewMessage {
    /// The message as stored with `seq` (no edit, not deleted).
    pub fn stored_as(&self, seq: i64) -> Message {
        Message {
            id: self.id,
            chat_id: self.chat_id,
            seq,
            sender_id: self.sender_id,
            content: self.content.as_str().to_owned(),
            role: self.role,
            rating: self.rating,
            client_id: self.client_id.clone(),
            reply_to: self.reply_to,
            thread_root_id: self.thread_root_id,
            thread: None,
            mentions: self.mentions.clone(),
            mention_all: self.mention_all,
            sent_at: self.sent_at,
            created_at: self.created_at,
            edited_at: None,
            deleted_at: None,
            metadata: self.metadata.clone(),
            pinned: None,
            // Nobody has reacted to it yet.
            reactions: Some(Vec::new()),
            attachments: self.attachments.clone(),
        }
    }
}

/// Which slice of a chat's history to read. Items always come back in
/// ascending `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryCursor {
    /// The newest messages.
    Latest,
    /// The newest messages with `seq < n` (scrolling back).
    Before(Seq),
    /// The oldest messages with `seq > n` (catching up).
    After(Seq),
    /// The newest messages once the `n` newest positions are skipped
    /// (tombstones count: positions, not messages). Since seqs are
    /// gap-free this is `Before(last_seq + 1 - n)`, at the same cost for
    /// any `n`; beyond the start, an empty page.
    Offset(Seq),
}

/// A page of history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePage {
    /// Ascending by `seq`.
    pub items: Vec<Message>,
    /// More messages exist beyond the page in the direction of travel.
    pub has_more: bool,
}

/// One `metadata.KEY=VALUE` condition of a listing: the message's
/// metadata must hold, at the top-level `key`, the scalar written `value`
/// — the string itself, or the number or boolean it spells (`42` matches
/// `"42"` and `42`; `true` matches `"true"` and `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataMatch {
    key: String,
    value: String,
}

impl MetadataMatch {
    /// Longest key accepted.
    pub const MAX_KEY_CHARS: usize = 64;

    /// Checks a condition; keys are 1–64 characters of letters, digits,
    /// `_` and `-`.
    ///
    /// # Errors
    /// [`ValueError`] for any other key, or a value over 1 000 characters.
    pub fn new(key: &str, value: &str) -> Result<Self, ValueError> {
        let valid = !key.is_empty()
            && key.chars().count() <= Self::MAX_KEY_CHARS
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(ValueError::new(
                "metadata keys are 1–64 letters, digits, _ or -",
            ));
        }
        check_chars(value, 0, 1000)?;
        Ok(Self {
            key: key.to_owned(),
            value: value.to_owned(),
        })
    }

    /// The top-level key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The value as written.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The number the value spells, if it spells one.
    pub fn as_number(&self) -> Option<serde_json::Number> {
        self.value
            .parse::<i64>()
            .ok()
            .map(serde_json::Number::from)
            .or_else(|| {
                self.value
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
            })
    }

    /// The boolean the value spells, if it spells one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

/// Which messages to list across the caller's chats: every part optional,
/// all ANDed; deleted messages never.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFilter {
    /// Only this chat (the caller must be a member).
    pub chat_id: Option<ChatId>,
    /// Only this sender.
    pub sender_id: Option<UserId>,
    /// Only this role.
    pub role: Option<MessageRole>,
    /// Only messages stored at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only messages stored before this time.
    pub until: Option<OffsetDateTime>,
    /// Metadata conditions.
    pub metadata: Vec<MetadataMatch>,
    /// Search terms the text must match.
    pub terms: Option<SearchTerms>,
    /// Continue after this message (newest first, so: older than it).
    pub before: Option<MessageId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_must_have_a_visible_character_and_respect_the_limit() {
        assert!(MessageContent::new("", 10).is_err());
        assert!(MessageContent::new(" \n\t ", 10).is_err());
        assert_eq!(
            MessageContent::new("  hi  ", 10).expect("valid").as_str(),
            "  hi  "
        );
        assert!(MessageContent::new("é".repeat(10), 10).is_ok());
        assert!(MessageContent::new("é".repeat(11), 10).is_err());
    }

    #[test]
    fn content_may_be_empty_only_when_asked_for() {
        let empty = MessageContent::new_or_empty("", 10).expect("valid");
        assert!(empty.is_empty());
        assert!(MessageContent::new_or_empty("  ", 10).is_err());
        assert!(MessageContent::new_or_empty("x".repeat(11), 10).is_err());
        assert!(
            !MessageContent::new_or_empty("hi", 10)
                .expect("valid")
                .is_empty()
        );
        assert!(MessageContent::for_message("", 10, false).is_err());
        assert!(MessageContent::for_message("", 10, true).is_ok());
        assert!(MessageContent::for_message(" ", 10, true).is_err());
    }

    #[test]
    fn client_ids_are_1_to_64_characters() {
        assert!(ClientId::new("").is_err());
        assert!(ClientId::new("k".repeat(64)).is_ok());
        assert!(ClientId::new("k".repeat(65)).is_err());
    }

    #[test]
    fn sent_at_is_normalised_to_utc_microseconds_within_years_1_to_9999() {
        use time::macros::datetime;
        let local = datetime!(2026-01-02 08:04:05.123456789 +05:00);
        assert_eq!(
            SentAt::new(local).expect("valid").get(),
            datetime!(2026-01-02 03:04:05.123456 UTC)
        );
        assert!(SentAt::new(datetime!(9999-12-31 23:59:59 -01:00)).is_err());
        assert!(SentAt::new(datetime!(0000-01-01 00:00:00 +01:00)).is_err());
        assert!(SentAt::new(datetime!(0001-01-01 00:00:00 UTC)).is_ok());
    }

    #[test]
    fn metadata_conditions_have_plain_keys_and_read_numbers_and_booleans() {
        assert!(MetadataMatch::new("", "x").is_err());
        assert!(MetadataMatch::new("a.b", "x").is_err());
        assert!(MetadataMatch::new("a'b", "x").is_err());
        assert!(MetadataMatch::new(&"k".repeat(65), "x").is_err());
        let number = MetadataMatch::new("tokens", "42").expect("valid");
        assert_eq!(number.as_number(), Some(42.into()));
        assert_eq!(number.as_bool(), None);
        let flag = MetadataMatch::new("is_final", "true").expect("valid");
        assert_eq!(flag.as_bool(), Some(true));
        assert_eq!(
            MetadataMatch::new("m", "gpt-5").expect("valid").as_number(),
            None
        );
    }

    #[test]
    fn content_and_client_ids_refuse_nul() {
        assert!(MessageContent::new("a\0", 10).is_err());
        assert!(ClientId::new("k\0").is_err());
    }

    #[test]
    fn roles_parse_from_their_names_and_default_to_user() {
        assert_eq!(MessageRole::default(), MessageRole::User);
        for role in MessageRole::ALL {
            assert_eq!(role.as_str().parse::<MessageRole>(), Ok(role));
        }
        assert!("bot".parse::<MessageRole>().is_err());
    }
}
