//! Threads (SPEC §4.6): a message sent with `reply_to` joins the thread of
//! its root — the message it answers, or that message's own root when it
//! is itself a reply — so a thread is one level deep, as in Slack and
//! Matrix. Replies keep their place in the chat's gap-free `seq`; the root
//! carries a [`ThreadSummary`] of its live replies, kept in the same
//! transaction as each reply and each deletion.

use time::OffsetDateTime;

use crate::ids::UserId;

/// Most participants a summary names.
pub const MAX_PARTICIPANTS: usize = 10;

/// What a thread's root shows about its replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSummary {
    /// Live (not deleted) replies.
    pub reply_count: u32,
    /// When the newest live reply was stored.
    pub last_reply_at: OffsetDateTime,
    /// Its seq.
    pub last_reply_seq: i64,
    /// The first [`MAX_PARTICIPANTS`] members who replied, in the order
    /// they first did (a deleted reply does not take its author out).
    pub participant_ids: Vec<UserId>,
}
