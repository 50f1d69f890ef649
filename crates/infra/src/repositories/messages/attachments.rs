//! Attachments: a message's references to its uploads
//! (`message_attachments`), which visibility and collection read. What the
//! message shows is copied into `messages.attachments` (see
//! `convert::stored_attachments`).

use missive_domain::message::NewMessage;
use sea_orm::{ConnectionTrait, DbErr, SqlErr, Value};

/// A new message's references, in the order it attaches them.
#[derive(Debug, Clone, Copy)]
pub(super) struct References<'a> {
    message: &'a NewMessage,
}

impl<'a> References<'a> {
    pub(super) fn of(message: &'a NewMessage) -> Self {
        Self { message }
    }

    pub(super) fn any(&self) -> bool {
        !self.message.attachments.is_empty()
    }

    /// PostgreSQL, a part of the append statement: one row per upload,
    /// written only when the message row is (`stored` yields its id).
    /// Values: [`Self::pairs`].
    pub(super) fn sql_after_stored(&self) -> String {
        format!(
            ", attached AS (INSERT INTO message_attachments (message_id, upload_id, position) \
             SELECT stored_id, v.upload_id, v.position FROM stored, (VALUES {}) \
             AS v(upload_id, position))",
            vec!["(?, ?)"; self.message.attachments.len()].join(", ")
        )
    }

    /// Each upload's id and position.
    pub(super) fn pairs(&self) -> Vec<Value> {
        self.message
            .attachments
            .iter()
            .zip(0i16..)
            .flat_map(|(upload, position)| [upload.id.as_uuid().into(), position.into()])
            .collect()
    }

    /// Writes the rows (inside the caller's transaction).
    pub(super) async fn insert(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if !self.any() {
            return Ok(());
        }
        let rows = vec!["(?, ?, ?)"; self.message.attachments.len()].join(", ");
        let mut values = Vec::with_capacity(self.message.attachments.len() * 3);
        for (upload, position) in self.message.attachments.iter().zip(0i16..) {
            values.extend([
                Value::from(self.message.id.as_uuid()),
                upload.id.as_uuid().into(),
                position.into(),
            ]);
        }
        db.execute_raw(crate::sql::statement(
            db.get_database_backend(),
            &format!(
                "INSERT INTO message_attachments (message_id, upload_id, position) VALUES {rows}"
            ),
            values,
        ))
        .await?;
        Ok(())
    }
}

/// Whether an append failed because an attached upload was deleted (by a
/// collection) after the message service checked it.
/// PostgreSQL names the constraint (the append is one statement, whose
/// other keys must not be taken for this); SQLite names none, but there
/// the references are written by a statement of their own.
pub(super) fn is_upload_gone(err: &DbErr) -> bool {
    match err.sql_err() {
        Some(SqlErr::ForeignKeyConstraintViolation(message)) => {
            message.contains("fk_message_attachments_upload")
                || message.contains("FOREIGN KEY constraint failed")
        }
        _ => false,
    }
}
