//! [`ChatRepository`] in memory.

use std::collections::HashSet;

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::chat::{
    Chat, ChatCursor, ChatDetails, ChatMember, ChatTitle, MemberCursor, MemberRole, Membership,
    ReadState,
};
use missive_domain::ids::{ChatId, UserId};
use missive_domain::metadata::Metadata;
use missive_domain::ports::{
    AddMemberOutcome, ChatRepository, ChatVersion, InsertChatOutcome, MemberSnapshot, Removal,
    RemoveMemberOutcome,
};
use missive_domain::sync::{ChangeKind, NewChange};

use crate::MemoryStore;
use crate::state::{ChatRow, State, micros};

/// [`ChatRepository`] over a [`MemoryStore`]. The chat's id and a direct
/// chat's pair are unique keys checked and taken in one step; membership
/// changes bump the membership version in the same step.
#[derive(Debug, Clone)]
pub struct MemoryChatRepository {
    store: MemoryStore,
}

impl MemoryChatRepository {
    /// The repository over `store` (see [`MemoryStore::chats`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

/// Stores a new chat and records its creation (the caller checked its
/// keys); refused when it names a user who does not exist.
fn create(
    state: &mut State,
    chat: &Chat,
    members: &[ChatMember],
    key: Option<Vec<UserId>>,
) -> Result<InsertChatOutcome, InfraError> {
    state.user_exists(chat.created_by)?;
    for member in members {
        state.user_exists(member.user_id)?;
    }
    if let Some(key) = &key {
        state.direct.insert(key.clone(), chat.id);
    }
    for member in members {
        state.index_membership(chat.id, member.user_id, true);
    }
    state
        .chats
        .insert(chat.id, ChatRow::new(chat.clone(), key, members));
    state.record(NewChange::chat(chat.id, ChangeKind::ChatCreated));
    Ok(InsertChatOutcome::Created)
}

/// Refuses a member list naming someone twice (a primary key violation
/// in SQL: nothing is stored).
fn distinct(members: &[ChatMember]) -> Result<(), InfraError> {
    let mut seen = HashSet::new();
    if members.iter().all(|m| seen.insert(m.user_id)) {
        Ok(())
    } else {
        Err(InfraError::unexpected("a member is listed twice"))
    }
}

fn version(row: &ChatRow) -> ChatVersion {
    ChatVersion {
        chat_id: row.chat.id,
        member_version: row.member_version,
        last_seq: row.chat.last_seq,
    }
}

#[async_trait]
impl ChatRepository for MemoryChatRepository {
    async fn insert_group(
        &self,
        chat: &Chat,
        members: &[ChatMember],
    ) -> Result<InsertChatOutcome, InfraError> {
        distinct(members)?;
        self.store.with(|state| {
            if state.chats.contains_key(&chat.id) {
                return Ok(InsertChatOutcome::IdTaken);
            }
            create(state, chat, members, None)
        })?
    }

    async fn insert_direct(
        &self,
        chat: &Chat,
        members: &[ChatMember],
    ) -> Result<InsertChatOutcome, InfraError> {
        distinct(members)?;
        let mut key: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
        key.sort_unstable();
        self.store.with(|state| {
            // The pair's chat wins over a chosen id (one chat per pair).
            if let Some(existing) = state.direct.get(&key) {
                return Ok(InsertChatOutcome::Existing(*existing));
            }
            if state.chats.contains_key(&chat.id) {
                return Ok(InsertChatOutcome::IdTaken);
            }
            create(state, chat, members, Some(key))
        })?
    }

    async fn find_membership(
        &self,
        chat_id: ChatId,
        user_id: UserId,
    ) -> Result<Option<Membership>, InfraError> {
        self.store.with(|state| {
            let row = state.chats.get(&chat_id)?;
            Some(Membership {
                chat: row.chat.clone(),
                member: row.members.get(&user_id)?.clone(),
            })
        })
    }

    async fn details(
        &self,
        chat_id: ChatId,
        viewer: UserId,
    ) -> Result<Option<ChatDetails>, InfraError> {
        self.store.with(|state| state.details(chat_id, viewer))
    }

    async fn list_for_member(
        &self,
        viewer: UserId,
        limit: u32,
        after: Option<ChatCursor>,
    ) -> Result<Vec<ChatDetails>, InfraError> {
        self.store.with(|state| {
            // The cursor compares at whole microseconds, as stored.
            let after = after.map(|c| (micros(c.last_activity_at), c.chat_id));
            let mut keys: Vec<(time::OffsetDateTime, ChatId)> = state
                .chats_of(viewer)
                .filter_map(|id| state.chats.get(&id))
                .map(|row| (row.chat.last_activity_at, row.chat.id))
                .filter(|key| after.is_none_or(|c| *key < c))
                .collect();
            // Most recent activity first, then by id (descending).
            keys.sort_unstable_by(|a, b| b.cmp(a));
            keys.into_iter()
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .filter_map(|(_, id)| state.details(id, viewer))
                .collect()
        })
    }

    async fn update<'a>(
        &self,
        chat_id: ChatId,
        title: Option<&'a ChatTitle>,
        metadata: Option<&'a Metadata>,
    ) -> Result<(), InfraError> {
        self.store.with(|state| {
            let Some(row) = state.chats.get_mut(&chat_id) else {
                return;
            };
            if let Some(title) = title {
                row.chat.title = Some(title.clone());
            }
            if let Some(metadata) = metadata {
                row.chat.metadata = metadata.clone();
            }
            state.record(NewChange::chat(chat_id, ChangeKind::ChatUpdated));
        })
    }

    async fn delete(&self, chat_id: ChatId) -> Result<(), InfraError> {
        self.store.with(|state| state.delete_chat(chat_id))
    }

    async fn members_among(
        &self,
        chat_id: ChatId,
        users: &[UserId],
    ) -> Result<Vec<UserId>, InfraError> {
        self.store.with(|state| {
            let Some(row) = state.chats.get(&chat_id) else {
                return Vec::new();
            };
            let mut seen = HashSet::new();
            users
                .iter()
                .copied()
                .filter(|u| row.members.contains_key(u) && seen.insert(*u))
                .collect()
        })
    }

    async fn members(&self, chat_id: ChatId) -> Result<Vec<ChatMember>, InfraError> {
        self.store.with(|state| {
            state
                .chats
                .get(&chat_id)
                .map(ChatRow::sorted_members)
                .unwrap_or_default()
        })
    }

    async fn list_members(
        &self,
        chat_id: ChatId,
        limit: u32,
        after: Option<MemberCursor>,
    ) -> Result<Vec<ChatMember>, InfraError> {
        self.store.with(|state| {
            let Some(row) = state.chats.get(&chat_id) else {
                return Vec::new();
            };
            row.members_after(after.map(|c| (c.joined_at, c.user_id)))
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .cloned()
                .collect()
        })
    }

    async fn member_snapshot(&self, chat_id: ChatId) -> Result<Option<MemberSnapshot>, InfraError> {
        // Version and members are read in one step: never newer members
        // than their version.
        self.store.with(|state| {
            let row = state.chats.get(&chat_id)?;
            Some(MemberSnapshot {
                version: version(row),
                members: row.sorted_members(),
            })
        })
    }

    async fn chat_versions(&self, chat_ids: &[ChatId]) -> Result<Vec<ChatVersion>, InfraError> {
        self.store.with(|state| {
            let mut seen = HashSet::new();
            chat_ids
                .iter()
                .filter(|id| seen.insert(**id))
                .filter_map(|id| state.chats.get(id))
                .map(version)
                .collect()
        })
    }

    async fn add_member(
        &self,
        chat_id: ChatId,
        member: &ChatMember,
        max_members: usize,
    ) -> Result<AddMemberOutcome, InfraError> {
        self.store.with(|state| {
            let no_chat = || InfraError::unexpected("no such chat to add a member to");
            let row = state.chats.get(&chat_id).ok_or_else(no_chat)?;
            if row.members.contains_key(&member.user_id) {
                return Ok(AddMemberOutcome::AlreadyMember);
            }
            if row.members.len() >= max_members {
                return Ok(AddMemberOutcome::Full);
            }
            state.user_exists(member.user_id)?;
            let row = state.chats.get_mut(&chat_id).ok_or_else(no_chat)?;
            row.join(member.clone());
            row.member_version += 1;
            state.index_membership(chat_id, member.user_id, true);
            state.record(NewChange::user(
                chat_id,
                ChangeKind::MemberAdded,
                member.user_id,
            ));
            if member.last_read_seq > 0 {
                // A newcomer starts with the history read: say so.
                state.record(NewChange::read(
                    chat_id,
                    member.user_id,
                    member.last_read_seq,
                ));
            }
            Ok(AddMemberOutcome::Added)
        })?
    }

    async fn remove_member(
        &self,
        chat_id: ChatId,
        removal: &Removal,
    ) -> Result<RemoveMemberOutcome, InfraError> {
        self.store.with(|state| {
            let Some(row) = state.chats.get_mut(&chat_id) else {
                return RemoveMemberOutcome::NotMember;
            };
            let Some(target) = row.members.get(&removal.user_id) else {
                return RemoveMemberOutcome::NotMember;
            };
            let successor_present = removal
                .new_owner
                .is_none_or(|owner| row.members.contains_key(&owner));
            if target.role != removal.role || !successor_present {
                return RemoveMemberOutcome::Stale;
            }
            row.leave(removal.user_id);
            row.member_version += 1;
            if let Some(owner) = removal.new_owner
                && let Some(successor) = row.members.get_mut(&owner)
            {
                successor.role = MemberRole::Owner;
            }
            state.index_membership(chat_id, removal.user_id, false);
            state.record(NewChange::user(
                chat_id,
                ChangeKind::MemberRemoved,
                removal.user_id,
            ));
            if removal.new_owner.is_some() {
                // A role changed: the chat's view did.
                state.record(NewChange::chat(chat_id, ChangeKind::ChatUpdated));
            }
            RemoveMemberOutcome::Removed
        })
    }

    async fn mark_read(
        &self,
        chat_id: ChatId,
        user_id: UserId,
        seq: i64,
    ) -> Result<Option<(ReadState, bool)>, InfraError> {
        self.store.with(|state| {
            let row = state.chats.get_mut(&chat_id)?;
            let target = seq.min(row.chat.last_seq);
            let member = row.members.get_mut(&user_id)?;
            let moved = member.last_read_seq < target;
            if moved {
                member.last_read_seq = target;
            }
            let member = member.clone();
            if moved {
                state.record(NewChange::read(chat_id, user_id, target));
            }
            let (unread_count, mention_count) = state.unread(chat_id, &member);
            let read = ReadState {
                chat_id,
                user_id,
                last_read_seq: member.last_read_seq,
                unread_count,
                mention_count,
            };
            Some((read, moved))
        })
    }
}
