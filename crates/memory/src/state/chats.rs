//! A chat as a member sees it: embedded members, last message, unread
//! and mention counts; and a chat's removal with what hangs off it.

use std::ops::Bound::{Excluded, Unbounded};

use missive_domain::chat::{ChatDetails, ChatMember, EMBEDDED_MEMBERS};
use missive_domain::ids::{ChatId, UserId};
use missive_domain::sync::{ChangeKind, NewChange};

use super::State;

impl State {
    /// What is unread for `member` in `chat_id`: messages after their read
    /// position that are someone else's and not deleted, and how many of
    /// those mention them (their mention rows after the read position).
    pub fn unread(&self, chat_id: ChatId, member: &ChatMember) -> (u64, u64) {
        let Some(chat) = self.chats.get(&chat_id) else {
            return (0, 0);
        };
        let unread = chat
            .seqs
            .range((Excluded(member.last_read_seq), Unbounded))
            .filter_map(|(_, id)| self.messages.get(id))
            .filter(|r| r.message.sender_id != member.user_id && !r.message.is_deleted())
            .count();
        let mentions = chat.mention_seqs.get(&member.user_id).map_or(0, |seqs| {
            seqs.range((Excluded(member.last_read_seq), Unbounded))
                .count()
        });
        (unread as u64, mentions as u64)
    }

    /// The chat as `viewer` sees it, when it exists and they are a member.
    pub fn details(&self, chat_id: ChatId, viewer: UserId) -> Option<ChatDetails> {
        let row = self.chats.get(&chat_id)?;
        let me = row.members.get(&viewer)?;
        let mut members: Vec<ChatMember> = row
            .members_after(None)
            .take(EMBEDDED_MEMBERS)
            .cloned()
            .collect();
        if !members.iter().any(|m| m.user_id == viewer) {
            members.push(me.clone());
        }
        let last_message = (row.chat.last_seq > 0)
            .then(|| row.seqs.get(&row.chat.last_seq))
            .flatten()
            .and_then(|id| self.view(*id));
        let (unread_count, mention_count) = self.unread(chat_id, me);
        Some(ChatDetails {
            chat: row.chat.clone(),
            members,
            member_count: row.members.len() as u64,
            last_message,
            unread_count,
            mention_count,
        })
    }

    /// Deletes a chat with its members, messages and changes, and tells
    /// each former member and each user a forgotten change was addressed
    /// to (one change each).
    pub fn delete_chat(&mut self, chat_id: ChatId) {
        let Some(row) = self.chats.get(&chat_id) else {
            return;
        };
        let messages: Vec<_> = row.ids.iter().copied().collect();
        let mut former: Vec<UserId> = row.sorted_members().iter().map(|m| m.user_id).collect();
        // Everyone a change still in the log is addressed to (removed
        // earlier, or told of an earlier deletion of this id) is told
        // too: forgetting the chat's changes takes theirs.
        for user in self.log.addressed(chat_id) {
            if !former.contains(&user) {
                former.push(user);
            }
        }
        for id in messages {
            self.remove_message(id);
        }
        self.log.forget_chat(chat_id);
        for user in &former {
            self.record(NewChange::user(chat_id, ChangeKind::ChatDeleted, *user));
            self.index_membership(chat_id, *user, false);
        }
        if let Some(row) = self.chats.remove(&chat_id)
            && let Some(key) = row.direct_key
        {
            self.direct.remove(&key);
        }
    }
}
