//! Missive's use cases on the in-memory adapters: two users, a group,
//! live events, an idempotent send, history and unread counts.
//!
//! Run with `cargo run -p missive-memory --example chat`.

use std::sync::Arc;

use missive_domain::chat::{ChatKind, ChatTitle};
use missive_domain::event::Event;
use missive_domain::ids::UserId;
use missive_domain::message::{ClientId, HistoryCursor, MessageContent, MessageRole};
use missive_domain::services::chats::{ChatLimits, ChatService, CreateChat};
use missive_domain::services::messages::{HistoryLimit, MessageService, SendMessage};
use missive_domain::services::users::{Registration, UserService};
use missive_domain::user::{Email, FullName, Password};
use missive_memory::{BroadcastPublisher, MemoryStore, PlainTestHasher, SystemClock};
use tokio::sync::broadcast::Receiver;

type Error = Box<dyn std::error::Error>;

/// Prints the events published since the last call.
fn print_events(events: &mut Receiver<Event>, name: impl Fn(UserId) -> &'static str) {
    while let Ok(event) = events.try_recv() {
        let line = match &event {
            Event::ChatCreated(c) => format!("chat created with {} members", c.member_count),
            Event::MessageCreated(m) => {
                format!("#{} from {}: {}", m.seq, name(m.sender_id), m.content)
            }
            Event::ChatRead {
                user_id,
                last_read_seq,
                ..
            } => {
                format!("{} read up to #{last_read_seq}", name(*user_id))
            }
            other => format!("{other:?}"),
        };
        println!("    event: {line}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // One store, one adapter per port over it, and events for anyone who
    // subscribes.
    let ports = MemoryStore::new().adapters();
    let publisher = Arc::new(BroadcastPublisher::new());
    let mut events = publisher.subscribe();
    let clock = Arc::new(SystemClock);
    let users = UserService::new(
        ports.users.clone(),
        Arc::new(PlainTestHasher),
        clock.clone(),
    );
    let limits = ChatLimits {
        max_group_members: 50,
    };
    let chats = ChatService::new(
        ports.chats.clone(),
        ports.users.clone(),
        publisher.clone(),
        clock.clone(),
        limits,
    );
    let messages = MessageService::new(
        ports.messages,
        ports.chats,
        ports.reactions,
        ports.uploads,
        publisher,
        clock,
    );

    let mut people = Vec::new();
    for (email, name) in [("ada@example.org", "Ada"), ("bob@example.org", "Bob")] {
        let registration = Registration {
            email: Email::new(email)?,
            full_name: FullName::new(name)?,
            password: Password::new("correct horse battery")?,
        };
        people.push(users.register(registration).await?.id);
    }
    let (ada, bob) = (people[0], people[1]);
    let name = move |id: UserId| if id == ada { "Ada" } else { "Bob" };
    println!("Ada and Bob registered");

    let group = CreateChat {
        kind: ChatKind::Group,
        title: Some(ChatTitle::new("Analytical Engine")?),
        member_ids: vec![bob],
        id: None,
        metadata: Default::default(),
    };
    let chat_id = chats.create_chat(ada, group).await?.0.chat.id;
    println!("Ada created the group \"Analytical Engine\" with Bob");
    print_events(&mut events, name);

    let text = |content: &str, client_id: Option<&str>| -> Result<SendMessage, Error> {
        Ok(SendMessage {
            chat_id,
            content: MessageContent::new(content, 4000)?,
            client_id: client_id.map(ClientId::new).transpose()?,
            role: MessageRole::User,
            rating: None,
            sent_at: None,
            reply_to: None,
            metadata: Default::default(),
            mentions: Default::default(),
            mention_all: false,
            attachments: Default::default(),
        })
    };
    // A send with a client id, then the same send again (a retry after a
    // lost answer): stored once, answered twice, one event.
    let (first, new) = messages
        .send(ada, text("Hello, Bob!", Some("ada-1"))?)
        .await?;
    println!("Ada sent #{} (new: {new})", first.seq);
    let (again, new) = messages
        .send(ada, text("Hello, Bob!", Some("ada-1"))?)
        .await?;
    println!(
        "Ada sent it again: #{} (new: {new}, the same message: {})",
        again.seq,
        again.id == first.id
    );
    messages
        .send(ada, text("Shall we compute Bernoulli numbers?", None)?)
        .await?;
    messages.send(bob, text("Gladly.", None)?).await?;
    print_events(&mut events, name);

    let latest = HistoryLimit::new(50)?;
    let page = messages
        .history(bob, chat_id, HistoryCursor::Latest, latest)
        .await?;
    println!("Bob reads the history ({} messages):", page.items.len());
    for message in &page.items {
        println!(
            "    #{} {}: {}",
            message.seq,
            name(message.sender_id),
            message.content
        );
    }

    for (who, id) in [("Ada", ada), ("Bob", bob)] {
        let unread = chats.get_chat(id, chat_id).await?.unread_count;
        println!("{who} has {unread} unread (messages of others after their read position)");
    }
    let read = chats.mark_read(bob, chat_id, 2).await?;
    println!(
        "Bob marked #{} read: {} left unread",
        read.last_read_seq, read.unread_count
    );
    print_events(&mut events, name);
    Ok(())
}
