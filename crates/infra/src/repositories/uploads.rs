//! Uploads (`uploads`, `blobs`, `message_attachments`): records of the
//! files users sent. The blob row is upserted with the upload, in the
//! transaction that checks the owner's quota under a lock on the owner.

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::{UploadId, UserId};
use missive_domain::ports::{BlobStore, CreateUploadError, UploadRepository};
use missive_domain::upload::{ContentType, FileName, Sha256, Upload};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, QueryResult, TransactionTrait};
use time::OffsetDateTime;

use super::convert::{from_micros, micros};
use crate::Database;
use crate::database::WriteGate;
use crate::db_error::infra_error;
use crate::sql::{for_update, placeholders, statement};

const COLUMNS: &str = "u.id, u.owner_id, u.filename, u.content_type, u.size, u.sha256, \
    u.width, u.height, u.thumbnail_sha256, u.created_us";

/// [`UploadRepository`] on SeaORM.
#[derive(Debug, Clone)]
pub struct SeaUploadRepository {
    conn: DatabaseConnection,
    write_gate: WriteGate,
}

impl SeaUploadRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
            write_gate: db.write_gate(),
        }
    }
}

fn stored(error: impl std::fmt::Display) -> InfraError {
    InfraError::unexpected(format!("a stored upload is invalid: {error}"))
}

fn upload(row: &QueryResult) -> Result<Upload, InfraError> {
    let get_i64 = |column: &str| row.try_get::<i64>("", column).map_err(infra_error);
    let dimension = |column: &str| -> Result<Option<u32>, InfraError> {
        row.try_get::<Option<i32>>("", column)
            .map_err(infra_error)
            .map(|v| v.and_then(|v| u32::try_from(v).ok()))
    };
    Ok(Upload {
        id: UploadId::from_uuid(row.try_get("", "id").map_err(infra_error)?),
        owner: UserId::from_uuid(row.try_get("", "owner_id").map_err(infra_error)?),
        filename: FileName::from_stored(row.try_get("", "filename").map_err(infra_error)?),
        content_type: ContentType::new(
            &row.try_get::<String>("", "content_type")
                .map_err(infra_error)?,
        )
        .map_err(stored)?,
        size: u64::try_from(get_i64("size")?).map_err(stored)?,
        sha256: Sha256::new(&row.try_get::<String>("", "sha256").map_err(infra_error)?)
            .map_err(stored)?,
        width: dimension("width")?,
        height: dimension("height")?,
        thumbnail: row
            .try_get::<Option<String>>("", "thumbnail_sha256")
            .map_err(infra_error)?
            .map(|s| Sha256::new(&s))
            .transpose()
            .map_err(stored)?,
        created_at: from_micros(get_i64("created_us")?)?,
    })
}

/// The bytes `owner`'s uploads hold together (what the quota counts).
async fn used_by(db: &impl ConnectionTrait, owner: UserId) -> Result<u64, InfraError> {
    let used: i64 = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM uploads WHERE owner_id = ?",
            vec![owner.as_uuid().into()],
        ))
        .await
        .map_err(infra_error)?
        .map(|row| row.try_get("", "used"))
        .transpose()
        .map_err(infra_error)?
        .unwrap_or(0);
    Ok(u64::try_from(used).unwrap_or(0))
}

fn size(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl UploadRepository for SeaUploadRepository {
    async fn create(&self, upload: &Upload, quota_bytes: u64) -> Result<(), CreateUploadError> {
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let backend = txn.get_database_backend();
        let owner = upload.owner.as_uuid();
        // The owner's row is the quota's lock (SQLite: the write gate).
        txn.execute_raw(statement(
            backend,
            &format!("SELECT id FROM users WHERE id = ?{}", for_update(backend)),
            vec![owner.into()],
        ))
        .await
        .map_err(infra_error)?;
        let used = used_by(&txn, upload.owner).await?;
        if used.saturating_add(upload.size) > quota_bytes {
            txn.rollback().await.map_err(infra_error)?;
            return Err(CreateUploadError::QuotaExceeded);
        }
        let created = micros(upload.created_at);
        txn.execute_raw(statement(
            backend,
            // DO UPDATE, not DO NOTHING: it locks the row, so a collection
            // of these bytes waits for this commit (or this waits for the
            // collection's); DO NOTHING would lock nothing.
            "INSERT INTO blobs (sha256, size, created_us) VALUES (?, ?, ?) \
             ON CONFLICT (sha256) DO UPDATE SET size = blobs.size",
            vec![
                upload.sha256.as_str().into(),
                size(upload.size).into(),
                created.into(),
            ],
        ))
        .await
        .map_err(infra_error)?;
        if let Some(thumbnail) = &upload.thumbnail {
            // The thumbnail is a blob too, with a row of its own (else the
            // sweep of unrecorded bytes would take it); its size is not
            // recorded.
            txn.execute_raw(statement(
                backend,
                "INSERT INTO blobs (sha256, size, created_us) VALUES (?, 0, ?) \
                 ON CONFLICT (sha256) DO UPDATE SET size = blobs.size",
                vec![thumbnail.as_str().into(), created.into()],
            ))
            .await
            .map_err(infra_error)?;
        }
        txn.execute_raw(statement(
            backend,
            "INSERT INTO uploads (id, owner_id, filename, content_type, size, sha256, width, height, \
                 thumbnail_sha256, created_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                upload.id.as_uuid().into(),
                owner.into(),
                upload.filename.as_str().into(),
                upload.content_type.as_str().into(),
                size(upload.size).into(),
                upload.sha256.as_str().into(),
                upload.width.map(|w| i32::try_from(w).unwrap_or(i32::MAX)).into(),
                upload.height.map(|h| i32::try_from(h).unwrap_or(i32::MAX)).into(),
                upload.thumbnail.as_ref().map(|t| t.as_str().to_owned()).into(),
                created.into(),
            ],
        ))
        .await
        .map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)?;
        drop(turn);
        Ok(())
    }

    async fn used_bytes(&self, owner: UserId) -> Result<u64, InfraError> {
        used_by(&self.conn, owner).await
    }

    async fn find_owned(&self, owner: UserId, ids: &[UploadId]) -> Result<Vec<Upload>, InfraError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut values: Vec<sea_orm::Value> = vec![owner.as_uuid().into()];
        values.extend(ids.iter().map(|id| sea_orm::Value::from(id.as_uuid())));
        let rows = self
            .conn
            .query_all_raw(statement(
                self.conn.get_database_backend(),
                &format!(
                    "SELECT {COLUMNS} FROM uploads u WHERE u.owner_id = ? AND u.id IN ({})",
                    crate::sql::placeholders(ids.len())
                ),
                values,
            ))
            .await
            .map_err(infra_error)?;
        rows.iter().map(upload).collect()
    }

    async fn find_visible(
        &self,
        viewer: UserId,
        id: UploadId,
    ) -> Result<Option<Upload>, InfraError> {
        let backend = self.conn.get_database_backend();
        let row = self
            .conn
            .query_one_raw(statement(
                backend,
                &format!(
                    "SELECT {COLUMNS} FROM uploads u WHERE u.id = ? AND (u.owner_id = ? OR EXISTS ( \
                        SELECT 1 FROM message_attachments a \
                        JOIN messages m ON m.id = a.message_id AND m.deleted_at IS NULL \
                        JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = ? \
                        WHERE a.upload_id = u.id))"
                ),
                vec![id.as_uuid().into(), viewer.as_uuid().into(), viewer.as_uuid().into()],
            ))
            .await
            .map_err(infra_error)?;
        row.as_ref().map(upload).transpose()
    }

    async fn expire_unattached(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, InfraError> {
        const UNATTACHED: &str = "u.created_us < ? AND NOT EXISTS ( \
                SELECT 1 FROM message_attachments a WHERE a.upload_id = u.id)";
        let backend = self.conn.get_database_backend();
        if backend != DbBackend::Postgres {
            // SQLite runs one writer at a time: a send and this never
            // interleave.
            let turn = self.write_gate.turn().await;
            let result = self
                .conn
                .execute_raw(statement(
                    backend,
                    &format!(
                        "DELETE FROM uploads WHERE id IN (SELECT u.id FROM uploads u \
                         WHERE {UNATTACHED} LIMIT ?)"
                    ),
                    vec![micros(before).into(), i64::from(limit).into()],
                ))
                .await
                .map_err(infra_error)?;
            drop(turn);
            return Ok(result.rows_affected());
        }
        // PostgreSQL, in two statements of one transaction. The first locks
        // the candidates, skipping any a send holds (its reference's
        // foreign-key check takes a key-share lock until it commits). The
        // second deletes them only if, by its own later snapshot, still no
        // reference names them: a send that committed in between keeps its
        // upload (a single statement would judge by its first snapshot and
        // cascade the new reference away). A send that comes after the lock
        // waits for it and then fails its check: 422, never a dangling
        // file (`AppendError::UploadGone`).
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let locked: Vec<uuid::Uuid> = txn
            .query_all_raw(statement(
                backend,
                &format!(
                    "SELECT u.id FROM uploads u WHERE {UNATTACHED} \
                     LIMIT ? FOR UPDATE SKIP LOCKED"
                ),
                vec![micros(before).into(), i64::from(limit).into()],
            ))
            .await
            .map_err(infra_error)?
            .iter()
            .map(|row| row.try_get::<uuid::Uuid>("", "id"))
            .collect::<Result<_, _>>()
            .map_err(infra_error)?;
        if locked.is_empty() {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(0);
        }
        let values: Vec<sea_orm::Value> = locked.iter().map(|id| (*id).into()).collect();
        let result = txn
            .execute_raw(statement(
                backend,
                &format!(
                    "DELETE FROM uploads u WHERE u.id IN ({}) AND NOT EXISTS ( \
                         SELECT 1 FROM message_attachments a WHERE a.upload_id = u.id)",
                    placeholders(locked.len())
                ),
                values,
            ))
            .await
            .map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)?;
        Ok(result.rows_affected())
    }

    async fn unreferenced_blobs(&self, limit: u32) -> Result<Vec<Sha256>, InfraError> {
        let rows = self
            .conn
            .query_all_raw(statement(
                self.conn.get_database_backend(),
                "SELECT b.sha256 FROM blobs b                  WHERE NOT EXISTS (SELECT 1 FROM uploads u WHERE u.sha256 = b.sha256)                    AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.thumbnail_sha256 = b.sha256)                  LIMIT ?",
                vec![i64::from(limit).into()],
            ))
            .await
            .map_err(infra_error)?;
        rows.iter()
            .map(|row| {
                let hex: String = row.try_get("", "sha256").map_err(infra_error)?;
                Sha256::new(&hex).map_err(stored)
            })
            .collect()
    }

    async fn unrecorded(&self, candidates: Vec<Sha256>) -> Result<Vec<Sha256>, InfraError> {
        if candidates.is_empty() {
            return Ok(candidates);
        }
        let rows = self
            .conn
            .query_all_raw(statement(
                self.conn.get_database_backend(),
                &format!(
                    "SELECT sha256 FROM blobs WHERE sha256 IN ({})",
                    placeholders(candidates.len())
                ),
                candidates.iter().map(|c| c.as_str().into()).collect(),
            ))
            .await
            .map_err(infra_error)?;
        let known: std::collections::HashSet<String> = rows
            .iter()
            .filter_map(|row| row.try_get::<String>("", "sha256").ok())
            .collect();
        Ok(candidates
            .into_iter()
            .filter(|c| !known.contains(c.as_str()))
            .collect())
    }

    async fn collect_blob(
        &self,
        sha256: &Sha256,
        blobs: std::sync::Arc<dyn BlobStore>,
    ) -> Result<bool, InfraError> {
        let turn = self.write_gate.turn().await;
        let txn = self.conn.begin().await.map_err(infra_error)?;
        let backend = txn.get_database_backend();
        let sha = sha256.as_str();
        // Writes first: the row (made when a crash left bytes without one)
        // and its lock — SQLite's write lock, PostgreSQL's row lock — held
        // until the commit, across the deletion of the bytes.
        txn.execute_raw(statement(
            backend,
            "INSERT INTO blobs (sha256, size, created_us) VALUES (?, 0, ?) \
             ON CONFLICT (sha256) DO NOTHING",
            vec![sha.into(), micros(OffsetDateTime::now_utc()).into()],
        ))
        .await
        .map_err(infra_error)?;
        txn.execute_raw(statement(
            backend,
            "UPDATE blobs SET size = size WHERE sha256 = ?",
            vec![sha.into()],
        ))
        .await
        .map_err(infra_error)?;
        let named = txn
            .query_one_raw(statement(
                backend,
                "SELECT CAST(CASE WHEN EXISTS (SELECT 1 FROM uploads \
                     WHERE sha256 = ? OR thumbnail_sha256 = ?) THEN 1 ELSE 0 END AS BIGINT) AS named",
                vec![sha.into(), sha.into()],
            ))
            .await
            .map_err(infra_error)?
            .map(|row| row.try_get::<i64>("", "named"))
            .transpose()
            .map_err(infra_error)?
            .unwrap_or(0);
        if named != 0 {
            txn.rollback().await.map_err(infra_error)?;
            return Ok(false);
        }
        if let Err(error) = blobs.delete(sha256).await {
            txn.rollback().await.map_err(infra_error)?;
            return Err(match error {
                missive_domain::ports::BlobError::Infra(e) => e,
                other => InfraError::unexpected(other),
            });
        }
        txn.execute_raw(statement(
            backend,
            "DELETE FROM blobs WHERE sha256 = ?",
            vec![sha.into()],
        ))
        .await
        .map_err(infra_error)?;
        txn.commit().await.map_err(infra_error)?;
        drop(turn);
        Ok(true)
    }
}
