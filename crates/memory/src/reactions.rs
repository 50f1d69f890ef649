//! [`ReactionRepository`] in memory.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{MessageId, UserId};
use missive_domain::ports::ReactionRepository;
use missive_domain::reaction::{Added, MAX_PER_MESSAGE, Reaction, ReactionSummary, Reactor};
use missive_domain::sync::ChangeKind;
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::state::{MessageRow, ReactionRow, micros};

/// [`ReactionRepository`] over a [`MemoryStore`]: each addition is
/// decided in one step with the message's other reactions, so the limit
/// of distinct reactions is exact under any concurrency.
#[derive(Debug, Clone)]
pub struct MemoryReactionRepository {
    store: MemoryStore,
}

impl MemoryReactionRepository {
    /// The repository over `store` (see [`MemoryStore::reactions`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

/// The message's reactions as `viewer` sees them, in order of first use
/// (the earliest row of each still there), then by reaction.
fn summaries(row: &MessageRow, viewer: UserId) -> Vec<ReactionSummary> {
    let mut groups: Vec<(OffsetDateTime, ReactionSummary)> = Vec::new();
    for r in &row.reactions {
        match groups.iter_mut().find(|(_, s)| s.reaction == r.reaction) {
            Some((first, summary)) => {
                *first = (*first).min(r.at);
                summary.count += 1;
                summary.me |= r.user == viewer;
            }
            None => groups.push((
                r.at,
                ReactionSummary {
                    reaction: r.reaction.clone(),
                    count: 1,
                    me: r.user == viewer,
                },
            )),
        }
    }
    groups.sort_by(|(a, x), (b, y)| (a, &x.reaction).cmp(&(b, &y.reaction)));
    groups.into_iter().map(|(_, summary)| summary).collect()
}

#[async_trait]
impl ReactionRepository for MemoryReactionRepository {
    async fn add(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
        at: OffsetDateTime,
    ) -> Result<Option<Added>, InfraError> {
        self.store.with(|state| {
            let user_exists = state.user_exists(user);
            let Some(row) = state.messages.get_mut(&message_id) else {
                return Ok(None);
            };
            if row.message.is_deleted() {
                return Ok(None);
            }
            let rows = &row.reactions;
            if rows
                .iter()
                .any(|r| r.user == user && &r.reaction == reaction)
            {
                return Ok(Some(Added::AlreadyThere));
            }
            let known = rows.iter().any(|r| &r.reaction == reaction);
            let kinds = rows
                .iter()
                .map(|r| &r.reaction)
                .collect::<HashSet<_>>()
                .len();
            if !known && kinds >= MAX_PER_MESSAGE {
                return Ok(Some(Added::TooMany));
            }
            user_exists?;
            row.reactions.push(ReactionRow {
                reaction: reaction.clone(),
                user,
                at: micros(at),
            });
            state.record_about_message(
                ChangeKind::Reaction,
                message_id,
                Some(user),
                Some(format!("+{}", reaction.as_str())),
            );
            Ok(Some(Added::Added))
        })?
    }

    async fn remove(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
    ) -> Result<bool, InfraError> {
        self.store.with(|state| {
            let Some(row) = state.messages.get_mut(&message_id) else {
                return false;
            };
            let before = row.reactions.len();
            row.reactions
                .retain(|r| !(r.user == user && &r.reaction == reaction));
            let removed = row.reactions.len() < before;
            if removed {
                state.record_about_message(
                    ChangeKind::Reaction,
                    message_id,
                    Some(user),
                    Some(format!("-{}", reaction.as_str())),
                );
            }
            removed
        })
    }

    async fn has(
        &self,
        message_id: MessageId,
        user: UserId,
        reaction: &Reaction,
    ) -> Result<bool, InfraError> {
        self.store.with(|state| {
            state.messages.get(&message_id).is_some_and(|row| {
                row.reactions
                    .iter()
                    .any(|r| r.user == user && &r.reaction == reaction)
            })
        })
    }

    async fn summaries(
        &self,
        viewer: UserId,
        ids: &[MessageId],
    ) -> Result<HashMap<MessageId, Vec<ReactionSummary>>, InfraError> {
        self.store.with(|state| {
            ids.iter()
                .filter_map(|id| state.messages.get(id).map(|row| (*id, row)))
                .filter(|(_, row)| !row.reactions.is_empty())
                .map(|(id, row)| (id, summaries(row, viewer)))
                .collect()
        })
    }

    async fn reactors(
        &self,
        message_id: MessageId,
        reaction: &Reaction,
        after: Option<Reactor>,
        limit: u32,
    ) -> Result<Vec<Reactor>, InfraError> {
        self.store.with(|state| {
            let Some(row) = state.messages.get(&message_id) else {
                return Vec::new();
            };
            // The cursor compares at whole microseconds, as stored.
            let after = after.map(|c| (micros(c.at), c.user_id));
            let mut reactors: Vec<Reactor> = row
                .reactions
                .iter()
                .filter(|r| &r.reaction == reaction)
                .map(|r| Reactor {
                    user_id: r.user,
                    at: r.at,
                })
                .filter(|r| after.is_none_or(|c| (r.at, r.user_id) > c))
                .collect();
            reactors.sort_by_key(|r| (r.at, r.user_id));
            reactors.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            reactors
        })
    }
}
