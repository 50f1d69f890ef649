//! Message rows: the stored message with its thread summary, reactions
//! and mention rows, and the steps that keep them together.

use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{Message, NewMessage};
use missive_domain::reaction::Reaction;
use missive_domain::sync::ChangeKind;
use missive_domain::thread::{MAX_PARTICIPANTS, ThreadSummary};
use time::OffsetDateTime;

use super::{State, micros};

/// A stored message and what is kept beside it.
pub(crate) struct MessageRow {
    /// The message as stored (`thread` and `reactions` are filled in by
    /// [`MessageRow::view`]).
    pub message: Message,
    /// Live replies, if it is a thread's root.
    pub reply_count: u32,
    /// The newest live reply's seq and time.
    pub last_reply: Option<(i64, OffsetDateTime)>,
    /// The first members who replied (a deleted reply keeps its author).
    pub participants: Vec<UserId>,
    /// Its reactions, in the order they were added.
    pub reactions: Vec<ReactionRow>,
    /// The members its mention rows notify.
    pub notified: Vec<UserId>,
}

/// One member's reaction to a message.
pub(crate) struct ReactionRow {
    /// The reaction.
    pub reaction: Reaction,
    /// Who.
    pub user: UserId,
    /// When.
    pub at: OffsetDateTime,
}

impl MessageRow {
    /// The message as every read answers it: its thread summary when it
    /// has live replies, and `reactions: Some([])` when it has none (so
    /// readers look reactions up only for messages that have some).
    pub fn view(&self) -> Message {
        let mut message = self.message.clone();
        message.thread = match self.last_reply {
            Some((last_reply_seq, last_reply_at)) if self.reply_count > 0 => Some(ThreadSummary {
                reply_count: self.reply_count,
                last_reply_at,
                last_reply_seq,
                participant_ids: self.participants.clone(),
            }),
            _ => None,
        };
        message.reactions = self.reactions.is_empty().then(Vec::new);
        message
    }
}

impl State {
    /// The message as read, if it exists.
    pub fn view(&self, id: MessageId) -> Option<Message> {
        self.messages.get(&id).map(MessageRow::view)
    }

    /// Who a message notifies: those of `named` who are members now, or
    /// every member for `all`; never its sender.
    pub fn notified(
        &self,
        chat_id: ChatId,
        sender: UserId,
        named: &[UserId],
        all: bool,
    ) -> Vec<UserId> {
        let Some(chat) = self.chats.get(&chat_id) else {
            return Vec::new();
        };
        let mut out: Vec<UserId> = if all {
            chat.members.keys().copied().collect()
        } else {
            named
                .iter()
                .copied()
                .filter(|u| chat.members.contains_key(u))
                .collect()
        };
        out.retain(|u| *u != sender);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Writes a message's mention rows (replacing any it had).
    pub fn set_mention_rows(&mut self, id: MessageId, notified: Vec<UserId>) {
        self.drop_mention_rows(id);
        let Some(row) = self.messages.get_mut(&id) else {
            return;
        };
        let (chat_id, seq) = (row.message.chat_id, row.message.seq);
        let mut chat = self.chats.get_mut(&chat_id);
        for user in &notified {
            self.mentions
                .entry(*user)
                .or_default()
                .insert(id, (chat_id, seq));
            if let Some(chat) = chat.as_mut() {
                chat.mention_seqs.entry(*user).or_default().insert(seq);
            }
        }
        row.notified = notified;
    }

    /// Removes a message's mention rows.
    pub fn drop_mention_rows(&mut self, id: MessageId) {
        let Some(row) = self.messages.get_mut(&id) else {
            return;
        };
        let (chat_id, seq) = (row.message.chat_id, row.message.seq);
        let mut chat = self.chats.get_mut(&chat_id);
        for user in std::mem::take(&mut row.notified) {
            if let Some(rows) = self.mentions.get_mut(&user) {
                rows.remove(&id);
                if rows.is_empty() {
                    self.mentions.remove(&user);
                }
            }
            if let Some(chat) = chat.as_mut()
                && let Some(seqs) = chat.mention_seqs.get_mut(&user)
            {
                seqs.remove(&seq);
                if seqs.is_empty() {
                    chat.mention_seqs.remove(&user);
                }
            }
        }
    }

    /// Stores a new message at `seq` with its indexes, thread summary,
    /// mention rows and attachment references (the caller has checked
    /// membership, the client id and the uploads, and bumps the chat);
    /// the message as stored, its times cut to whole microseconds.
    pub fn insert_message(&mut self, new: &NewMessage, seq: i64) -> Message {
        let mut stored = new.stored_as(seq);
        stored.sent_at = micros(stored.sent_at);
        stored.created_at = micros(stored.created_at);
        for upload in &mut stored.attachments {
            upload.created_at = micros(upload.created_at);
        }
        let mut message = stored.clone();
        message.reactions = None;
        if let Some(chat) = self.chats.get_mut(&new.chat_id) {
            chat.seqs.insert(seq, new.id);
            chat.ids.insert(new.id);
            if let Some(client_id) = &new.client_id {
                chat.client_ids
                    .insert((new.sender_id, client_id.as_str().to_owned()), new.id);
            }
        }
        self.messages.insert(
            new.id,
            MessageRow {
                message,
                reply_count: 0,
                last_reply: None,
                participants: Vec::new(),
                reactions: Vec::new(),
                notified: Vec::new(),
            },
        );
        if let Some(root) = new.thread_root_id {
            self.replies.entry(root).or_default().insert(seq, new.id);
            if let Some(root) = self.messages.get_mut(&root) {
                root.reply_count += 1;
                root.last_reply = Some((seq, stored.created_at));
                if root.participants.len() < MAX_PARTICIPANTS
                    && !root.participants.contains(&new.sender_id)
                {
                    root.participants.push(new.sender_id);
                }
            }
        }
        let notified = if new.mention_all || !new.mentions.is_empty() {
            self.notified(
                new.chat_id,
                new.sender_id,
                new.mentions.users(),
                new.mention_all,
            )
        } else {
            Vec::new()
        };
        self.set_mention_rows(new.id, notified);
        for upload in &new.attachments {
            self.references.entry(upload.id).or_default().insert(new.id);
        }
        stored
    }

    /// Recounts a root's summary from its live replies (after one of them
    /// was deleted) and records the thread's change.
    pub fn recount_thread(&mut self, root: MessageId) {
        let live: Vec<(i64, OffsetDateTime)> = self
            .replies
            .get(&root)
            .into_iter()
            .flat_map(|replies| replies.values())
            .filter_map(|id| self.messages.get(id))
            .filter(|r| !r.message.is_deleted())
            .map(|r| (r.message.seq, r.message.created_at))
            .collect();
        let Some(row) = self.messages.get_mut(&root) else {
            return;
        };
        row.reply_count = u32::try_from(live.len()).unwrap_or(u32::MAX);
        row.last_reply = live.into_iter().max_by_key(|(seq, _)| *seq);
        self.record_about_message(ChangeKind::Thread, root, None, None);
    }

    /// Removes a message's attachment references.
    pub fn drop_references(&mut self, id: MessageId) {
        let Some(row) = self.messages.get(&id) else {
            return;
        };
        let uploads: Vec<_> = row.message.attachments.iter().map(|u| u.id).collect();
        for upload in uploads {
            if let Some(messages) = self.references.get_mut(&upload) {
                messages.remove(&id);
                if messages.is_empty() {
                    self.references.remove(&upload);
                }
            }
        }
    }

    /// Removes a message and everything kept beside it (its chat is
    /// being deleted).
    pub fn remove_message(&mut self, id: MessageId) {
        self.drop_mention_rows(id);
        self.drop_references(id);
        let Some(row) = self.messages.remove(&id) else {
            return;
        };
        if let Some(root) = row.message.thread_root_id
            && let Some(replies) = self.replies.get_mut(&root)
        {
            replies.remove(&row.message.seq);
            if replies.is_empty() {
                self.replies.remove(&root);
            }
        }
    }
}
