//! Builders the rules share: users, groups and messages stored or ready
//! to store, at the microsecond precision every store keeps.

use time::OffsetDateTime;

use super::Adapters;
use crate::chat::{Chat, ChatKind, ChatMember, ChatTitle, MemberRole};
use crate::ids::{ChatId, MessageId, UploadId, UserId};
use crate::message::{ClientId, MessageContent, MessageRole, NewMessage};
use crate::upload::{ContentType, FileName, Sha256, Upload};
use crate::user::{Email, FullName, PasswordHash, User};

/// Now, at the microsecond precision the databases keep.
///
/// # Panics
/// Never (a microsecond is always valid).
#[must_use]
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_microsecond(now.microsecond())
        .expect("a microsecond is valid")
}

/// Stores `n` users and returns their ids.
///
/// # Panics
/// When storing fails.
pub async fn users(adapters: &Adapters, n: usize) -> Vec<UserId> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = UserId::new();
        let user = User {
            id,
            email: Email::new(&format!("{id}@example.org")).expect("valid"),
            full_name: FullName::new("User").expect("valid"),
            created_at: now(),
        };
        adapters
            .users
            .insert(&user, &PasswordHash::new("h"))
            .await
            .expect("a user is stored");
        ids.push(id);
    }
    ids
}

/// A member with `role`, joined now, who has read nothing.
#[must_use]
pub fn member(user_id: UserId, role: MemberRole) -> ChatMember {
    ChatMember {
        user_id,
        role,
        joined_at: now(),
        last_read_seq: 0,
    }
}

/// A new chat of `kind` (a group is titled "Team"), not stored.
///
/// # Panics
/// Never.
#[must_use]
pub fn new_chat(kind: ChatKind, created_by: UserId) -> Chat {
    let at = now();
    Chat {
        id: ChatId::new(),
        kind,
        title: (kind == ChatKind::Group).then(|| ChatTitle::new("Team").expect("valid")),
        created_by,
        created_at: at,
        last_seq: 0,
        last_activity_at: at,
        metadata: crate::metadata::Metadata::default(),
    }
}

/// Stores a group owned by the first of `people`, the others members.
///
/// # Panics
/// When storing fails.
pub async fn group(adapters: &Adapters, people: &[UserId]) -> ChatId {
    let chat = new_chat(ChatKind::Group, people[0]);
    let members: Vec<ChatMember> = people
        .iter()
        .enumerate()
        .map(|(i, id)| {
            member(
                *id,
                if i == 0 {
                    MemberRole::Owner
                } else {
                    MemberRole::Member
                },
            )
        })
        .collect();
    adapters
        .chats
        .insert_group(&chat, &members)
        .await
        .expect("a group is stored");
    chat.id
}

/// A message of `sender_id` in `chat_id`, not stored.
///
/// # Panics
/// When `content` or `client_id` is invalid.
#[must_use]
pub fn message(
    chat_id: ChatId,
    sender_id: UserId,
    content: &str,
    client_id: Option<&str>,
) -> NewMessage {
    let at = now();
    NewMessage {
        id: MessageId::new(),
        chat_id,
        sender_id,
        content: MessageContent::new_or_empty(content, 4000).expect("valid"),
        role: MessageRole::User,
        rating: None,
        client_id: client_id.map(|c| ClientId::new(c).expect("valid")),
        reply_to: None,
        thread_root_id: None,
        mentions: crate::mention::Mentions::default(),
        mention_all: false,
        sent_at: at,
        created_at: at,
        metadata: crate::metadata::Metadata::default(),
        attachments: Vec::new(),
    }
}

/// A PDF upload record of `size` bytes whose content (and so digest) is
/// told by `content`, with a shared thumbnail digest; not stored.
///
/// # Panics
/// Never.
#[must_use]
pub fn pdf_upload(owner: UserId, size: u64, content: u8) -> Upload {
    Upload {
        id: UploadId::new(),
        owner,
        filename: FileName::clean("report.pdf"),
        content_type: ContentType::new("application/pdf").expect("valid"),
        size,
        sha256: Sha256::from_digest(&[content; 32]),
        width: Some(640),
        height: None,
        thumbnail: Some(Sha256::from_digest(&[255; 32])),
        created_at: now(),
    }
}

/// A PNG upload record named `name` whose content (and so digests, its
/// thumbnail's too) is told by `content`; not stored.
///
/// # Panics
/// Never.
#[must_use]
pub fn image_upload(owner: UserId, name: &str, content: u8) -> Upload {
    Upload {
        id: UploadId::new(),
        owner,
        filename: FileName::clean(name),
        content_type: ContentType::new("image/png").expect("valid"),
        size: 100 + u64::from(content),
        sha256: Sha256::from_digest(&[content; 32]),
        width: Some(64),
        height: Some(32),
        thumbnail: Some(Sha256::from_digest(&[content.wrapping_add(100); 32])),
        created_at: now(),
    }
}
