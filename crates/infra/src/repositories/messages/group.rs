//! Group commit on SQLite: sends that arrive together share one write turn
//! and one transaction.
//!
//! SQLite has one writer, and much of a lone send's cost is its
//! transaction: the turn, `BEGIN`, `COMMIT` and the WAL append
//! (BENCHMARKS.md: SQLite alone, 3 360 sends/s one per transaction and
//! 6 008/s eight per transaction). One committer task per repository takes the sends waiting
//! in its queue (at most [`GroupCommit::max_batch`]), runs each one's own
//! statements ([`append_sqlite_in`]) inside a `SAVEPOINT` of one
//! transaction, keeps the savepoint of a stored send and rolls back that of
//! a refused one, and commits once. Only then is any send of the group
//! answered, each with what it would have got alone: its own seq (the sends
//! run in arrival order), `Existing` for a `client_id` stored before or
//! earlier in the same group (looked up inside the transaction), or its own
//! error. A failure of the transaction itself answers every send of the
//! group with it, and none was stored.
//!
//! The committer starts a flush as soon as the previous one has committed:
//! a lone send is flushed at once (in a transaction of its own, without a
//! savepoint, as with group commit off), and a group is whatever arrived
//! while the last one ran. With one writer a second flush could only queue
//! for the write turn, so on SQLite the linger bound
//! ([`GroupCommit::wait`]) never comes into play; it only switches
//! grouping on (> 0) or off.
//!
//! The committer, not the request, runs a send, so a cancelled request
//! cannot tear a group apart. A send whose caller is gone before its group
//! is taken is dropped unwritten (as a request cancelled while it waits
//! for its turn is today); one whose caller leaves later is stored or not
//! with its group, and a retry with its `client_id` finds out which. When
//! the repository is dropped, the committer flushes what is queued and
//! stops; if it is gone (its runtime shut down), a send answers
//! `Unavailable` rather than waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use missive_domain::InfraError;
use missive_domain::message::NewMessage;
use missive_domain::ports::{AppendError, Appended};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::answer;
use super::append::{Attempt, append_sqlite_in};
use crate::database::WriteGate;
use crate::db_error::infra_error;

/// Group commit of sends ([`super::SeaMessageRepository::with_group_commit`]).
///
/// Only SQLite groups sends for now; on PostgreSQL every send keeps its
/// own statement whatever these say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// How long the oldest waiting send may wait for its group to fill
    /// while another flush is in flight; zero turns group commit off, and
    /// each send has its own transaction. A send never waits when no flush
    /// is in flight, and on SQLite (one flush at a time) no longer than
    /// the flush in flight.
    pub wait: Duration,
    /// The most sends in one group. A group holds the write turn for
    /// about 170 µs a send, so this bounds how long edits, reactions and
    /// batches wait behind one (32: about 5 ms).
    pub max_batch: usize,
}

impl Default for GroupCommit {
    fn default() -> Self {
        Self {
            wait: Duration::from_millis(1),
            max_batch: 32,
        }
    }
}

impl GroupCommit {
    /// Whether sends are grouped at all.
    pub fn is_on(&self) -> bool {
        !self.wait.is_zero()
    }
}

/// What group commit did since the repository was built (all zero when
/// it is off or the database is PostgreSQL).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Groups flushed: transactions begun, one per group.
    pub flushes: u64,
    /// Sends those groups carried.
    pub items: u64,
    /// The largest group.
    pub largest: u64,
}

/// The sends waiting for a committer, which is started by the first send
/// (inside the runtime that serves it) and stops when this is dropped.
#[derive(Debug)]
pub(super) struct Group {
    max_batch: usize,
    writer: Writer,
    queue: OnceLock<mpsc::UnboundedSender<Item>>,
    counters: Arc<Counters>,
}

/// What a flush needs: the pool and this process's write turn.
#[derive(Debug, Clone)]
struct Writer {
    conn: DatabaseConnection,
    gate: WriteGate,
}

/// One send and where its answer goes.
struct Item {
    new: NewMessage,
    answer: oneshot::Sender<Result<Appended, AppendError>>,
}

#[derive(Debug, Default)]
struct Counters {
    flushes: AtomicU64,
    items: AtomicU64,
    largest: AtomicU64,
}

impl Group {
    pub(super) fn new(settings: GroupCommit, conn: DatabaseConnection, gate: WriteGate) -> Self {
        Self {
            max_batch: settings.max_batch.max(1),
            writer: Writer { conn, gate },
            queue: OnceLock::new(),
            counters: Arc::default(),
        }
    }

    /// Stores `new` with the sends around it; answers after the commit.
    pub(super) async fn append(&self, new: &NewMessage) -> Result<Appended, AppendError> {
        let (answer, answered) = oneshot::channel();
        let item = Item {
            new: new.clone(),
            answer,
        };
        self.queue().send(item).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    pub(super) fn stats(&self) -> GroupCommitStats {
        GroupCommitStats {
            flushes: self.counters.flushes.load(Ordering::Relaxed),
            items: self.counters.items.load(Ordering::Relaxed),
            largest: self.counters.largest.load(Ordering::Relaxed),
        }
    }

    fn queue(&self) -> &mpsc::UnboundedSender<Item> {
        self.queue.get_or_init(|| {
            let (queue, waiting) = mpsc::unbounded_channel();
            tokio::spawn(commit(
                waiting,
                self.writer.clone(),
                self.max_batch,
                Arc::clone(&self.counters),
            ));
            queue
        })
    }
}

/// The committer: one flush at a time, until every sender is gone and the
/// queue is empty.
async fn commit(
    mut waiting: mpsc::UnboundedReceiver<Item>,
    writer: Writer,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    let mut group = Vec::with_capacity(max_batch);
    while let Some(first) = waiting.recv().await {
        group.push(first);
        let turn = writer.gate.turn().await;
        // Whatever arrived meanwhile (during the last flush, or while
        // another writer held the turn) joins.
        while group.len() < max_batch {
            match waiting.try_recv() {
                Ok(item) => group.push(item),
                Err(_) => break,
            }
        }
        group.retain(|item| !item.answer.is_closed());
        if group.is_empty() {
            continue;
        }
        counters.flushes.fetch_add(1, Ordering::Relaxed);
        let size = group.len() as u64;
        counters.items.fetch_add(size, Ordering::Relaxed);
        counters.largest.fetch_max(size, Ordering::Relaxed);
        let stored = writer.store(&group).await;
        drop(turn);
        match stored {
            Ok(answers) => {
                for (item, answer) in group.drain(..).zip(answers) {
                    // A caller gone meanwhile: its send is stored or not
                    // with the group, and nobody is told.
                    let _ = item.answer.send(answer);
                }
            }
            Err(err) => {
                let err = infra_error(err);
                for item in group.drain(..) {
                    let _ = item.answer.send(Err(AppendError::Infra(copy(&err))));
                }
            }
        }
    }
}

impl Writer {
    /// Each send of `group` in its own savepoint of one transaction, in
    /// order, then one commit (a lone send needs no savepoint). `Err`: the
    /// transaction failed as a whole, and nothing of the group was stored.
    async fn store(&self, group: &[Item]) -> Result<Vec<Result<Appended, AppendError>>, DbErr> {
        if let [alone] = group {
            return Ok(vec![self.store_alone(&alone.new).await?]);
        }
        let txn = self.conn.begin().await?;
        let mut answers = Vec::with_capacity(group.len());
        for item in group {
            answers.push(one(&txn, &item.new).await?);
        }
        txn.commit().await?;
        Ok(answers)
    }

    /// A group of one: its own transaction and no savepoint, as with
    /// group commit off, so a lone send costs what it did.
    async fn store_alone(&self, new: &NewMessage) -> Result<Result<Appended, AppendError>, DbErr> {
        let txn = self.conn.begin().await?;
        let attempt = match append_sqlite_in(&txn, new).await {
            Ok(attempt) => attempt,
            // Dropped, the transaction rolls back.
            Err(err) => return Ok(Err(AppendError::Infra(infra_error(err)))),
        };
        match attempt {
            Attempt::Stored(_) => txn.commit().await?,
            Attempt::NotMember | Attempt::Duplicate | Attempt::UploadGone => {
                txn.rollback().await?;
            }
        }
        Ok(answer(attempt, new, &self.conn).await)
    }
}

/// One send inside a savepoint of `txn`: kept when stored, rolled back
/// otherwise, answered as alone. `Err`: the savepoint could not be set,
/// released or rolled back, so the transaction is not to be trusted.
async fn one(
    txn: &DatabaseTransaction,
    new: &NewMessage,
) -> Result<Result<Appended, AppendError>, DbErr> {
    let savepoint = txn.begin().await?;
    let attempt = match append_sqlite_in(&savepoint, new).await {
        Ok(attempt) => attempt,
        Err(err) => {
            savepoint.rollback().await?;
            return Ok(Err(AppendError::Infra(infra_error(err))));
        }
    };
    match attempt {
        Attempt::Stored(_) => savepoint.commit().await?,
        Attempt::NotMember | Attempt::Duplicate | Attempt::UploadGone => {
            savepoint.rollback().await?;
        }
    }
    // A duplicate is looked up in the transaction: it may be a send
    // earlier in this very group.
    Ok(answer(attempt, new, txn).await)
}

/// The answer of a committer that is gone (its runtime shut down).
fn stopped() -> AppendError {
    AppendError::Infra(InfraError::Unavailable(
        "the group committer stopped".into(),
    ))
}

/// One group's failure, for each of its sends.
fn copy(err: &InfraError) -> InfraError {
    match err {
        InfraError::Unavailable(source) => InfraError::Unavailable(source.to_string().into()),
        InfraError::Unexpected(source) => InfraError::Unexpected(source.to_string().into()),
    }
}
