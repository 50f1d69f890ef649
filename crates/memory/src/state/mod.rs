//! The rows every adapter shares, and the helpers that keep them
//! consistent. Everything here runs under the store's lock, in one call,
//! so each operation is as atomic as a database transaction.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound::{Excluded, Unbounded};

use missive_domain::InfraError;
use missive_domain::api_key::{ApiKey, ApiKeyHash};
use missive_domain::chat::{Chat, ChatMember};
use missive_domain::ids::{ApiKeyId, ChatId, MessageId, UploadId, UserId};
use missive_domain::upload::{Sha256, Upload};
use missive_domain::user::UserCredentials;
use time::OffsetDateTime;

mod chats;
mod log;
mod messages;
mod search;
mod uploads;

pub(crate) use log::Log;
pub(crate) use messages::{MessageRow, ReactionRow};
pub(crate) use search::matches;

/// Every message of a member is at most this many positions after their
/// read position: a sender further behind has their read position moved
/// to their new message (as `missive-infra`'s `UNREAD_WINDOW`, whose
/// cheap unread counts rely on it; here counts are exact either way, but
/// the read positions and the change log show the same).
pub(crate) const UNREAD_WINDOW: i64 = 1_000;

/// `at` cut to whole microseconds, the precision both databases keep
/// (and the API's cursors carry): every time is stored through this, so
/// values read back as the SQL adapters read them back and a cursor made
/// from one compares with the stored rows as it does there.
pub(crate) fn micros(at: OffsetDateTime) -> OffsetDateTime {
    // A whole microsecond is always valid.
    at.replace_microsecond(at.microsecond()).unwrap_or(at)
}

/// Everything stored.
#[derive(Default)]
pub(crate) struct State {
    /// Users by id.
    pub users: HashMap<UserId, UserCredentials>,
    /// User ids by (normalised) e-mail address: the unique key.
    pub emails: HashMap<String, UserId>,
    /// API keys by id (time-ordered ids: oldest first).
    pub api_keys: BTreeMap<ApiKeyId, (ApiKey, ApiKeyHash)>,
    /// API key ids by digest.
    pub key_hashes: HashMap<String, ApiKeyId>,
    /// Chats with their members and indexes.
    pub chats: HashMap<ChatId, ChatRow>,
    /// Direct chats by their pair of members (smaller id first).
    pub direct: HashMap<Vec<UserId>, ChatId>,
    /// The chats each user is a member of.
    pub member_of: HashMap<UserId, HashSet<ChatId>>,
    /// Messages by id.
    pub messages: HashMap<MessageId, MessageRow>,
    /// Replies by the root they name, by seq (replies share their root's
    /// chat, so seqs are unique), tombstones included.
    pub replies: HashMap<MessageId, BTreeMap<i64, MessageId>>,
    /// Mention rows: per notified user, the message with its chat and seq.
    pub mentions: HashMap<UserId, BTreeMap<MessageId, (ChatId, i64)>>,
    /// Upload records by id (changed only through `add_upload` and
    /// `remove_upload`, which keep the three indexes below in step).
    pub uploads: BTreeMap<UploadId, Upload>,
    /// The bytes each owner's uploads hold together.
    used: HashMap<UserId, u128>,
    /// How many times upload records name each blob (as content or
    /// thumbnail).
    named: HashMap<Sha256, usize>,
    /// The blob rows no upload record names: what the collector takes.
    unnamed: BTreeSet<Sha256>,
    /// Which messages attach each upload (their references).
    pub references: HashMap<UploadId, BTreeSet<MessageId>>,
    /// Blob rows: recorded blobs, with when they were first recorded
    /// (changed only through `record_blob` and `forget_blob`).
    pub blob_rows: BTreeMap<Sha256, OffsetDateTime>,
    /// Blobs whose collection is deleting their bytes right now.
    pub collecting: HashSet<Sha256>,
    /// The change log.
    pub log: Log,
}

/// A chat with what hangs off it.
pub(crate) struct ChatRow {
    /// The chat (its `last_seq` and activity kept up to date).
    pub chat: Chat,
    /// A direct chat's pair.
    pub direct_key: Option<Vec<UserId>>,
    /// Grows with each change of the members.
    pub member_version: i64,
    /// The members by id (changed through [`ChatRow::join`] and
    /// [`ChatRow::leave`], which keep `joined` in step).
    pub members: HashMap<UserId, ChatMember>,
    /// The members in joining order (then by id): pages of members are
    /// ranges of it, whatever the chat's size.
    pub joined: BTreeSet<(OffsetDateTime, UserId)>,
    /// The messages by seq.
    pub seqs: BTreeMap<i64, MessageId>,
    /// The messages by id (ids are time-ordered: newest last).
    pub ids: BTreeSet<MessageId>,
    /// Idempotency keys: `(sender, client id)` to the message.
    pub client_ids: HashMap<(UserId, String), MessageId>,
    /// The pinned messages.
    pub pins: BTreeSet<MessageId>,
    /// The seqs of the messages whose mention rows notify each member
    /// (kept with `State::mentions`): a count after a read position is
    /// a range.
    pub mention_seqs: HashMap<UserId, BTreeSet<i64>>,
}

impl ChatRow {
    /// A new chat with `members` and no message (its times cut to whole
    /// microseconds).
    pub fn new(mut chat: Chat, direct_key: Option<Vec<UserId>>, members: &[ChatMember]) -> Self {
        chat.created_at = micros(chat.created_at);
        chat.last_activity_at = micros(chat.last_activity_at);
        let mut row = Self {
            chat,
            direct_key,
            member_version: 0,
            members: HashMap::new(),
            joined: BTreeSet::new(),
            seqs: BTreeMap::new(),
            ids: BTreeSet::new(),
            client_ids: HashMap::new(),
            pins: BTreeSet::new(),
            mention_seqs: HashMap::new(),
        };
        for member in members {
            row.join(member.clone());
        }
        row
    }

    /// Adds (or replaces) a member, its joining time cut to whole
    /// microseconds.
    pub fn join(&mut self, mut member: ChatMember) {
        member.joined_at = micros(member.joined_at);
        if let Some(old) = self.members.get(&member.user_id) {
            self.joined.remove(&(old.joined_at, old.user_id));
        }
        self.joined.insert((member.joined_at, member.user_id));
        self.members.insert(member.user_id, member);
    }

    /// Removes a member.
    pub fn leave(&mut self, user: UserId) {
        if let Some(old) = self.members.remove(&user) {
            self.joined.remove(&(old.joined_at, old.user_id));
        }
    }

    /// The members in joining order (then by id), strictly after `after`
    /// (its time cut to whole microseconds, as the stored ones are).
    pub fn members_after(
        &self,
        after: Option<(OffsetDateTime, UserId)>,
    ) -> impl Iterator<Item = &ChatMember> {
        let range = match after {
            Some((at, user)) => self.joined.range((Excluded((micros(at), user)), Unbounded)),
            None => self.joined.range(..),
        };
        range.filter_map(|(_, user)| self.members.get(user))
    }

    /// Every member, oldest first (then by id).
    pub fn sorted_members(&self) -> Vec<ChatMember> {
        self.members_after(None).cloned().collect()
    }
}

impl State {
    /// Whether `user` is a member of `chat_id` now.
    pub fn is_member(&self, chat_id: ChatId, user: UserId) -> bool {
        self.chats
            .get(&chat_id)
            .is_some_and(|c| c.members.contains_key(&user))
    }

    /// The chats `user` is a member of.
    pub fn chats_of(&self, user: UserId) -> impl Iterator<Item = ChatId> + '_ {
        self.member_of
            .get(&user)
            .into_iter()
            .flat_map(|chats| chats.iter().copied())
    }

    /// Notes in the membership index that `user` joined or left.
    pub fn index_membership(&mut self, chat_id: ChatId, user: UserId, member: bool) {
        if member {
            self.member_of.entry(user).or_default().insert(chat_id);
        } else if let Some(chats) = self.member_of.get_mut(&user) {
            chats.remove(&chat_id);
            if chats.is_empty() {
                self.member_of.remove(&user);
            }
        }
    }

    /// Refuses a row naming a user who does not exist, as the SQL
    /// adapters' foreign keys do.
    pub fn user_exists(&self, user: UserId) -> Result<(), InfraError> {
        if self.users.contains_key(&user) {
            Ok(())
        } else {
            Err(InfraError::unexpected(format!("no such user: {user}")))
        }
    }
}
