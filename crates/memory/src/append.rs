//! Appending messages, one or a batch, each in one step under the store's
//! lock: membership, the client id, the uploads, the next seq, the thread
//! summary, mention rows, references and the change log together.

use std::collections::HashSet;

use missive_domain::InfraError;
use missive_domain::ids::MessageId;
use missive_domain::message::{Message, NewMessage};
use missive_domain::ports::{AppendError, Appended};
use missive_domain::sync::{ChangeKind, NewChange};

use crate::state::{State, UNREAD_WINDOW};

/// The message this sender already stored with this client id in this
/// chat, if any.
fn repeated(state: &State, new: &NewMessage) -> Option<MessageId> {
    let client_id = new.client_id.as_ref()?;
    let chat = state.chats.get(&new.chat_id)?;
    chat.client_ids
        .get(&(new.sender_id, client_id.as_str().to_owned()))
        .copied()
}

/// Whether every upload the message attaches still exists.
fn uploads_exist(state: &State, new: &NewMessage) -> bool {
    new.attachments
        .iter()
        .all(|u| state.uploads.contains_key(&u.id))
}

/// The sender's read position, when they are a member of the chat.
fn read_position(state: &State, new: &NewMessage) -> Option<i64> {
    let chat = state.chats.get(&new.chat_id)?;
    chat.members.get(&new.sender_id).map(|m| m.last_read_seq)
}

/// The chat's last seq plus `count`: the seq of the last of `count` new
/// messages; an error rather than a wrap past `i64::MAX` (a SQL adapter
/// fails on the out-of-range value the same way), checked before anything
/// is stored.
fn last_new_seq(state: &State, new: &NewMessage, count: i64) -> Result<i64, InfraError> {
    let last_seq = state.chats.get(&new.chat_id).map_or(0, |c| c.chat.last_seq);
    last_seq
        .checked_add(count)
        .ok_or_else(|| InfraError::unexpected("the chat's seqs are used up"))
}

/// Moves the chat to `last_seq` and its activity forward to the stored
/// message's time, and a sender whose read position is more than
/// [`UNREAD_WINDOW`] behind their new message to it.
fn bump(state: &mut State, stored: &Message, read_seq: i64) {
    let Some(chat) = state.chats.get_mut(&stored.chat_id) else {
        return;
    };
    let last_seq = stored.seq;
    chat.chat.last_seq = last_seq;
    chat.chat.last_activity_at = chat.chat.last_activity_at.max(stored.created_at);
    if read_seq < last_seq.saturating_sub(UNREAD_WINDOW)
        && let Some(member) = chat.members.get_mut(&stored.sender_id)
    {
        member.last_read_seq = last_seq;
        state.record(NewChange::read(stored.chat_id, stored.sender_id, last_seq));
    }
}

/// `MessageRepository::append`.
pub(crate) fn append(state: &mut State, new: &NewMessage) -> Result<Appended, AppendError> {
    let Some(read_seq) = read_position(state, new) else {
        return Err(AppendError::NotMember);
    };
    if let Some(existing) = repeated(state, new).and_then(|id| state.view(id)) {
        return Ok(Appended::Existing(existing));
    }
    if state.messages.contains_key(&new.id) {
        return Err(InfraError::unexpected("the message id is taken").into());
    }
    if !uploads_exist(state, new) {
        return Err(AppendError::UploadGone);
    }
    let seq = last_new_seq(state, new, 1)?;
    let stored = state.insert_message(new, seq);
    state.record(NewChange::message(
        new.chat_id,
        ChangeKind::MessageCreated,
        new.id,
    ));
    if let Some(root) = new.thread_root_id {
        state.record(NewChange::message(new.chat_id, ChangeKind::Thread, root));
    }
    bump(state, &stored, read_seq);
    Ok(Appended::Created(stored))
}

/// `MessageRepository::append_batch`.
pub(crate) fn append_batch(
    state: &mut State,
    batch: &[NewMessage],
) -> Result<Vec<Appended>, AppendError> {
    let Some(first) = batch.first() else {
        return Ok(Vec::new());
    };
    let one_chat = batch
        .iter()
        .all(|m| m.chat_id == first.chat_id && m.sender_id == first.sender_id);
    let mut keys = HashSet::new();
    let distinct_keys = batch
        .iter()
        .filter_map(|m| m.client_id.as_ref())
        .all(|c| keys.insert(c.as_str()));
    if !one_chat || !distinct_keys {
        return Err(InfraError::unexpected(
            "a batch is of one chat and one sender, with distinct client ids",
        )
        .into());
    }
    let Some(read_seq) = read_position(state, first) else {
        return Err(AppendError::NotMember);
    };
    let existing: Vec<Option<Message>> = batch
        .iter()
        .map(|m| repeated(state, m).and_then(|id| state.view(id)))
        .collect();
    // Every check before any change: all or nothing.
    let mut ids = HashSet::new();
    for (new, known) in batch.iter().zip(&existing) {
        if known.is_some() {
            continue;
        }
        if state.messages.contains_key(&new.id) || !ids.insert(new.id) {
            return Err(InfraError::unexpected("the message id is taken").into());
        }
        if !uploads_exist(state, new) {
            return Err(AppendError::UploadGone);
        }
    }
    let created = existing.iter().filter(|known| known.is_none()).count();
    let created = i64::try_from(created).unwrap_or(i64::MAX);
    let mut next = last_new_seq(state, first, created)? - created;
    let mut answer = Vec::with_capacity(batch.len());
    let mut roots = Vec::new();
    let mut newest = None;
    for (new, known) in batch.iter().zip(existing) {
        if let Some(message) = known {
            answer.push(Appended::Existing(message));
            continue;
        }
        next += 1;
        let stored = state.insert_message(new, next);
        state.record(NewChange::message(
            new.chat_id,
            ChangeKind::MessageCreated,
            new.id,
        ));
        if let Some(root) = new.thread_root_id
            && !roots.contains(&root)
        {
            roots.push(root);
        }
        newest = Some(answer.len());
        answer.push(Appended::Created(stored));
    }
    for root in roots {
        state.record(NewChange::message(first.chat_id, ChangeKind::Thread, root));
    }
    if let Some(Appended::Created(newest)) = newest.and_then(|at| answer.get(at)) {
        bump(state, newest, read_seq);
    }
    Ok(answer)
}
