use std::sync::LazyLock;

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{HistoryCursor, Message, MessageFilter, MessagePage, NewMessage};
use missive_domain::ports::{AppendError, Appended, MessageEdit, MessageRepository};
use missive_domain::search::index_text;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Statement, TransactionTrait, Value,
};
use time::OffsetDateTime;

use super::UNREAD_WINDOW;
use super::convert::{self, micros};
use super::listing::{list_postgres, list_sqlite};
use super::search::{SearchTuning, search_postgres};
use crate::Database;
use crate::database::WriteGate;
use crate::db_error::{infra_error, is_unique_violation};
use crate::entity::{chat_members, messages};
use crate::sql::{placeholders, statement};

/// [`MessageRepository`] on SeaORM.
#[derive(Debug, Clone)]
pub struct SeaMessageRepository {
    conn: DatabaseConnection,
    write_gate: WriteGate,
    search: SearchTuning,
}

impl SeaMessageRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
            write_gate: db.write_gate(),
            search: SearchTuning::default(),
        }
    }

    /// The same repository with other search-planner knobs (PostgreSQL;
    /// see [`SearchTuning`]).
    pub fn with_search_tuning(mut self, tuning: SearchTuning) -> Self {
        self.search = tuning;
        self
    }
}

/// PostgreSQL: one statement, one round trip. The UPDATE takes the chat's
/// row lock (serialising senders of one chat, on any instance), checks
/// membership and yields the next seq; the INSERT stores the message; the
/// last part moves the sender's read position to their message only when
/// it is more than [`UNREAD_WINDOW`] behind (the invariant that keeps
/// unread counts cheap; for everyone else it writes nothing). A duplicate
/// `client_id` makes the INSERT — and so the whole statement, bump
/// included — fail atomically on the unique index.
static APPEND_PG: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH bumped AS ( \
            UPDATE chats SET last_seq = last_seq + 1, \
                last_activity_us = GREATEST(last_activity_us, ?) \
            WHERE id = ? AND EXISTS ( \
                SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) \
            RETURNING last_seq), \
        stored AS ( \
            INSERT INTO messages (id, chat_id, seq, sender_id, content, role, rating, \
                client_id, reply_to, sent_at, created_at, metadata, search_text, \
                thread_root_id, mentions, mention_all) \
            SELECT ?, ?, bumped.last_seq, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM bumped \
            RETURNING seq), \
        caught_up AS ( \
            UPDATE chat_members SET last_read_seq = stored.seq FROM stored \
            WHERE chat_id = ? AND user_id = ? \
                AND last_read_seq < stored.seq - {UNREAD_WINDOW}) \
        SELECT seq FROM stored"
    )
});

/// The part of [`APPEND_PG`] a reply adds: the root's thread summary,
/// updated under the root's row lock in the same statement. Values: the
/// reply's time, the sender as for [`PARTICIPANTS`], the root's id.
static THREADED_PG: LazyLock<String> = LazyLock::new(|| {
    format!(
        ", threaded AS (UPDATE messages SET reply_count = messages.reply_count + 1, \
            last_reply_seq = stored.seq, last_reply_at = ?, \
            thread_participants = {PARTICIPANTS} \
        FROM stored WHERE messages.id = ?)"
    )
});

/// Who a message notifies: those it names who are members at the time,
/// or every member for `all`; never its sender.
#[derive(Debug, Clone, Copy)]
struct Notified<'a> {
    message_id: MessageId,
    chat_id: ChatId,
    sender_id: UserId,
    named: &'a [UserId],
    all: bool,
}

impl<'a> Notified<'a> {
    fn of(new: &'a NewMessage) -> Self {
        Self {
            message_id: new.id,
            chat_id: new.chat_id,
            sender_id: new.sender_id,
            named: new.mentions.users(),
            all: new.mention_all,
        }
    }

    fn anyone(&self) -> bool {
        self.all || !self.named.is_empty()
    }

    /// One row per member notified. `seq` is SQL (`stored.seq` inside
    /// [`APPEND_PG`], else `?`), `from` what the rows are selected from
    /// besides the members. Values: the message id, [`seq`'s if bound],
    /// then [`values`](Self::values).
    fn sql(&self, seq: &str, from: &str) -> String {
        let named = if self.all {
            String::new()
        } else {
            format!(" AND cm.user_id IN ({})", placeholders(self.named.len()))
        };
        format!(
            "INSERT INTO message_mentions (message_id, user_id, chat_id, seq) \
             SELECT ?, cm.user_id, cm.chat_id, {seq} FROM {from}chat_members cm \
             WHERE cm.chat_id = ? AND cm.user_id <> ?{named}"
        )
    }

    /// The values of [`sql`](Self::sql) after the message id (and seq).
    fn values(&self) -> Vec<Value> {
        let mut values: Vec<Value> = vec![
            self.chat_id.as_uuid().into(),
            self.sender_id.as_uuid().into(),
        ];
        if !self.all {
            values.extend(self.named.iter().map(|u| Value::from(u.as_uuid())));
        }
        values
    }

    /// Writes the rows for the message stored with `seq`.
    async fn insert(&self, conn: &impl ConnectionTrait, seq: i64) -> Result<(), DbErr> {
        if !self.anyone() {
            return Ok(());
        }
        let mut values: Vec<Value> = vec![self.message_id.as_uuid().into(), seq.into()];
        values.extend(self.values());
        conn.execute_raw(statement(
            conn.get_database_backend(),
            &self.sql("?", ""),
            values,
        ))
        .await?;
        Ok(())
    }
}

/// The root's participants with the sender added when they are new and
/// fewer than ten are named (36 characters an id, commas between).
/// Values: the sender's id as text, a LIKE pattern of it, the id again.
const PARTICIPANTS: &str = "CASE WHEN thread_participants IS NULL THEN ? \
    WHEN LENGTH(thread_participants) >= 369 OR thread_participants LIKE ? \
        THEN thread_participants \
    ELSE thread_participants || ',' || ? END";

/// Adds replies to a root's summary (values: how many, the newest's seq
/// and time, the sender as for [`PARTICIPANTS`], the root's id). Appends
/// to a chat are serialised, so the newest reply is the last appended.
static ROOT_BUMP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE messages SET reply_count = reply_count + ?, last_reply_seq = ?, \
            last_reply_at = ?, thread_participants = {PARTICIPANTS} \
         WHERE id = ?"
    )
});

fn participant_values(sender: UserId) -> [Value; 3] {
    let id = sender.as_uuid().hyphenated().to_string();
    [id.clone().into(), format!("%{id}%").into(), id.into()]
}

fn root_bump_values(
    root: MessageId,
    replies: i64,
    seq: i64,
    at: OffsetDateTime,
    sender: UserId,
) -> Vec<Value> {
    let mut values: Vec<Value> = vec![replies.into(), seq.into(), at.into()];
    values.extend(participant_values(sender));
    values.push(root.as_uuid().into());
    values
}

/// Recounts the summary of a root from its live replies (after one was
/// deleted). The root's row lock is taken first, by its own statement, so
/// that this one reads every reply committed before it.
const ROOT_RECOUNT: &str = "UPDATE messages SET \
    reply_count = (SELECT COUNT(*) FROM messages r \
        WHERE r.thread_root_id = messages.id AND r.deleted_at IS NULL), \
    last_reply_seq = (SELECT MAX(r.seq) FROM messages r \
        WHERE r.thread_root_id = messages.id AND r.deleted_at IS NULL), \
    last_reply_at = (SELECT r.created_at FROM messages r \
        WHERE r.thread_root_id = messages.id AND r.deleted_at IS NULL \
        ORDER BY r.seq DESC LIMIT 1) \
    WHERE id = ?";

/// What a history query reads: a chat's messages, or a thread's replies.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Chat(ChatId),
    Thread(MessageId),
}

/// SQLite: the same steps inside one transaction (SQLite has no
/// data-modifying CTEs; it has one writer at a time anyway).
/// A sender far behind catches up to their message (see [`APPEND_PG`]).
static CATCH_UP_SQLITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE chat_members SET last_read_seq = ? \
         WHERE chat_id = ? AND user_id = ? AND last_read_seq < ? - {UNREAD_WINDOW}"
    )
});

/// The bump also returns the sender's read position, so the catch-up
/// statement runs only when it has something to do.
const BUMP_SQLITE: &str = "UPDATE chats SET last_seq = last_seq + 1, \
        last_activity_us = MAX(last_activity_us, ?) \
    WHERE id = ? AND EXISTS (SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) \
    RETURNING last_seq, \
        (SELECT last_read_seq FROM chat_members WHERE chat_id = ? AND user_id = ?) AS read_seq";

/// Takes the chat's row lock (as every append does) and checks
/// membership, answering the chat's last seq and the sender's read
/// position; no row when the sender is not a member.
const LOCK_FOR_BATCH: &str = "UPDATE chats SET last_seq = last_seq \
    WHERE id = ? AND EXISTS (SELECT 1 FROM chat_members WHERE chat_id = ? AND user_id = ?) \
    RETURNING last_seq, \
        (SELECT last_read_seq FROM chat_members WHERE chat_id = ? AND user_id = ?) AS read_seq";

/// Moves the chat to the batch's last seq and activity.
const BATCH_BUMP: &str = "UPDATE chats SET last_seq = ?, \
    last_activity_us = CASE WHEN last_activity_us > ? THEN last_activity_us ELSE ? END \
    WHERE id = ?";

/// The row of a new message stored with `seq`.
fn stored_model(new: &NewMessage, seq: i64) -> messages::ActiveModel {
    messages::ActiveModel {
        id: Set(new.id.as_uuid()),
        chat_id: Set(new.chat_id.as_uuid()),
        seq: Set(seq),
        sender_id: Set(new.sender_id.as_uuid()),
        content: Set(new.content.as_str().to_owned()),
        role: Set(new.role.as_str().to_owned()),
        rating: Set(new.rating),
        client_id: Set(new.client_id.as_ref().map(|c| c.as_str().to_owned())),
        reply_to: Set(new.reply_to.map(|r| r.as_uuid())),
        sent_at: Set(new.sent_at),
        created_at: Set(new.created_at),
        edited_at: Set(None),
        deleted_at: Set(None),
        metadata: Set(new.metadata.to_stored()),
        search_text: Set(Some(index_text(new.content.as_str()))),
        pinned_by: Set(None),
        pinned_at: Set(None),
        thread_root_id: Set(new.thread_root_id.map(|r| r.as_uuid())),
        reply_count: Set(0),
        last_reply_seq: Set(None),
        last_reply_at: Set(None),
        thread_participants: Set(None),
        mentions: Set(convert::stored_user_ids(new.mentions.users())),
        mention_all: Set(new.mention_all),
    }
}

#[derive(Debug, FromQueryResult)]
struct SeqRow {
    seq: i64,
}

fn bump_values(new: &NewMessage) -> Vec<Value> {
    vec![
        micros(new.created_at).into(),
        new.chat_id.as_uuid().into(),
        new.chat_id.as_uuid().into(),
        new.sender_id.as_uuid().into(),
    ]
}

fn insert_values(new: &NewMessage) -> Vec<Value> {
    vec![
        new.id.as_uuid().into(),
        new.chat_id.as_uuid().into(),
        new.sender_id.as_uuid().into(),
        new.content.as_str().into(),
        new.role.as_str().into(),
        new.rating.into(),
        new.client_id.as_ref().map(|c| c.as_str().to_owned()).into(),
        new.reply_to.map(|r| r.as_uuid()).into(),
        new.sent_at.into(),
        new.created_at.into(),
        new.metadata.to_stored().into(),
        index_text(new.content.as_str()).into(),
        new.thread_root_id.map(|r| r.as_uuid()).into(),
        convert::stored_user_ids(new.mentions.users()).into(),
        new.mention_all.into(),
    ]
}

enum Attempt {
    Stored(i64),
    NotMember,
    Duplicate,
}

impl SeaMessageRepository {
    async fn append_postgres(&self, new: &NewMessage) -> Result<Attempt, DbErr> {
        let mut values = bump_values(new);
        values.extend(insert_values(new));
        values.extend([new.chat_id.as_uuid().into(), new.sender_id.as_uuid().into()]);
        // Numbered once: this is the hottest statement.
        static SQL: LazyLock<String> =
            LazyLock::new(|| statement(DbBackend::Postgres, &APPEND_PG, Vec::new()).sql);
        let notified = Notified::of(new);
        let statement = if new.thread_root_id.is_none() && !notified.anyone() {
            Statement::from_sql_and_values(DbBackend::Postgres, SQL.as_str(), values)
        } else {
            // Replies and mentions add parts to the same statement.
            let mut parts = String::new();
            if let Some(root) = new.thread_root_id {
                parts.push_str(&THREADED_PG);
                values.push(new.created_at.into());
                values.extend(participant_values(new.sender_id));
                values.push(root.as_uuid().into());
            }
            if notified.anyone() {
                parts.push_str(&format!(
                    ", mentioned AS ({})",
                    notified.sql("stored.seq", "stored, ")
                ));
                values.push(new.id.as_uuid().into());
                values.extend(notified.values());
            }
            let sql = APPEND_PG.replace(
                " SELECT seq FROM stored",
                &format!("{parts} SELECT seq FROM stored"),
            );
            statement(DbBackend::Postgres, &sql, values)
        };
        let row = SeqRow::find_by_statement(statement).one(&self.conn).await;
        match row {
            Ok(Some(row)) => Ok(Attempt::Stored(row.seq)),
            Ok(None) => Ok(Attempt::NotMember),
            Err(e) if is_unique_violation(&e) => Ok(Attempt::Duplicate),
            Err(e) => Err(e),
        }
    }

    async fn append_sqlite(&self, new: &NewMessage) -> Result<Attempt, DbErr> {
        let backend = self.conn.get_database_backend();
        let _turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await?;
        let Some(bumped) = txn
            .query_one_raw(statement(backend, BUMP_SQLITE, {
                let mut values = bump_values(new);
                values.extend([new.chat_id.as_uuid().into(), new.sender_id.as_uuid().into()]);
                values
            }))
            .await?
        else {
            txn.rollback().await?;
            return Ok(Attempt::NotMember);
        };
        let seq: i64 = bumped.try_get("", "last_seq")?;
        let read_seq: i64 = bumped.try_get("", "read_seq")?;
        let model = stored_model(new, seq);
        match messages::Entity::insert(model)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => {
                if let Some(root) = new.thread_root_id {
                    txn.execute_raw(statement(
                        backend,
                        &ROOT_BUMP,
                        root_bump_values(root, 1, seq, new.created_at, new.sender_id),
                    ))
                    .await?;
                }
                Notified::of(new).insert(&txn, seq).await?;
                if read_seq < seq - UNREAD_WINDOW {
                    txn.execute_raw(statement(
                        backend,
                        &CATCH_UP_SQLITE,
                        vec![
                            seq.into(),
                            new.chat_id.as_uuid().into(),
                            new.sender_id.as_uuid().into(),
                            seq.into(),
                        ],
                    ))
                    .await?;
                }
                txn.commit().await?;
                Ok(Attempt::Stored(seq))
            }
            Err(e) if is_unique_violation(&e) => {
                txn.rollback().await?;
                Ok(Attempt::Duplicate)
            }
            Err(e) => Err(e),
        }
    }

    /// A page of `chat_id`, items in ascending seq. With a `viewer`, the
    /// page is empty unless the viewer is a member (checked in the same
    /// statement: PostgreSQL evaluates the uncorrelated EXISTS once).
    async fn page(
        &self,
        scope: Scope,
        viewer: Option<UserId>,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<MessagePage, InfraError> {
        let (column, key, chat) = match scope {
            Scope::Chat(chat_id) => ("chat_id", chat_id.as_uuid(), Some(chat_id.as_uuid())),
            Scope::Thread(root) => ("thread_root_id", root.as_uuid(), None),
        };
        let mut values: Vec<Value> = vec![key.into()];
        let mut sql = format!(
            "SELECT {cols} FROM messages m WHERE m.{column} = ?",
            cols = messages::COLUMNS_M
        );
        let descending = match cursor {
            HistoryCursor::Latest => true,
            HistoryCursor::Before(n) => {
                sql.push_str(" AND m.seq < ?");
                values.push(n.get().into());
                true
            }
            HistoryCursor::After(n) => {
                sql.push_str(" AND m.seq > ?");
                values.push(n.get().into());
                false
            }
            HistoryCursor::Offset(n) => {
                let Some(chat) = chat else {
                    return Err(InfraError::unexpected("threads are not paged by offset"));
                };
                // Gap-free seqs: skipping the n newest positions is reading
                // before last_seq + 1 - n, one index range whatever n is.
                sql.push_str(
                    " AND m.seq < (SELECT c.last_seq + 1 - ? FROM chats c WHERE c.id = ?)",
                );
                values.push(n.get().into());
                values.push(chat.into());
                true
            }
        };
        if let (Some(viewer), Some(chat)) = (viewer, chat) {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM chat_members cm WHERE cm.chat_id = ? AND cm.user_id = ?)",
            );
            values.push(chat.into());
            values.push(viewer.as_uuid().into());
        }
        // The limit is written into the SQL, not bound: SQLite (3.47+)
        // marks a statement whose LIMIT is a bound parameter as "expired"
        // on every new binding and compiles it again on each execution,
        // which cost a third of a history page's CPU (BENCHMARKS.md). A
        // u32 cannot inject anything; at most 201 distinct statements.
        let order = if descending { "DESC" } else { "ASC" };
        sql.push_str(&format!(
            " ORDER BY m.seq {order} LIMIT {}",
            u64::from(limit) + 1
        ));
        let backend = self.conn.get_database_backend();
        let rows = self
            .conn
            .query_all_raw(statement(backend, &sql, values))
            .await
            .map_err(infra_error)?;
        let mut rows = messages::decode_rows(&rows).map_err(infra_error)?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        if descending {
            rows.reverse();
        }
        Ok(MessagePage {
            items: rows
                .into_iter()
                .map(convert::message)
                .collect::<Result<_, _>>()?,
            has_more,
        })
    }

    async fn is_member(&self, chat_id: ChatId, user_id: UserId) -> Result<bool, InfraError> {
        let found = chat_members::Entity::find_by_id((chat_id.as_uuid(), user_id.as_uuid()))
            .select_only()
            .column(chat_members::Column::UserId)
            .into_tuple::<uuid::Uuid>()
            .one(&self.conn)
            .await
            .map_err(infra_error)?;
        Ok(found.is_some())
    }

    async fn find_by_client_id(&self, new: &NewMessage) -> Result<Option<Message>, InfraError> {
        let Some(client_id) = &new.client_id else {
            return Ok(None);
        };
        messages::Entity::find()
            .filter(messages::Column::ChatId.eq(new.chat_id.as_uuid()))
            .filter(messages::Column::SenderId.eq(new.sender_id.as_uuid()))
            .filter(messages::Column::ClientId.eq(client_id.as_str()))
            .one(&self.conn)
            .await
            .map_err(infra_error)?
            .map(convert::message)
            .transpose()
    }
}

#[async_trait]
impl MessageRepository for SeaMessageRepository {
    async fn append(&self, new: &NewMessage) -> Result<Appended, AppendError> {
        let attempt = match self.conn.get_database_backend() {
            DbBackend::Postgres => self.append_postgres(new).await,
            _ => self.append_sqlite(new).await,
        }
        .map_err(infra_error)?;
        match attempt {
            Attempt::Stored(seq) => Ok(Appended::Created(new.stored_as(seq))),
            Attempt::NotMember => Err(AppendError::NotMember),
            Attempt::Duplicate => match self.find_by_client_id(new).await? {
                Some(existing) => Ok(Appended::Existing(existing)),
                None => Err(
                    InfraError::unexpected("unique violation without a stored duplicate").into(),
                ),
            },
        }
    }

    async fn append_batch(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, AppendError> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let (chat_id, sender_id) = (first.chat_id, first.sender_id);
        let backend = self.conn.get_database_backend();
        let _turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // The chat's row lock first, as every append takes it: no other
        // append of this chat runs until this one commits, so the client
        // ids looked up below cannot be taken meanwhile.
        let Some(locked) = txn
            .query_one_raw(statement(
                backend,
                LOCK_FOR_BATCH,
                vec![
                    chat_id.as_uuid().into(),
                    chat_id.as_uuid().into(),
                    sender_id.as_uuid().into(),
                    chat_id.as_uuid().into(),
                    sender_id.as_uuid().into(),
                ],
            ))
            .await
            .map_err(infra_error)?
        else {
            txn.rollback().await.map_err(infra_error)?;
            return Err(AppendError::NotMember);
        };
        let last_seq: i64 = locked.try_get("", "last_seq").map_err(infra_error)?;
        let read_seq: i64 = locked.try_get("", "read_seq").map_err(infra_error)?;

        let client_ids: Vec<String> = batch
            .iter()
            .filter_map(|m| m.client_id.as_ref().map(|c| c.as_str().to_owned()))
            .collect();
        let mut existing: std::collections::HashMap<String, Message> =
            std::collections::HashMap::new();
        for chunk in client_ids.chunks(500) {
            let found = messages::Entity::find()
                .filter(messages::Column::ChatId.eq(chat_id.as_uuid()))
                .filter(messages::Column::SenderId.eq(sender_id.as_uuid()))
                .filter(messages::Column::ClientId.is_in(chunk.iter().cloned()))
                .all(&txn)
                .await
                .map_err(infra_error)?;
            for model in found {
                let message = convert::message(model)?;
                if let Some(client_id) = &message.client_id {
                    existing.insert(client_id.as_str().to_owned(), message);
                }
            }
        }

        let mut next = last_seq;
        let mut answer = Vec::with_capacity(batch.len());
        let mut rows = Vec::new();
        let mut newest_at = None;
        for new in batch {
            let repeat = new
                .client_id
                .as_ref()
                .and_then(|c| existing.get(c.as_str()));
            match repeat {
                Some(stored) => answer.push(Appended::Existing(stored.clone())),
                None => {
                    next += 1;
                    rows.push(stored_model(new, next));
                    newest_at = Some(new.created_at);
                    answer.push(Appended::Created(new.stored_as(next)));
                }
            }
        }
        if let Some(created_at) = newest_at {
            for chunk in rows.chunks(200) {
                messages::Entity::insert_many(chunk.to_vec())
                    .exec_without_returning(&txn)
                    .await
                    .map_err(infra_error)?;
            }
            for (new, appended) in batch.iter().zip(&answer) {
                if let Appended::Created(message) = appended {
                    Notified::of(new)
                        .insert(&txn, message.seq)
                        .await
                        .map_err(infra_error)?;
                }
            }
            for (root, (replies, seq, at)) in thread_bumps(&answer) {
                txn.execute_raw(statement(
                    backend,
                    &ROOT_BUMP,
                    root_bump_values(root, replies, seq, at, sender_id),
                ))
                .await
                .map_err(infra_error)?;
            }
            txn.execute_raw(statement(
                backend,
                BATCH_BUMP,
                vec![
                    next.into(),
                    micros(created_at).into(),
                    micros(created_at).into(),
                    chat_id.as_uuid().into(),
                ],
            ))
            .await
            .map_err(infra_error)?;
            if read_seq < next - UNREAD_WINDOW {
                txn.execute_raw(statement(
                    backend,
                    &CATCH_UP_SQLITE,
                    vec![
                        next.into(),
                        chat_id.as_uuid().into(),
                        sender_id.as_uuid().into(),
                        next.into(),
                    ],
                ))
                .await
                .map_err(infra_error)?;
            }
        }
        txn.commit().await.map_err(infra_error)?;
        Ok(answer)
    }

    async fn find(&self, id: MessageId) -> Result<Option<Message>, InfraError> {
        messages::Entity::find_by_id(id.as_uuid())
            .one(&self.conn)
            .await
            .map_err(infra_error)?
            .map(convert::message)
            .transpose()
    }

    async fn history(
        &self,
        chat_id: ChatId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<MessagePage, InfraError> {
        self.page(Scope::Chat(chat_id), None, cursor, limit).await
    }

    async fn replies(
        &self,
        root: MessageId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<MessagePage, InfraError> {
        self.page(Scope::Thread(root), None, cursor, limit).await
    }

    async fn member_history(
        &self,
        viewer: UserId,
        chat_id: ChatId,
        cursor: HistoryCursor,
        limit: u32,
    ) -> Result<Option<MessagePage>, InfraError> {
        let page = self
            .page(Scope::Chat(chat_id), Some(viewer), cursor, limit)
            .await?;
        if page.items.is_empty() && !self.is_member(chat_id, viewer).await? {
            return Ok(None);
        }
        Ok(Some(page))
    }

    async fn edit(&self, id: MessageId, edit: &MessageEdit) -> Result<Option<Message>, InfraError> {
        let mut update = messages::Entity::update_many()
            .filter(messages::Column::Id.eq(id.as_uuid()))
            .filter(messages::Column::DeletedAt.is_null());
        if let Some((content, at)) = &edit.content {
            update = update
                .col_expr(messages::Column::Content, Expr::value(content.as_str()))
                .col_expr(
                    messages::Column::SearchText,
                    Expr::value(index_text(content.as_str())),
                )
                .col_expr(messages::Column::EditedAt, Expr::value(*at));
        }
        if let Some(rating) = edit.rating {
            update = update.col_expr(messages::Column::Rating, Expr::value(rating));
        }
        if let Some(metadata) = &edit.metadata {
            update = update.col_expr(
                messages::Column::Metadata,
                Expr::value(metadata.to_stored()),
            );
        }
        let Some(mentions) = &edit.mentions else {
            let changed = update
                .exec(&self.conn)
                .await
                .map_err(infra_error)?
                .rows_affected;
            if changed == 0 {
                return Ok(None);
            }
            return self.find(id).await;
        };
        // New mentions: the list and the rows of who is notified change
        // together.
        update = update.col_expr(
            messages::Column::Mentions,
            Expr::value(convert::stored_user_ids(mentions.users())),
        );
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let changed = update.exec(&txn).await.map_err(infra_error)?.rows_affected;
        let Some(message) = (if changed == 0 {
            None
        } else {
            find_in(&txn, id).await?
        }) else {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(None);
        };
        txn.execute_raw(statement(
            txn.get_database_backend(),
            "DELETE FROM message_mentions WHERE message_id = ?",
            vec![id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        let notified = Notified {
            message_id: message.id,
            chat_id: message.chat_id,
            sender_id: message.sender_id,
            named: mentions.users(),
            all: message.mention_all,
        };
        notified
            .insert(&txn, message.seq)
            .await
            .map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)?;
        drop(turn);
        Ok(Some(message))
    }

    async fn mentions_of(
        &self,
        viewer: UserId,
        before: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>, InfraError> {
        let mut sql = format!(
            "SELECT {cols} FROM message_mentions mm JOIN messages m ON m.id = mm.message_id \
             WHERE mm.user_id = ? \
             AND EXISTS (SELECT 1 FROM chat_members cm \
                WHERE cm.chat_id = mm.chat_id AND cm.user_id = mm.user_id)",
            cols = messages::COLUMNS_M
        );
        let mut values: Vec<Value> = vec![viewer.as_uuid().into()];
        if let Some(before) = before {
            sql.push_str(" AND mm.message_id < ?");
            values.push(before.as_uuid().into());
        }
        // Written into the SQL, not bound (see `page`).
        sql.push_str(&format!(" ORDER BY mm.message_id DESC LIMIT {limit}"));
        let backend = self.conn.get_database_backend();
        let rows = self
            .conn
            .query_all_raw(statement(backend, &sql, values))
            .await
            .map_err(infra_error)?;
        messages::decode_rows(&rows)
            .map_err(infra_error)?
            .into_iter()
            .map(convert::message)
            .collect()
    }

    async fn soft_delete(
        &self,
        id: MessageId,
        at: OffsetDateTime,
    ) -> Result<Option<Message>, InfraError> {
        // A tombstone keeps its position only: no text, no metadata, no
        // pin, no reactions. The UPDATE takes the message's row lock, which
        // a reaction takes too, so none can slip in after the DELETE.
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let changed = messages::Entity::update_many()
            .col_expr(messages::Column::Content, Expr::value(""))
            .col_expr(
                messages::Column::Metadata,
                Expr::value(Option::<serde_json::Value>::None),
            )
            .col_expr(
                messages::Column::SearchText,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                messages::Column::PinnedBy,
                Expr::value(Option::<uuid::Uuid>::None),
            )
            .col_expr(
                messages::Column::PinnedAt,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .col_expr(messages::Column::DeletedAt, Expr::value(at))
            .filter(messages::Column::Id.eq(id.as_uuid()))
            .filter(messages::Column::DeletedAt.is_null())
            .exec(&txn)
            .await
            .map_err(infra_error)?
            .rows_affected;
        if changed == 0 {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(None);
        }
        let backend = self.conn.get_database_backend();
        txn.execute_raw(statement(
            backend,
            "DELETE FROM message_reactions WHERE message_id = ?",
            vec![id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        txn.execute_raw(statement(
            backend,
            "DELETE FROM message_mentions WHERE message_id = ?",
            vec![id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        let root = txn
            .query_one_raw(statement(
                backend,
                "SELECT thread_root_id FROM messages WHERE id = ?",
                vec![id.as_uuid().into()],
            ))
            .await
            .map_err(infra_error)?
            .map(|row| row.try_get::<Option<uuid::Uuid>>("", "thread_root_id"))
            .transpose()
            .map_err(infra_error)?
            .flatten();
        if let Some(root) = root {
            let lock = match backend {
                DbBackend::Postgres => "SELECT id FROM messages WHERE id = ? FOR UPDATE",
                _ => "SELECT id FROM messages WHERE id = ?",
            };
            txn.query_one_raw(statement(backend, lock, vec![root.into()]))
                .await
                .map_err(infra_error)?;
            txn.execute_raw(statement(backend, ROOT_RECOUNT, vec![root.into()]))
                .await
                .map_err(infra_error)?;
        }
        txn.commit().await.map_err(infra_error)?;
        drop(turn);
        self.find(id).await
    }

    async fn list(
        &self,
        viewer: UserId,
        filter: &MessageFilter,
        limit: u32,
    ) -> Result<Vec<Message>, InfraError> {
        let backend = self.conn.get_database_backend();
        let rows = match (backend, &filter.terms) {
            (DbBackend::Postgres, Some(terms)) => {
                search_postgres(&self.conn, self.search, viewer, filter, terms, limit).await
            }
            _ => {
                let (sql, values) = match backend {
                    DbBackend::Postgres => list_postgres(viewer, filter, limit),
                    _ => list_sqlite(viewer, filter, limit),
                };
                self.conn
                    .query_all_raw(statement(backend, &sql, values))
                    .await
            }
        }
        .map_err(infra_error)?;
        messages::decode_rows(&rows)
            .map_err(infra_error)?
            .into_iter()
            .map(convert::message)
            .collect()
    }
}

/// The new replies of a batch per root: how many, and the seq and time of
/// the newest.
fn thread_bumps(answer: &[Appended]) -> Vec<(MessageId, (i64, i64, OffsetDateTime))> {
    let mut bumps: Vec<(MessageId, (i64, i64, OffsetDateTime))> = Vec::new();
    for appended in answer {
        let Appended::Created(message) = appended else {
            continue;
        };
        let Some(root) = message.thread_root_id else {
            continue;
        };
        match bumps.iter_mut().find(|(r, _)| *r == root) {
            Some((_, (count, seq, at))) => {
                *count += 1;
                *seq = message.seq;
                *at = message.created_at;
            }
            None => bumps.push((root, (1, message.seq, message.created_at))),
        }
    }
    bumps
}

async fn find_in(
    conn: &impl ConnectionTrait,
    id: MessageId,
) -> Result<Option<Message>, InfraError> {
    messages::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await
        .map_err(infra_error)?
        .map(convert::message)
        .transpose()
}
