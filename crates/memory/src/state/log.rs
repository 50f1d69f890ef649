//! The change log's rows: positions `(0, id)` with `id` growing by one per
//! change, in the order the changes were made (every write is atomic
//! under the store's lock, so this is commit order and nothing can commit
//! late behind a reader).

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Unbounded};

use missive_domain::ids::{MessageId, UserId};
use missive_domain::sync::{Change, ChangeKind, ChangePage, NewChange, SyncToken};
use time::OffsetDateTime;

use super::{State, micros};

/// A change with when it was recorded (what pruning goes by).
struct Entry {
    change: Change,
    recorded_at: OffsetDateTime,
}

/// The log: kept changes by id, the last id handed out, the floor.
#[derive(Default)]
pub(crate) struct Log {
    entries: BTreeMap<i64, Entry>,
    last_id: i64,
    floor: SyncToken,
}

impl Log {
    /// Appends a change at the next position.
    pub fn record(&mut self, new: NewChange) {
        self.last_id += 1;
        let change = Change {
            position: SyncToken::new(0, self.last_id),
            chat_id: new.chat_id,
            kind: new.kind,
            message_id: new.message_id,
            user_id: new.user_id,
            seq: new.seq,
            detail: new.detail,
        };
        self.entries.insert(
            self.last_id,
            Entry {
                change,
                recorded_at: micros(OffsetDateTime::now_utc()),
            },
        );
    }

    /// The position now: the last one handed out (pruned or not).
    pub fn now(&self) -> SyncToken {
        SyncToken::new(0, self.last_id)
    }

    /// Below it, changes were pruned.
    pub fn floor(&self) -> SyncToken {
        self.floor
    }

    /// When the oldest kept change was recorded.
    pub fn oldest(&self) -> Option<OffsetDateTime> {
        self.entries.values().map(|e| e.recorded_at).min()
    }

    /// The users changes of a chat are addressed to (removals, and
    /// deletions of an earlier chat of that id), each once.
    pub fn addressed(&self, chat_id: missive_domain::ids::ChatId) -> Vec<UserId> {
        let mut users = Vec::new();
        for entry in self.entries.values() {
            let change = &entry.change;
            if change.chat_id == chat_id
                && matches!(
                    change.kind,
                    ChangeKind::MemberRemoved | ChangeKind::ChatDeleted
                )
                && let Some(user) = change.user_id
                && !users.contains(&user)
            {
                users.push(user);
            }
        }
        users
    }

    /// Forgets every change of a chat (it was deleted: nobody can read
    /// them, and a chat created again with its id must not show them).
    pub fn forget_chat(&mut self, chat_id: missive_domain::ids::ChatId) {
        self.entries.retain(|_, e| e.change.chat_id != chat_id);
    }

    /// Of the `batch` oldest changes, deletes those recorded before
    /// `before` and raises the floor past them; how many.
    pub fn prune(&mut self, before: OffsetDateTime, batch: u32) -> u64 {
        // Compared at whole microseconds, as stored (and as SQL does).
        let before = micros(before);
        let doomed: Vec<i64> = self
            .entries
            .iter()
            .take(usize::try_from(batch).unwrap_or(usize::MAX))
            .filter(|(_, e)| e.recorded_at < before)
            .map(|(id, _)| *id)
            .collect();
        let Some(highest) = doomed.iter().max().copied() else {
            return 0;
        };
        for id in &doomed {
            self.entries.remove(id);
        }
        self.floor = self.floor.max(SyncToken::new(0, highest));
        doomed.len() as u64
    }
}

impl State {
    /// Records a change of the store (inside the operation making it).
    pub fn record(&mut self, change: NewChange) {
        self.log.record(change);
    }

    /// Records a change about a message with its chat and seq read from
    /// the message as it is now; nothing when the message does not exist.
    pub fn record_about_message(
        &mut self,
        kind: ChangeKind,
        message_id: MessageId,
        user_id: Option<UserId>,
        detail: Option<String>,
    ) {
        let Some(row) = self.messages.get(&message_id) else {
            return;
        };
        let change = NewChange {
            chat_id: row.message.chat_id,
            kind,
            message_id: Some(message_id),
            user_id,
            seq: Some(row.message.seq),
            detail,
        };
        self.log.record(change);
    }

    /// Whether `viewer` may see `change`: a change of a chat they are a
    /// member of now (a chat's deletion excepted), or one addressed to
    /// them (their removal, the deletion of a chat they were in).
    fn visible(&self, change: &Change, viewer: UserId) -> bool {
        let addressed = change.kind.addressed_to_user() && change.user_id == Some(viewer);
        addressed
            || (change.kind != ChangeKind::ChatDeleted && self.is_member(change.chat_id, viewer))
    }

    /// `ChangeLog::read`: at most `limit` changes after `after` that
    /// `viewer` may see, looking at no more than `scan` changes.
    pub fn read_changes(
        &self,
        after: SyncToken,
        viewer: Option<UserId>,
        limit: u32,
        scan: u32,
    ) -> ChangePage {
        let limit = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let scan = usize::try_from(scan).unwrap_or(usize::MAX).max(limit);
        // Positions are (0, id): a token's id alone says where it is.
        // The window is walked lazily: only what the page keeps is copied.
        let window = self
            .log
            .entries
            .range((Excluded(after.id), Unbounded))
            .take(scan)
            .map(|(_, e)| &e.change);
        let mut changes: Vec<Change> = Vec::new();
        let mut scanned = 0_usize;
        let mut last_scanned = after;
        for change in window {
            scanned += 1;
            last_scanned = change.position;
            if viewer.is_none_or(|v| self.visible(change, v)) {
                if changes.len() == limit {
                    // The page is full and more are readable.
                    let end = changes.last().map_or(after, |c| c.position);
                    return ChangePage {
                        changes,
                        end,
                        has_more: true,
                    };
                }
                changes.push(change.clone());
            }
        }
        if scanned >= scan {
            return ChangePage {
                changes,
                end: last_scanned,
                has_more: true,
            };
        }
        ChangePage {
            changes,
            end: self.log.now(),
            has_more: false,
        }
    }
}
