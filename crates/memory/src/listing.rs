//! `MessageRepository::list`: the viewer's chats, each read newest first,
//! merged; only the messages of the page are copied.

use std::collections::{BinaryHeap, btree_set};
use std::iter::Rev;

use missive_domain::ids::{MessageId, UserId};
use missive_domain::message::{Message, MessageFilter};

use crate::state::{ChatRow, State, matches};

/// A chat's message ids, newest first.
type Stream<'a> = Rev<btree_set::Range<'a, MessageId>>;

/// The next message of `stream` that `filter` keeps.
fn next_kept(state: &State, stream: &mut Stream<'_>, filter: &MessageFilter) -> Option<MessageId> {
    stream
        .by_ref()
        .find(|id| {
            state
                .messages
                .get(id)
                .is_some_and(|row| matches(filter, &row.message))
        })
        .copied()
}

/// Up to `limit` messages `filter` keeps of the chats `viewer` is a member
/// of, newest first (ids are time-ordered). A k-way merge: each chat's
/// newest kept message waits in a heap; the newest of all is taken and its
/// chat's next one takes its place, so `limit` messages are copied, not a
/// page from every chat.
pub(crate) fn newest(
    state: &State,
    viewer: UserId,
    filter: &MessageFilter,
    limit: usize,
) -> Vec<Message> {
    if limit == 0 {
        return Vec::new();
    }
    let chats: Vec<&ChatRow> = match filter.chat_id {
        // Only a chat the viewer is in.
        Some(chat_id) if state.is_member(chat_id, viewer) => {
            state.chats.get(&chat_id).into_iter().collect()
        }
        Some(_) => Vec::new(),
        None => state
            .chats_of(viewer)
            .filter_map(|id| state.chats.get(&id))
            .collect(),
    };
    let mut streams: Vec<Stream<'_>> = chats
        .iter()
        .map(|chat| match filter.before {
            Some(before) => chat.ids.range(..before).rev(),
            None => chat.ids.range(..).rev(),
        })
        .collect();
    let mut heads: BinaryHeap<(MessageId, usize)> = streams
        .iter_mut()
        .enumerate()
        .filter_map(|(at, stream)| next_kept(state, stream, filter).map(|id| (id, at)))
        .collect();
    let mut found = Vec::with_capacity(limit.min(128));
    while found.len() < limit {
        let Some((id, at)) = heads.pop() else {
            break;
        };
        found.extend(state.view(id));
        if let Some(next) = streams
            .get_mut(at)
            .and_then(|stream| next_kept(state, stream, filter))
        {
            heads.push((next, at));
        }
    }
    found
}
