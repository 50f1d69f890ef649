//! Uploads as the API shows them.

use missive_domain::upload::Upload;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A file a user uploaded, to attach to messages.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[schema(as = Upload)]
pub struct UploadView {
    /// Upload id (what `attachments` lists).
    pub id: uuid::Uuid,
    /// The file name, as given (its last path component, cleaned).
    pub filename: String,
    /// The type detected from the file's bytes (not the one declared).
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the bytes, hex; also the download's `ETag`.
    pub sha256: String,
    /// An image's width in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// An image's height in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Whether `GET /uploads/{upload_id}/thumbnail` has a preview.
    pub thumbnail: bool,
    /// When it was uploaded.
    #[serde(with = "super::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Upload> for UploadView {
    fn from(upload: Upload) -> Self {
        Self {
            id: upload.id.as_uuid(),
            filename: upload.filename.as_str().to_owned(),
            content_type: upload.content_type.as_str().to_owned(),
            size: upload.size,
            sha256: upload.sha256.as_str().to_owned(),
            width: upload.width,
            height: upload.height,
            thumbnail: upload.thumbnail.is_some(),
            created_at: upload.created_at,
        }
    }
}

/// Raw bytes, in the OpenAPI document (a `Vec<u8>` would read as an array
/// of integers).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[expect(dead_code, reason = "exists only for its OpenAPI description")]
pub struct BinaryBody(Vec<u8>);
