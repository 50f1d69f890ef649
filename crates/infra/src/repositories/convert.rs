//! Conversions between stored rows and domain values.

use missive_domain::InfraError;
use missive_domain::chat::{Chat, ChatMember, ChatTitle};
use missive_domain::ids::{ChatId, MessageId, UploadId, UserId};
use missive_domain::mention::Mentions;
use missive_domain::message::{ClientId, Message};
use missive_domain::metadata::Metadata;
use missive_domain::pin::Pin;
use missive_domain::thread::ThreadSummary;
use missive_domain::upload::{ContentType, FileName, Sha256, Upload};
use time::OffsetDateTime;

use super::corrupt;
use crate::entity::{chat_members, chats, messages};

pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(us: i64) -> Result<OffsetDateTime, InfraError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1_000)
        .map_err(|e| InfraError::unexpected(format!("stored activity time is invalid: {e}")))
}

pub(crate) fn chat(model: chats::Model) -> Result<Chat, InfraError> {
    Ok(Chat {
        id: ChatId::from_uuid(model.id),
        kind: model.kind.parse().map_err(corrupt("chat kind"))?,
        title: model
            .title
            .as_deref()
            .map(ChatTitle::new)
            .transpose()
            .map_err(corrupt("chat title"))?,
        created_by: UserId::from_uuid(model.created_by),
        created_at: model.created_at,
        last_seq: model.last_seq,
        last_activity_at: from_micros(model.last_activity_us)?,
        metadata: Metadata::from_stored(model.metadata),
    })
}

pub(crate) fn member(model: chat_members::Model) -> Result<ChatMember, InfraError> {
    Ok(ChatMember {
        user_id: UserId::from_uuid(model.user_id),
        role: model.role.parse().map_err(corrupt("member role"))?,
        joined_at: model.joined_at,
        last_read_seq: model.last_read_seq,
    })
}

pub(crate) fn message(model: messages::Model) -> Result<Message, InfraError> {
    Ok(Message {
        id: MessageId::from_uuid(model.id),
        chat_id: ChatId::from_uuid(model.chat_id),
        seq: model.seq,
        sender_id: UserId::from_uuid(model.sender_id),
        content: model.content,
        role: model.role.parse().map_err(corrupt("message role"))?,
        rating: model.rating,
        client_id: model
            .client_id
            .map(ClientId::new)
            .transpose()
            .map_err(corrupt("client id"))?,
        reply_to: model.reply_to.map(MessageId::from_uuid),
        thread_root_id: model.thread_root_id.map(MessageId::from_uuid),
        thread: thread(
            model.reply_count,
            model.last_reply_seq,
            model.last_reply_at,
            model.thread_participants.as_deref(),
        )?,
        mentions: Mentions::from_stored(user_ids(model.mentions.as_deref(), "mention")?),
        mention_all: model.mention_all,
        sent_at: model.sent_at,
        created_at: model.created_at,
        edited_at: model.edited_at,
        deleted_at: model.deleted_at,
        metadata: Metadata::from_stored(model.metadata),
        attachments: attachments(
            UserId::from_uuid(model.sender_id),
            model.attachments.as_deref(),
        )?,
        // Known to have none: readers need not look them up.
        reactions: (model.reaction_kinds == 0).then(Vec::new),
        pinned: model.pinned_by.zip(model.pinned_at).map(|(by, at)| Pin {
            by: UserId::from_uuid(by),
            at,
        }),
    })
}

/// An attachment as a message keeps it (`messages.attachments`, a JSON
/// array): the upload's facts, which never change, copied when the
/// message is stored.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAttachment {
    id: uuid::Uuid,
    filename: String,
    content_type: String,
    size: u64,
    sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    thumbnail: Option<String>,
    created_us: i64,
}

/// A message's attachments as stored; `None` for none.
pub(crate) fn stored_attachments(uploads: &[Upload]) -> Option<String> {
    if uploads.is_empty() {
        return None;
    }
    let stored: Vec<StoredAttachment> = uploads
        .iter()
        .map(|upload| StoredAttachment {
            id: upload.id.as_uuid(),
            filename: upload.filename.as_str().to_owned(),
            content_type: upload.content_type.as_str().to_owned(),
            size: upload.size,
            sha256: upload.sha256.as_str().to_owned(),
            width: upload.width,
            height: upload.height,
            thumbnail: upload.thumbnail.as_ref().map(|t| t.as_str().to_owned()),
            created_us: micros(upload.created_at),
        })
        .collect();
    // A Vec of plain fields always serialises.
    serde_json::to_string(&stored).ok()
}

/// A message's attachments read back; their owner is the message's sender.
fn attachments(sender: UserId, stored: Option<&str>) -> Result<Vec<Upload>, InfraError> {
    let Some(stored) = stored.filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    let invalid = |e: &dyn std::fmt::Display| {
        InfraError::unexpected(format!("stored attachments are invalid: {e}"))
    };
    let rows: Vec<StoredAttachment> = serde_json::from_str(stored).map_err(|e| invalid(&e))?;
    rows.into_iter()
        .map(|row| {
            Ok(Upload {
                id: UploadId::from_uuid(row.id),
                owner: sender,
                filename: FileName::from_stored(row.filename),
                content_type: ContentType::new(&row.content_type).map_err(|e| invalid(&e))?,
                size: row.size,
                sha256: Sha256::new(&row.sha256).map_err(|e| invalid(&e))?,
                width: row.width,
                height: row.height,
                thumbnail: row
                    .thumbnail
                    .as_deref()
                    .map(Sha256::new)
                    .transpose()
                    .map_err(|e| invalid(&e))?,
                created_at: from_micros(row.created_us)?,
            })
        })
        .collect()
}

/// A root's summary: `None` unless it has live replies.
fn thread(
    reply_count: i64,
    last_reply_seq: Option<i64>,
    last_reply_at: Option<OffsetDateTime>,
    participants: Option<&str>,
) -> Result<Option<ThreadSummary>, InfraError> {
    let (Some(last_reply_seq), Some(last_reply_at)) = (last_reply_seq, last_reply_at) else {
        return Ok(None);
    };
    if reply_count <= 0 {
        return Ok(None);
    }
    let participant_ids = user_ids(participants, "thread participant")?;
    Ok(Some(ThreadSummary {
        reply_count: u32::try_from(reply_count).unwrap_or(u32::MAX),
        last_reply_at,
        last_reply_seq,
        participant_ids,
    }))
}

/// Users stored as their ids, comma-separated (NULL or empty for none).
pub(crate) fn user_ids(stored: Option<&str>, what: &str) -> Result<Vec<UserId>, InfraError> {
    stored
        .unwrap_or_default()
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| {
            id.parse::<uuid::Uuid>()
                .map(UserId::from_uuid)
                .map_err(|e| InfraError::unexpected(format!("stored {what} is invalid: {e}")))
        })
        .collect()
}

/// Users as stored: their ids, comma-separated; `None` for nobody.
pub(crate) fn stored_user_ids(users: &[UserId]) -> Option<String> {
    (!users.is_empty()).then(|| {
        users
            .iter()
            .map(|u| u.as_uuid().hyphenated().to_string())
            .collect::<Vec<_>>()
            .join(",")
    })
}
