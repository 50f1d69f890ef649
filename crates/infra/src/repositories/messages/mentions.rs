//! Mentions: one row per member a message notifies.

use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::NewMessage;
use sea_orm::{ConnectionTrait, DbErr, Value};

use crate::sql::{placeholders, statement};

/// Who a message notifies: those it names who are members at the time,
/// or every member for `all`; never its sender.
#[derive(Debug, Clone, Copy)]
pub(super) struct Notified<'a> {
    pub(super) message_id: MessageId,
    pub(super) chat_id: ChatId,
    pub(super) sender_id: UserId,
    pub(super) named: &'a [UserId],
    pub(super) all: bool,
}

impl<'a> Notified<'a> {
    pub(super) fn of(new: &'a NewMessage) -> Self {
        Self {
            message_id: new.id,
            chat_id: new.chat_id,
            sender_id: new.sender_id,
            named: new.mentions.users(),
            all: new.mention_all,
        }
    }

    pub(super) fn anyone(&self) -> bool {
        self.all || !self.named.is_empty()
    }

    /// One row per member notified. `seq` is SQL (`stored.seq` inside
    /// [`APPEND_PG`], else `?`), `from` what the rows are selected from
    /// besides the members. Values: the message id, [`seq`'s if bound],
    /// then [`values`](Self::values).
    pub(super) fn sql(&self, seq: &str, from: &str) -> String {
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
    pub(super) fn values(&self) -> Vec<Value> {
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
    pub(super) async fn insert(&self, conn: &impl ConnectionTrait, seq: i64) -> Result<(), DbErr> {
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
