use std::future::Future;

use missive_infra::Database;
use missive_infra::scratch::{fresh_database, postgres_test_url};
use time::OffsetDateTime;

/// Runs `body` against a fresh SQLite database, then against a fresh
/// PostgreSQL database when one is configured.
pub async fn on_each_backend<F, Fut>(body: F)
where
    F: Fn(Database) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let (sqlite, _) = fresh_database(dir.path(), None, 4).await.expect("sqlite");
    body(sqlite).await;

    match postgres_test_url() {
        Some(server) => {
            let (pg, _) = fresh_database(dir.path(), Some(&server), 16)
                .await
                .expect("postgres");
            body(pg).await;
        }
        None => eprintln!("PostgreSQL contract run skipped: MISSIVE_TEST_DATABASE_URL is not set"),
    }
}

/// Now, at the microsecond precision both databases keep.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_microsecond(now.microsecond()).expect("valid")
}

use missive_domain::chat::{Chat, ChatKind, ChatMember, ChatTitle, MemberRole};
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::message::{ClientId, MessageContent, MessageRole, NewMessage};
use missive_domain::ports::{ChatRepository, UserRepository};
use missive_domain::user::{Email, FullName, PasswordHash, User};
use missive_infra::{SeaChatRepository, SeaUserRepository};

/// Stores `n` users and returns their ids.
pub async fn users(db: &Database, n: usize) -> Vec<UserId> {
    let repo = SeaUserRepository::new(db);
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = UserId::new();
        let user = User {
            id,
            email: Email::new(&format!("{id}@example.org")).expect("valid"),
            full_name: FullName::new("User").expect("valid"),
            created_at: now(),
        };
        repo.insert(&user, &PasswordHash::new("h"))
            .await
            .expect("user");
        ids.push(id);
    }
    ids
}

pub fn member(user_id: UserId, role: MemberRole) -> ChatMember {
    ChatMember {
        user_id,
        role,
        joined_at: now(),
        last_read_seq: 0,
    }
}

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
        metadata: Default::default(),
    }
}

/// Stores a group owned by the first user with the others as members.
pub async fn group(db: &Database, people: &[UserId]) -> ChatId {
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
    SeaChatRepository::new(db)
        .insert_group(&chat, &members)
        .await
        .expect("group");
    chat.id
}

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
        mentions: Default::default(),
        mention_all: false,
        sent_at: at,
        created_at: at,
        metadata: Default::default(),
        attachments: Vec::new(),
    }
}

/// Waits until every change committed so far is readable from the log
/// (see [`missive_infra::scratch::settle`]).
pub async fn settle(db: &Database) {
    missive_infra::scratch::settle(db).await.expect("settle");
}
