use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::chat::{
    Chat, ChatCursor, ChatDetails, ChatMember, ChatTitle, EMBEDDED_MEMBERS, MemberCursor,
    MemberRole, Membership, ReadState,
};
use missive_domain::ids::{ChatId, UserId};
use missive_domain::metadata::Metadata;
use missive_domain::ports::{
    AddMemberOutcome, ChatRepository, ChatVersion, InsertChatOutcome, MemberSnapshot, Removal,
    RemoveMemberOutcome,
};
use missive_domain::sync::{ChangeKind, NewChange};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, TransactionTrait, Value,
};

use super::UNREAD_WINDOW;
use super::convert::{self, micros};
use crate::Database;
use crate::db_error::{infra_error, is_unique_violation};
use crate::entity::{chat_members, chats, messages};
use crate::repositories::changes::record;
use crate::sql::{placeholders, statement};

/// [`ChatRepository`] on SeaORM.
#[derive(Debug, Clone)]
pub struct SeaChatRepository {
    conn: DatabaseConnection,
}

impl SeaChatRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
        }
    }
}

const CHAT_COLUMNS_C: &str = "c.id, c.kind, c.title, c.created_by, c.created_at, c.last_seq, \
    c.last_activity_us, c.direct_key, c.member_version, c.member_count, c.metadata";

fn chat_model(chat: &Chat, direct_key: Option<String>, members: usize) -> chats::ActiveModel {
    chats::ActiveModel {
        id: Set(chat.id.as_uuid()),
        kind: Set(chat.kind.as_str().to_owned()),
        title: Set(chat.title.as_ref().map(|t| t.as_str().to_owned())),
        created_by: Set(chat.created_by.as_uuid()),
        created_at: Set(chat.created_at),
        last_seq: Set(chat.last_seq),
        last_activity_us: Set(micros(chat.last_activity_at)),
        direct_key: Set(direct_key),
        metadata: Set(chat.metadata.to_stored()),
        member_version: Set(0),
        member_count: Set(i64::try_from(members).unwrap_or(i64::MAX)),
    }
}

fn member_model(chat_id: ChatId, member: &ChatMember) -> chat_members::ActiveModel {
    chat_members::ActiveModel {
        chat_id: Set(chat_id.as_uuid()),
        user_id: Set(member.user_id.as_uuid()),
        role: Set(member.role.as_str().to_owned()),
        joined_at: Set(member.joined_at),
        last_read_seq: Set(member.last_read_seq),
        joined_us: Set(micros(member.joined_at)),
    }
}

/// The unique key of a direct chat: both user ids, smaller first.
fn direct_key(members: &[ChatMember]) -> String {
    let mut ids: Vec<uuid::Uuid> = members.iter().map(|m| m.user_id.as_uuid()).collect();
    ids.sort_unstable();
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(":")
}

#[derive(Debug, FromQueryResult)]
struct UnreadRow {
    chat_id: uuid::Uuid,
    unread: i64,
    mentions: i64,
}

/// Adds `delta` to a chat's member count, in the transaction that adds or
/// removes the member.
async fn count_members(
    txn: &impl ConnectionTrait,
    chat_id: ChatId,
    delta: i64,
) -> Result<(), InfraError> {
    txn.execute_raw(statement(
        txn.get_database_backend(),
        "UPDATE chats SET member_count = member_count + ? WHERE id = ?",
        vec![delta.into(), chat_id.as_uuid().into()],
    ))
    .await
    .map_err(infra_error)?;
    Ok(())
}

const MEMBER_COLUMNS: &str = "chat_id, user_id, role, joined_at, last_read_seq, joined_us";

#[derive(Debug, FromQueryResult)]
struct VersionRow {
    id: uuid::Uuid,
    member_version: i64,
    last_seq: i64,
}

/// Takes the chat row's lock and bumps its membership version (see
/// [`ChatRepository`]); run first in every transaction that changes the
/// members.
const BUMP_MEMBER_VERSION: &str =
    "UPDATE chats SET member_version = member_version + 1 WHERE id = ?";

#[derive(Debug, FromQueryResult)]
struct ReadRow {
    last_read_seq: i64,
    unread: i64,
    mentions: i64,
}

/// Oldest member first. Sorted here rather than in SQL because SQLite keeps
/// timestamps as text whose order is not chronological.
fn sort_members(members: &mut [ChatMember]) {
    members.sort_by_key(|m| (m.joined_at, m.user_id));
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Deleted messages beyond the unread window counted at most: beyond,
/// an unread count is too high by the excess (README, "Unread counts").
pub const DELETED_SCAN_CAP: u32 = 10_000;

/// The unread count of the member row aliased `cm` of the chat aliased
/// `c`: the messages after the read position that are someone else's and
/// not deleted, at a cost bounded whatever the chat's size. The first
/// [`UNREAD_WINDOW`] positions after the read position are examined row by
/// row (an index range); beyond them no message can be the member's own
/// (see [`UNREAD_WINDOW`]), and seqs are gap-free, so the rest is the
/// number of positions minus the deleted messages there (a partial index
/// of deleted messages, at most [`DELETED_SCAN_CAP`] counted).
fn unread_of_cm() -> String {
    format!(
        "((SELECT COUNT(*) FROM messages m WHERE m.chat_id = cm.chat_id \
            AND m.seq > cm.last_read_seq AND m.seq <= cm.last_read_seq + {UNREAD_WINDOW} \
            AND m.sender_id <> cm.user_id AND m.deleted_at IS NULL) \
         + CASE WHEN c.last_seq > cm.last_read_seq + {UNREAD_WINDOW} THEN \
            c.last_seq - cm.last_read_seq - {UNREAD_WINDOW} - (SELECT COUNT(*) FROM ( \
                SELECT 1 FROM messages m WHERE m.chat_id = cm.chat_id \
                AND m.seq > cm.last_read_seq + {UNREAD_WINDOW} AND m.deleted_at IS NOT NULL \
                LIMIT {DELETED_SCAN_CAP}) deleted) \
           ELSE 0 END)"
    )
}

/// Unread mentions counted at most: the count saturates there (README).
pub const MENTION_COUNT_CAP: u32 = 1_000;

/// The unread mentions of the member row aliased `cm`: an index range of
/// at most [`MENTION_COUNT_CAP`] rows, whatever the chat's size.
static MENTIONS_OF_CM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "(SELECT COUNT(*) FROM (SELECT 1 FROM message_mentions mm \
            WHERE mm.user_id = cm.user_id AND mm.chat_id = cm.chat_id \
            AND mm.seq > cm.last_read_seq LIMIT {MENTION_COUNT_CAP}) mentioned)"
    )
});

impl SeaChatRepository {
    /// Members, last messages and unread counts for a page of chats, in a
    /// fixed number of queries whatever the page size.
    async fn load_details(
        &self,
        chats: Vec<chats::Model>,
        viewer: UserId,
    ) -> Result<Vec<ChatDetails>, InfraError> {
        if chats.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.conn.get_database_backend();
        let ids: Vec<uuid::Uuid> = chats.iter().map(|c| c.id).collect();
        let id_values = || ids.iter().map(|id| Value::from(*id));

        // The first members of each chat by joining order, each an index
        // range of at most EMBEDDED_MEMBERS rows, and the viewer's own
        // rows: one statement, whatever the groups' sizes.
        let mut parts: Vec<String> = (0..ids.len())
            .map(|i| {
                format!(
                    "SELECT * FROM (SELECT {MEMBER_COLUMNS} FROM chat_members \
                     WHERE chat_id = ? ORDER BY joined_us, user_id LIMIT {EMBEDDED_MEMBERS}) p{i}"
                )
            })
            .collect();
        parts.push(format!(
            "SELECT {MEMBER_COLUMNS} FROM chat_members WHERE user_id = ? AND chat_id IN ({})",
            placeholders(ids.len())
        ));
        let mut values: Vec<Value> = id_values().collect();
        values.push(viewer.as_uuid().into());
        values.extend(id_values());
        let mut members: HashMap<uuid::Uuid, Vec<ChatMember>> = HashMap::new();
        for row in chat_members::Model::find_by_statement(statement(
            backend,
            &parts.join(" UNION ALL "),
            values,
        ))
        .all(&self.conn)
        .await
        .map_err(infra_error)?
        {
            let chat_members = members.entry(row.chat_id).or_default();
            let member = convert::member(row)?;
            if !chat_members.iter().any(|m| m.user_id == member.user_id) {
                chat_members.push(member);
            }
        }
        members.values_mut().for_each(|m| sort_members(m));

        let mut last_messages = HashMap::new();
        let mut unread: HashMap<uuid::Uuid, (u64, u64)> = HashMap::new();
        let with_messages: Vec<&chats::Model> = chats.iter().filter(|c| c.last_seq > 0).collect();
        if !with_messages.is_empty() {
            // The message at exactly the `last_seq` read above, so a send
            // landing in between cannot make the two disagree.
            let pairs = vec!["(m.chat_id = ? AND m.seq = ?)"; with_messages.len()].join(" OR ");
            let sql = format!(
                "SELECT {cols} FROM messages m WHERE {pairs}",
                cols = messages::COLUMNS_M
            );
            let values: Vec<Value> = with_messages
                .iter()
                .flat_map(|c| [Value::from(c.id), Value::from(c.last_seq)])
                .collect();
            let rows = self
                .conn
                .query_all_raw(statement(backend, &sql, values))
                .await
                .map_err(infra_error)?;
            for row in messages::decode_rows(&rows).map_err(infra_error)? {
                last_messages.insert(row.chat_id, convert::message(row)?);
            }

            let sql = format!(
                "SELECT cm.chat_id AS chat_id, {unread} AS unread, {mentions} AS mentions \
                 FROM chat_members cm JOIN chats c ON c.id = cm.chat_id \
                 WHERE cm.user_id = ? AND cm.chat_id IN ({ids})",
                unread = unread_of_cm(),
                mentions = MENTIONS_OF_CM.as_str(),
                ids = placeholders(ids.len())
            );
            let mut values = vec![Value::from(viewer.as_uuid())];
            values.extend(id_values());
            for row in UnreadRow::find_by_statement(statement(backend, &sql, values))
                .all(&self.conn)
                .await
                .map_err(infra_error)?
            {
                unread.insert(row.chat_id, (count(row.unread), count(row.mentions)));
            }
        }

        chats
            .into_iter()
            .map(|model| {
                let id = model.id;
                let member_count = count(model.member_count);
                Ok(ChatDetails {
                    member_count,
                    chat: convert::chat(model)?,
                    members: members.remove(&id).unwrap_or_default(),
                    last_message: last_messages.remove(&id),
                    unread_count: unread.get(&id).map_or(0, |u| u.0),
                    mention_count: unread.get(&id).map_or(0, |u| u.1),
                })
            })
            .collect()
    }

    async fn insert_members(
        conn: &impl ConnectionTrait,
        chat_id: ChatId,
        members: &[ChatMember],
    ) -> Result<(), InfraError> {
        chat_members::Entity::insert_many(members.iter().map(|m| member_model(chat_id, m)))
            .exec_without_returning(conn)
            .await
            .map_err(infra_error)?;
        Ok(())
    }
}

#[async_trait]
impl ChatRepository for SeaChatRepository {
    async fn insert_group(
        &self,
        chat: &Chat,
        members: &[ChatMember],
    ) -> Result<InsertChatOutcome, InfraError> {
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // The primary key settles races for a client-chosen id: a
        // concurrent creator's insert waits for ours, then fails.
        let inserted = chats::Entity::insert(chat_model(chat, None, members.len()))
            .exec_without_returning(&txn)
            .await;
        match inserted {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                txn.rollback().await.map_err(infra_error)?;
                return Ok(InsertChatOutcome::IdTaken);
            }
            Err(error) => return Err(infra_error(error)),
        }
        Self::insert_members(&txn, chat.id, members).await?;
        record(&txn, &[NewChange::chat(chat.id, ChangeKind::ChatCreated)])
            .await
            .map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)?;
        Ok(InsertChatOutcome::Created)
    }

    async fn insert_direct(
        &self,
        chat: &Chat,
        members: &[ChatMember],
    ) -> Result<InsertChatOutcome, InfraError> {
        let key = direct_key(members);
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // The unique key settles races: a concurrent creator's insert waits
        // for ours and then inserts nothing.
        let inserted = chats::Entity::insert(chat_model(chat, Some(key.clone()), members.len()))
            .on_conflict(
                OnConflict::column(chats::Column::DirectKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await;
        let id_taken = match inserted {
            Ok(1) => {
                Self::insert_members(&txn, chat.id, members).await?;
                record(&txn, &[NewChange::chat(chat.id, ChangeKind::ChatCreated)])
                    .await
                    .map_err(infra_error)?;
                txn.commit().await.map_err(infra_error)?;
                return Ok(InsertChatOutcome::Created);
            }
            Ok(_) => false,
            // Not the pair's key: the id is another chat's.
            Err(error) if is_unique_violation(&error) => true,
            Err(error) => return Err(infra_error(error)),
        };
        txn.rollback().await.map_err(infra_error)?;
        let existing = chats::Entity::find()
            .filter(chats::Column::DirectKey.eq(key))
            .one(&self.conn)
            .await
            .map_err(infra_error)?;
        match existing {
            // The pair's chat wins over a chosen id (one chat per pair).
            Some(existing) => Ok(InsertChatOutcome::Existing(ChatId::from_uuid(existing.id))),
            None if id_taken => Ok(InsertChatOutcome::IdTaken),
            None => Err(InfraError::unexpected(
                "direct chat vanished after a conflict",
            )),
        }
    }

    async fn find_membership(
        &self,
        chat_id: ChatId,
        user_id: UserId,
    ) -> Result<Option<Membership>, InfraError> {
        // One query: the membership joined with its chat.
        let Some((member, Some(chat))) =
            chat_members::Entity::find_by_id((chat_id.as_uuid(), user_id.as_uuid()))
                .find_also_related(chats::Entity)
                .one(&self.conn)
                .await
                .map_err(infra_error)?
        else {
            return Ok(None);
        };
        Ok(Some(Membership {
            chat: convert::chat(chat)?,
            member: convert::member(member)?,
        }))
    }

    async fn details(
        &self,
        chat_id: ChatId,
        viewer: UserId,
    ) -> Result<Option<ChatDetails>, InfraError> {
        let backend = self.conn.get_database_backend();
        let sql = format!(
            "SELECT {CHAT_COLUMNS_C} FROM chats c JOIN chat_members cm ON cm.chat_id = c.id \
             WHERE c.id = ? AND cm.user_id = ?"
        );
        let values = vec![chat_id.as_uuid().into(), viewer.as_uuid().into()];
        let Some(chat) = chats::Model::find_by_statement(statement(backend, &sql, values))
            .one(&self.conn)
            .await
            .map_err(infra_error)?
        else {
            return Ok(None);
        };
        Ok(self.load_details(vec![chat], viewer).await?.pop())
    }

    async fn list_for_member(
        &self,
        viewer: UserId,
        limit: u32,
        after: Option<ChatCursor>,
    ) -> Result<Vec<ChatDetails>, InfraError> {
        let backend = self.conn.get_database_backend();
        let mut sql = format!(
            "SELECT {CHAT_COLUMNS_C} FROM chats c JOIN chat_members cm ON cm.chat_id = c.id \
             WHERE cm.user_id = ?"
        );
        let mut values: Vec<Value> = vec![viewer.as_uuid().into()];
        if let Some(cursor) = after {
            sql.push_str(" AND (c.last_activity_us < ? OR (c.last_activity_us = ? AND c.id < ?))");
            let at = micros(cursor.last_activity_at);
            values.extend([at.into(), at.into(), cursor.chat_id.as_uuid().into()]);
        }
        // Written into the SQL, not bound (see SeaMessageRepository::page).
        sql.push_str(&format!(
            " ORDER BY c.last_activity_us DESC, c.id DESC LIMIT {limit}"
        ));
        let chats = chats::Model::find_by_statement(statement(backend, &sql, values))
            .all(&self.conn)
            .await
            .map_err(infra_error)?;
        self.load_details(chats, viewer).await
    }

    async fn update<'a>(
        &self,
        chat_id: ChatId,
        title: Option<&'a ChatTitle>,
        metadata: Option<&'a Metadata>,
    ) -> Result<(), InfraError> {
        let mut update =
            chats::Entity::update_many().filter(chats::Column::Id.eq(chat_id.as_uuid()));
        if let Some(title) = title {
            update = update.col_expr(chats::Column::Title, Expr::value(title.as_str()));
        }
        if let Some(metadata) = metadata {
            update = update.col_expr(chats::Column::Metadata, Expr::value(metadata.to_stored()));
        }
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let changed = update.exec(&txn).await.map_err(infra_error)?.rows_affected;
        if changed > 0 {
            record(&txn, &[NewChange::chat(chat_id, ChangeKind::ChatUpdated)])
                .await
                .map_err(infra_error)?;
        }
        txn.commit().await.map_err(infra_error)
    }

    async fn delete(&self, chat_id: ChatId) -> Result<(), InfraError> {
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // The chat's row lock first (a write, so SQLite's transaction holds
        // the write lock too): no member joins between the read of the
        // members below and the deletion.
        txn.execute_raw(statement(
            txn.get_database_backend(),
            "UPDATE chats SET member_version = member_version WHERE id = ?",
            vec![chat_id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        // Messages first and explicitly (not only by cascade) so SQLite's
        // full-text triggers see every deletion.
        messages::Entity::delete_many()
            .filter(messages::Column::ChatId.eq(chat_id.as_uuid()))
            .exec(&txn)
            .await
            .map_err(infra_error)?;
        // Each former member is told (one change each: they are members
        // of nothing left to read it through) — and so is everyone a change
        // still in the log is addressed to (removed earlier, or told of an
        // earlier deletion of this id): deleting the chat's changes below
        // takes theirs too, and a client that has not synced since must
        // still learn the chat is gone.
        let mut told: Vec<uuid::Uuid> = chat_members::Entity::find()
            .filter(chat_members::Column::ChatId.eq(chat_id.as_uuid()))
            .all(&txn)
            .await
            .map_err(infra_error)?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        let addressed = txn
            .query_all_raw(statement(
                txn.get_database_backend(),
                &format!(
                    "SELECT DISTINCT user_id FROM changes \
                     WHERE chat_id = ? AND user_id IS NOT NULL AND kind IN ({removed}, {deleted})",
                    removed = ChangeKind::MemberRemoved.code(),
                    deleted = ChangeKind::ChatDeleted.code()
                ),
                vec![chat_id.as_uuid().into()],
            ))
            .await
            .map_err(infra_error)?;
        for row in addressed {
            let user: uuid::Uuid = row.try_get("", "user_id").map_err(infra_error)?;
            if !told.contains(&user) {
                told.push(user);
            }
        }
        let former: Vec<NewChange> = told
            .into_iter()
            .map(|user| NewChange::user(chat_id, ChangeKind::ChatDeleted, UserId::from_uuid(user)))
            .collect();
        // The chat's own changes go with it: nobody can read them any more
        // (no member is left), and a chat created again with this id must
        // not show its members the old one's.
        txn.execute_raw(statement(
            txn.get_database_backend(),
            "DELETE FROM changes WHERE chat_id = ?",
            vec![chat_id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        record(&txn, &former).await.map_err(infra_error)?;
        chats::Entity::delete_by_id(chat_id.as_uuid())
            .exec(&txn)
            .await
            .map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)
    }

    async fn members(&self, chat_id: ChatId) -> Result<Vec<ChatMember>, InfraError> {
        let mut members = chat_members::Entity::find()
            .filter(chat_members::Column::ChatId.eq(chat_id.as_uuid()))
            .all(&self.conn)
            .await
            .map_err(infra_error)?
            .into_iter()
            .map(convert::member)
            .collect::<Result<Vec<_>, _>>()?;
        sort_members(&mut members);
        Ok(members)
    }

    async fn add_member(
        &self,
        chat_id: ChatId,
        member: &ChatMember,
        max_members: usize,
    ) -> Result<AddMemberOutcome, InfraError> {
        let backend = self.conn.get_database_backend();
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // Lock the chat row so concurrent changes count one at a time; the
        // version bump is rolled back with everything else unless the
        // member is added.
        txn.execute_raw(statement(
            backend,
            BUMP_MEMBER_VERSION,
            vec![chat_id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        let existing =
            chat_members::Entity::find_by_id((chat_id.as_uuid(), member.user_id.as_uuid()))
                .one(&txn)
                .await
                .map_err(infra_error)?;
        if existing.is_some() {
            return Ok(AddMemberOutcome::AlreadyMember);
        }
        let current = chat_members::Entity::find()
            .filter(chat_members::Column::ChatId.eq(chat_id.as_uuid()))
            .count(&txn)
            .await
            .map_err(infra_error)?;
        if usize::try_from(current).unwrap_or(usize::MAX) >= max_members {
            return Ok(AddMemberOutcome::Full);
        }
        chat_members::Entity::insert(member_model(chat_id, member))
            .exec_without_returning(&txn)
            .await
            .map_err(infra_error)?;
        count_members(&txn, chat_id, 1).await?;
        let mut changes = vec![NewChange::user(
            chat_id,
            ChangeKind::MemberAdded,
            member.user_id,
        )];
        if member.last_read_seq > 0 {
            // A newcomer starts with the history read: say so.
            changes.push(NewChange::read(
                chat_id,
                member.user_id,
                member.last_read_seq,
            ));
        }
        record(&txn, &changes).await.map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)?;
        Ok(AddMemberOutcome::Added)
    }

    async fn remove_member(
        &self,
        chat_id: ChatId,
        removal: &Removal,
    ) -> Result<RemoveMemberOutcome, InfraError> {
        let backend = self.conn.get_database_backend();
        let txn = self.conn.begin().await.map_err(infra_error)?;
        // The chat row's lock serialises every membership change of the
        // chat (on any instance); under it, the plan is checked against
        // the members as they are now.
        txn.execute_raw(statement(
            backend,
            BUMP_MEMBER_VERSION,
            vec![chat_id.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?;
        let current = |user: UserId| {
            chat_members::Entity::find_by_id((chat_id.as_uuid(), user.as_uuid())).one(&txn)
        };
        let Some(target) = current(removal.user_id).await.map_err(infra_error)? else {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(RemoveMemberOutcome::NotMember);
        };
        let target_role = convert::member(target)?.role;
        let successor_present = match removal.new_owner {
            Some(owner) => current(owner).await.map_err(infra_error)?.is_some(),
            None => true,
        };
        if target_role != removal.role || !successor_present {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(RemoveMemberOutcome::Stale);
        }
        chat_members::Entity::delete_by_id((chat_id.as_uuid(), removal.user_id.as_uuid()))
            .exec(&txn)
            .await
            .map_err(infra_error)?;
        count_members(&txn, chat_id, -1).await?;
        let mut changes = vec![NewChange::user(
            chat_id,
            ChangeKind::MemberRemoved,
            removal.user_id,
        )];
        if removal.new_owner.is_some() {
            // A role changed: the chat's view did.
            changes.push(NewChange::chat(chat_id, ChangeKind::ChatUpdated));
        }
        record(&txn, &changes).await.map_err(infra_error)?;
        if let Some(owner) = removal.new_owner {
            chat_members::Entity::update_many()
                .col_expr(
                    chat_members::Column::Role,
                    Expr::value(MemberRole::Owner.as_str()),
                )
                .filter(chat_members::Column::ChatId.eq(chat_id.as_uuid()))
                .filter(chat_members::Column::UserId.eq(owner.as_uuid()))
                .exec(&txn)
                .await
                .map_err(infra_error)?;
        }
        txn.commit().await.map_err(infra_error)?;
        Ok(RemoveMemberOutcome::Removed)
    }

    async fn members_among(
        &self,
        chat_id: ChatId,
        users: &[UserId],
    ) -> Result<Vec<UserId>, InfraError> {
        let mut members = Vec::new();
        // In chunks: a batch may name 50 000 users, beyond SQLite's
        // limit on bound values.
        for chunk in users.chunks(500) {
            let sql = format!(
                "SELECT user_id FROM chat_members WHERE chat_id = ? AND user_id IN ({})",
                placeholders(chunk.len())
            );
            let mut values: Vec<Value> = vec![chat_id.as_uuid().into()];
            values.extend(chunk.iter().map(|u| Value::from(u.as_uuid())));
            let rows = self
                .conn
                .query_all_raw(statement(self.conn.get_database_backend(), &sql, values))
                .await
                .map_err(infra_error)?;
            for row in rows {
                let user: uuid::Uuid = row.try_get("", "user_id").map_err(infra_error)?;
                members.push(UserId::from_uuid(user));
            }
        }
        Ok(members)
    }

    async fn list_members(
        &self,
        chat_id: ChatId,
        limit: u32,
        after: Option<MemberCursor>,
    ) -> Result<Vec<ChatMember>, InfraError> {
        let backend = self.conn.get_database_backend();
        let mut sql = format!("SELECT {MEMBER_COLUMNS} FROM chat_members WHERE chat_id = ?");
        let mut values: Vec<Value> = vec![chat_id.as_uuid().into()];
        if let Some(cursor) = after {
            let at = micros(cursor.joined_at);
            sql.push_str(" AND (joined_us > ? OR (joined_us = ? AND user_id > ?))");
            values.extend([at.into(), at.into(), cursor.user_id.as_uuid().into()]);
        }
        // Written into the SQL, not bound (see SeaMessageRepository::page).
        sql.push_str(&format!(" ORDER BY joined_us, user_id LIMIT {limit}"));
        chat_members::Model::find_by_statement(statement(backend, &sql, values))
            .all(&self.conn)
            .await
            .map_err(infra_error)?
            .into_iter()
            .map(convert::member)
            .collect()
    }

    async fn member_snapshot(&self, chat_id: ChatId) -> Result<Option<MemberSnapshot>, InfraError> {
        // The version first: a change committing between the two reads
        // leaves an older version beside newer members, which only makes
        // the next version check reload them (see the port's contract).
        let versions = self.chat_versions(&[chat_id]).await?;
        let Some(version) = versions.first().copied() else {
            return Ok(None);
        };
        let members = self.members(chat_id).await?;
        Ok(Some(MemberSnapshot { version, members }))
    }

    async fn chat_versions(&self, chat_ids: &[ChatId]) -> Result<Vec<ChatVersion>, InfraError> {
        if chat_ids.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.conn.get_database_backend();
        let sql = format!(
            "SELECT id, member_version, last_seq FROM chats WHERE id IN ({})",
            placeholders(chat_ids.len())
        );
        let values = chat_ids
            .iter()
            .map(|id| Value::from(id.as_uuid()))
            .collect();
        VersionRow::find_by_statement(statement(backend, &sql, values))
            .all(&self.conn)
            .await
            .map_err(infra_error)
            .map(|rows| {
                rows.into_iter()
                    .map(|row| ChatVersion {
                        chat_id: ChatId::from_uuid(row.id),
                        member_version: row.member_version,
                        last_seq: row.last_seq,
                    })
                    .collect()
            })
    }

    async fn mark_read(
        &self,
        chat_id: ChatId,
        user_id: UserId,
        seq: i64,
    ) -> Result<Option<(ReadState, bool)>, InfraError> {
        let backend = self.conn.get_database_backend();
        let target = "(SELECT CASE WHEN c.last_seq < ? THEN c.last_seq ELSE ? END \
                      FROM chats c WHERE c.id = chat_members.chat_id)";
        let sql = format!(
            "UPDATE chat_members SET last_read_seq = {target} \
             WHERE chat_id = ? AND user_id = ? AND last_read_seq < {target}"
        );
        let values = vec![
            seq.into(),
            seq.into(),
            chat_id.as_uuid().into(),
            user_id.as_uuid().into(),
            seq.into(),
            seq.into(),
        ];
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let moved = txn
            .execute_raw(statement(backend, &sql, values))
            .await
            .map_err(infra_error)?
            .rows_affected()
            == 1;
        let sql = format!(
            "SELECT cm.last_read_seq AS last_read_seq, {unread} AS unread, \
                {mentions} AS mentions \
             FROM chat_members cm JOIN chats c ON c.id = cm.chat_id \
             WHERE cm.chat_id = ? AND cm.user_id = ?",
            unread = unread_of_cm(),
            mentions = MENTIONS_OF_CM.as_str()
        );
        let values = vec![chat_id.as_uuid().into(), user_id.as_uuid().into()];
        let row = ReadRow::find_by_statement(statement(backend, &sql, values))
            .one(&txn)
            .await
            .map_err(infra_error)?;
        if moved && let Some(row) = &row {
            record(
                &txn,
                &[NewChange::read(chat_id, user_id, row.last_read_seq)],
            )
            .await
            .map_err(infra_error)?;
        }
        txn.commit().await.map_err(infra_error)?;
        Ok(row.map(|row| {
            (
                ReadState {
                    chat_id,
                    user_id,
                    last_read_seq: row.last_read_seq,
                    unread_count: count(row.unread),
                    mention_count: count(row.mentions),
                },
                moved,
            )
        }))
    }
}
