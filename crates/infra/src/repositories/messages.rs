use std::sync::Arc;

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{HistoryCursor, Message, MessageFilter, MessagePage, NewMessage};
use missive_domain::ports::{AppendError, Appended, MessageEdit, MessageRepository};
use missive_domain::search::index_text;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, TransactionTrait, Value,
};
use time::OffsetDateTime;

use missive_domain::sync::ChangeKind;

use super::UNREAD_WINDOW;
use super::changes::record_about_message;
use super::convert;
use super::listing::{list_postgres, list_sqlite};
use super::search::{SearchTuning, search_postgres};
use crate::Database;
use crate::database::WriteGate;
use crate::db_error::infra_error;
use crate::entity::{chat_members, messages};
use crate::sql::statement;

mod append;
mod attachments;
pub use append::send_turn_key;
mod group;
pub use group::{GroupCommit, GroupCommitStats};
mod mentions;
mod threads;

use append::Attempt;
use group::Group;
use mentions::Notified;

/// [`MessageRepository`] on SeaORM.
#[derive(Debug, Clone)]
pub struct SeaMessageRepository {
    conn: DatabaseConnection,
    write_gate: WriteGate,
    search: SearchTuning,
    /// SQLite with group commit on: where sends wait for their group.
    group: Option<Arc<Group>>,
}

impl SeaMessageRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
            write_gate: db.write_gate(),
            search: SearchTuning::default(),
            group: None,
        }
    }

    /// The same repository with other search-planner knobs (PostgreSQL;
    /// see [`SearchTuning`]).
    pub fn with_search_tuning(mut self, tuning: SearchTuning) -> Self {
        self.search = tuning;
        self
    }

    /// The same repository with sends grouped as `settings` say (see
    /// [`GroupCommit`]): on SQLite, sends that arrive together share one
    /// transaction, each answered as it would be alone and only once that
    /// transaction has committed. PostgreSQL keeps one statement per send
    /// for now. Batches (`append_batch`) are never grouped: each is one
    /// transaction already.
    pub fn with_group_commit(mut self, settings: GroupCommit) -> Self {
        self.group = (settings.is_on() && self.conn.get_database_backend() == DbBackend::Sqlite)
            .then(|| {
                Arc::new(Group::new(
                    settings,
                    self.conn.clone(),
                    self.write_gate.clone(),
                ))
            });
        self
    }

    /// How many groups were committed and how large they were.
    pub fn group_commit_stats(&self) -> GroupCommitStats {
        self.group
            .as_ref()
            .map_or_else(GroupCommitStats::default, |group| group.stats())
    }
}

/// What a history query reads: a chat's messages, or a thread's replies.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Chat(ChatId),
    Thread(MessageId),
}

impl SeaMessageRepository {
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
}

/// What an append answers for `attempt`. A duplicate answers the message
/// stored under its `client_id`, read on `conn` (after the attempt rolled
/// back: the pool alone, or the group's transaction).
async fn answer(
    attempt: Attempt,
    new: &NewMessage,
    conn: &impl ConnectionTrait,
) -> Result<Appended, AppendError> {
    match attempt {
        Attempt::Stored(seq) => Ok(Appended::Created(new.stored_as(seq))),
        Attempt::NotMember => Err(AppendError::NotMember),
        Attempt::UploadGone => Err(AppendError::UploadGone),
        Attempt::Duplicate => match find_by_client_id(conn, new).await? {
            Some(existing) => Ok(Appended::Existing(existing)),
            None => {
                Err(InfraError::unexpected("unique violation without a stored duplicate").into())
            }
        },
    }
}

async fn find_by_client_id(
    conn: &impl ConnectionTrait,
    new: &NewMessage,
) -> Result<Option<Message>, InfraError> {
    let Some(client_id) = &new.client_id else {
        return Ok(None);
    };
    messages::Entity::find()
        .filter(messages::Column::ChatId.eq(new.chat_id.as_uuid()))
        .filter(messages::Column::SenderId.eq(new.sender_id.as_uuid()))
        .filter(messages::Column::ClientId.eq(client_id.as_str()))
        .one(conn)
        .await
        .map_err(infra_error)?
        .map(convert::message)
        .transpose()
}

#[async_trait]
impl MessageRepository for SeaMessageRepository {
    async fn append(&self, new: &NewMessage) -> Result<Appended, AppendError> {
        if let Some(group) = &self.group {
            return group.append(new).await;
        }
        let attempt = match self.conn.get_database_backend() {
            DbBackend::Postgres => self.append_postgres(new).await,
            _ => self.append_sqlite(new).await,
        }
        .map_err(infra_error)?;
        answer(attempt, new, &self.conn).await
    }

    async fn append_batch(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, AppendError> {
        self.append_many(batch).await
    }

    async fn find(&self, id: MessageId) -> Result<Option<Message>, InfraError> {
        find_in(&self.conn, id).await
    }

    async fn find_many(&self, ids: &[MessageId]) -> Result<Vec<Message>, InfraError> {
        let mut found = Vec::with_capacity(ids.len());
        // Chunked: SQLite binds at most a few thousand values.
        for chunk in ids.chunks(500) {
            let rows = messages::Entity::find()
                .filter(messages::Column::Id.is_in(chunk.iter().map(|id| id.as_uuid())))
                .all(&self.conn)
                .await
                .map_err(infra_error)?;
            for row in rows {
                found.push(convert::message(row)?);
            }
        }
        Ok(found)
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
        if let Some(mentions) = &edit.mentions {
            update = update.col_expr(
                messages::Column::Mentions,
                Expr::value(convert::stored_user_ids(mentions.users())),
            );
        }
        // The change, its record in the log and (with new mentions) the
        // rows of who is notified commit together.
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
        record_about_message(&txn, ChangeKind::MessageUpdated, id, None, None)
            .await
            .map_err(infra_error)?;
        let Some(mentions) = &edit.mentions else {
            txn.commit().await.map_err(infra_error)?;
            drop(turn);
            return Ok(Some(message));
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
            .col_expr(messages::Column::ReactionKinds, Expr::value(0i64))
            .col_expr(
                messages::Column::Attachments,
                Expr::value(Option::<String>::None),
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
        // Its references go: the uploads become collectable (once old
        // enough) unless another message attaches them.
        txn.execute_raw(statement(
            backend,
            "DELETE FROM message_attachments WHERE message_id = ?",
            vec![id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        threads::recount_root_of(&txn, id).await?;
        record_about_message(&txn, ChangeKind::MessageDeleted, id, None, None)
            .await
            .map_err(infra_error)?;
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

/// A message by id, on `conn` (the pool or a transaction).
pub(super) async fn find_in(
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
