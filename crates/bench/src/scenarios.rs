//! The four scenarios.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::client::{Context, User};
use crate::cpu::rss_kb;
use crate::report::{Latency, Report, histogram};

/// The parts of a server event the fan-out check reads (borrowed: the
/// bench parses 50 000 of these a second on the same cores as the server).
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    #[serde(borrow)]
    message: Option<EventMessage<'a>>,
}

#[derive(Deserialize)]
struct EventMessage<'a> {
    #[serde(borrow)]
    chat_id: &'a str,
    seq: i64,
    #[serde(borrow)]
    content: Cow<'a, str>,
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// `send`: C clients, each its own user, POST for D; client i writes to
/// chat i mod `chats` (each chat holds its writers).
pub async fn send(
    ctx: &Context,
    clients: usize,
    chats: usize,
    duration: Duration,
) -> anyhow::Result<Report> {
    let clients = clients.max(1);
    let chats = chats.clamp(1, clients);
    let users = ctx.users(clients).await?;
    let mut chat_urls = Vec::with_capacity(chats);
    for k in 0..chats {
        let writers: Vec<User> = users.iter().skip(k).step_by(chats).cloned().collect();
        let chat = ctx.group(&writers[0], &writers[1..]).await?;
        chat_urls.push(ctx.messages_url(&chat)?);
    }
    let latencies = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(AtomicU64::new(0));
    let bar = ctx.progress(duration.as_secs(), "send");
    let cpu = ctx.watch.snapshot();
    let started = Instant::now();
    let deadline = started + duration;
    let tasks = users.iter().cloned().enumerate().map(|(n, user)| {
        let (latencies, errors, chat) = (
            Arc::clone(&latencies),
            Arc::clone(&errors),
            &chat_urls[n % chats],
        );
        async move {
            let mut local = histogram();
            let mut i = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match ctx.send(&user, chat, &format!("bench message {i}")).await {
                    Ok(_) => {
                        let _ = local.record(t.elapsed().as_micros() as u64);
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += 1;
            }
            let _ = latencies.lock().await.add(&local);
        }
    });
    let ticker = tick(&bar, deadline);
    futures::future::join(futures::future::join_all(tasks), ticker).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_end = ctx.watch.snapshot();
    let latencies = latencies.lock().await;
    Ok(Report {
        scenario: "send",
        parameters: json!({"clients": clients, "chats": chats, "seconds": duration.as_secs()}),
        throughput_per_sec: latencies.len() as f64 / elapsed,
        unit: "messages",
        operations: latencies.len(),
        errors: errors.load(Ordering::Relaxed),
        latency: Some(Latency::from_micros(&latencies)),
        extra: Value::Null,
        cpu: Some(cpu.until(&cpu_end, latencies.len())),
    })
}

async fn tick(bar: &indicatif::ProgressBar, deadline: Instant) {
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        bar.inc(1);
    }
    bar.finish_and_clear();
}

/// What the `history` scenario stores and reads.
pub struct HistoryReads {
    /// Concurrent readers.
    pub clients: usize,
    /// Messages stored in each chat first.
    pub messages: usize,
    /// Chats stored and read.
    pub chats: usize,
    /// Read the newest page (no cursor) instead of `before_seq` pages.
    pub newest: bool,
    /// React to every other message before reading.
    pub reactions: bool,
}

/// `history`: fills `chats` chats with `messages` each (every other one
/// reacted to with `reactions`), then C clients read pages of 50 for D:
/// before a seq spread over the chat, or with `newest` the newest page.
pub async fn history(
    ctx: &Context,
    reads: HistoryReads,
    duration: Duration,
) -> anyhow::Result<Report> {
    let HistoryReads {
        clients,
        messages,
        chats,
        newest,
        reactions,
    } = reads;
    let users = ctx.users(2).await?;
    let chats = chats.max(1);
    let mut chat_ids = Vec::new();
    let bar = ctx.progress((chats * messages) as u64, "fill");
    for _ in 0..chats {
        let chat = ctx.group(&users[0], &users[1..]).await?;
        let url = ctx.messages_url(&chat)?;
        futures::stream::iter(0..messages)
            .for_each_concurrent(16, |i| {
                let (chat, user, bar) = (&url, &users[0], bar.clone());
                async move {
                    let _ = ctx.send(user, chat, &format!("history {i}")).await;
                    bar.inc(1);
                }
            })
            .await;
        chat_ids.push(chat);
    }
    bar.finish_and_clear();
    if reactions {
        react_to_every_other(ctx, &users, &chat_ids).await?;
    }
    let latencies = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(AtomicU64::new(0));
    let cpu = ctx.watch.snapshot();
    let started = Instant::now();
    let deadline = started + duration;
    let bar = ctx.progress(duration.as_secs(), "history");
    // The newest page's URL is the same every time: built once per chat.
    let newest_urls: Vec<String> = chat_ids
        .iter()
        .map(|chat| ctx.url(&format!("/api/v1/chats/{chat}/messages?limit=50")))
        .collect();
    let tasks = (0..clients).map(|c| {
        let (latencies, errors, chat_ids, newest_urls, token) = (
            Arc::clone(&latencies),
            Arc::clone(&errors),
            chat_ids.clone(),
            &newest_urls,
            users[1].token.clone(),
        );
        async move {
            let mut local = histogram();
            let mut i = c;
            while Instant::now() < deadline {
                let t = Instant::now();
                let url: Cow<'_, str> = if newest {
                    Cow::Borrowed(&newest_urls[i % newest_urls.len()])
                } else {
                    let chat = &chat_ids[i % chat_ids.len()];
                    let before = 51 + (i * 37) % messages.max(52);
                    Cow::Owned(ctx.url(&format!(
                        "/api/v1/chats/{chat}/messages?limit=50&before_seq={before}"
                    )))
                };
                let ok = ctx.http.get(url.as_ref()).bearer_auth(&token).send().await;
                // The page is read to its end: the latency includes it.
                let ok = match ok {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok()
                    }
                    _ => false,
                };
                if ok {
                    let _ = local.record(t.elapsed().as_micros() as u64);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                i += clients;
            }
            let _ = latencies.lock().await.add(&local);
        }
    });
    futures::future::join(futures::future::join_all(tasks), tick(&bar, deadline)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_end = ctx.watch.snapshot();
    let latencies = latencies.lock().await;
    Ok(Report {
        scenario: "history",
        parameters: json!({"clients": clients, "messages_per_chat": messages, "chats": chats, "seconds": duration.as_secs(), "reactions": reactions, "newest": newest}),
        throughput_per_sec: latencies.len() as f64 / elapsed,
        unit: "pages",
        operations: latencies.len(),
        errors: errors.load(Ordering::Relaxed),
        latency: Some(Latency::from_micros(&latencies)),
        extra: Value::Null,
        cpu: Some(cpu.until(&cpu_end, latencies.len())),
    })
}

/// Reacts to every message with an even seq: 👍 by both users, :tada:
/// by the second.
async fn react_to_every_other(
    ctx: &Context,
    users: &[crate::client::User],
    chats: &[String],
) -> anyhow::Result<()> {
    #[derive(serde::Deserialize)]
    struct Page {
        items: Vec<Item>,
        has_more: bool,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        id: String,
        seq: i64,
    }
    let mut targets = Vec::new();
    for chat in chats {
        let mut after = 0;
        loop {
            let page: Page = ctx
                .http
                .get(ctx.url(&format!(
                    "/api/v1/chats/{chat}/messages?limit=200&after_seq={after}"
                )))
                .bearer_auth(&users[0].token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            after = page.items.last().map_or(after, |m| m.seq);
            targets.extend(
                page.items
                    .into_iter()
                    .filter(|m| m.seq % 2 == 0)
                    .map(|m| m.id),
            );
            if !page.has_more {
                break;
            }
        }
    }
    let reactions = [
        (&users[0], "%F0%9F%91%8D"),
        (&users[1], "%F0%9F%91%8D"),
        (&users[1], ":tada:"),
    ];
    let bar = ctx.progress((targets.len() * reactions.len()) as u64, "react");
    let failed = AtomicU64::new(0);
    futures::stream::iter(
        targets
            .iter()
            .flat_map(|id| reactions.iter().map(move |r| (id, r))),
    )
    .for_each_concurrent(16, |(id, (user, reaction))| {
        let (bar, failed) = (bar.clone(), &failed);
        async move {
            let ok = ctx
                .http
                .put(ctx.url(&format!("/api/v1/messages/{id}/reactions/{reaction}")))
                .bearer_auth(&user.token)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if !ok {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            bar.inc(1);
        }
    })
    .await;
    bar.finish_and_clear();
    match failed.load(Ordering::Relaxed) {
        0 => Ok(()),
        n => anyhow::bail!("{n} reactions were refused"),
    }
}

/// `fanout`: M members connected, S senders at `rate` msg/s for D; every
/// member must receive every message exactly once, in seq order.
pub async fn fanout(
    ctx: &Context,
    members: usize,
    senders: usize,
    rate: u64,
    duration: Duration,
) -> anyhow::Result<Report> {
    let users = ctx.users(members.max(2)).await?;
    let chat = ctx.group(&users[0], &users[1..]).await?;
    // Each message's content carries its send time (µs since the epoch).
    let latencies = Arc::new(Mutex::new(histogram()));
    let received = Arc::new(AtomicU64::new(0));
    let violations = Arc::new(AtomicU64::new(0));
    let bar = ctx.progress(users.len() as u64, "connect");
    let mut readers = Vec::new();
    for user in &users {
        let stream = ctx.websocket(&user.token).await?;
        let (mut write, mut read) = stream.split();
        let (latencies, received, violations, chat) = (
            Arc::clone(&latencies),
            Arc::clone(&received),
            Arc::clone(&violations),
            chat.clone(),
        );
        readers.push(tokio::spawn(async move {
            let mut local = histogram();
            let mut last_seq = 0i64;
            while let Some(Ok(frame)) = read.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = frame else {
                    if let tokio_tungstenite::tungstenite::Message::Ping(p) = frame {
                        let _ = write
                            .send(tokio_tungstenite::tungstenite::Message::Pong(p))
                            .await;
                    }
                    continue;
                };
                let Ok(event) = serde_json::from_str::<Event<'_>>(text.as_str()) else {
                    continue;
                };
                if event.kind == "done" || event.kind == "chat.deleted" {
                    break;
                }
                let Some(message) = event.message.filter(|_| event.kind == "message.created")
                else {
                    continue;
                };
                if message.chat_id != chat.as_str() {
                    continue;
                }
                if message.seq != last_seq + 1 {
                    violations.fetch_add(1, Ordering::Relaxed);
                }
                last_seq = message.seq;
                if let Ok(sent) = message.content.parse::<u64>() {
                    let _ = local.record(now_micros().saturating_sub(sent).max(1));
                }
                received.fetch_add(1, Ordering::Relaxed);
            }
            let _ = latencies.lock().await.add(&local);
            last_seq
        }));
        bar.inc(1);
    }
    bar.finish_and_clear();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let per_sender = Duration::from_secs_f64(senders as f64 / rate.max(1) as f64);
    let cpu = ctx.watch.snapshot();
    let started = Instant::now();
    let deadline = started + duration;
    let bar = ctx.progress(duration.as_secs(), "fanout");
    let senders = senders.max(1);
    let messages = ctx.messages_url(&chat)?;
    let tasks = users
        .iter()
        .take(senders)
        .cloned()
        .enumerate()
        .map(|(i, user)| {
            let (sent, errors, messages) = (Arc::clone(&sent), Arc::clone(&errors), &messages);
            // Senders take turns (sender i starts i/S of a period late), so the
            // server sees one message every 1/rate seconds rather than bursts
            // of S messages at once.
            let mut next = started + per_sender.mul_f64(i as f64 / senders as f64);
            async move {
                tokio::time::sleep_until(next.into()).await;
                while Instant::now() < deadline {
                    next += per_sender;
                    match ctx.send(&user, messages, &now_micros().to_string()).await {
                        Ok(_) => sent.fetch_add(1, Ordering::Relaxed),
                        Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                    };
                    tokio::time::sleep_until(next.into()).await;
                }
            }
        });
    futures::future::join(futures::future::join_all(tasks), tick(&bar, deadline)).await;
    let sent = sent.load(Ordering::Relaxed);
    let expected = sent * users.len() as u64;
    let wait_until = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_end = ctx.watch.snapshot();
    // Ending the chat ends every reader.
    let _ = ctx
        .http
        .delete(ctx.url(&format!("/api/v1/chats/{chat}")))
        .bearer_auth(&users[0].token)
        .send()
        .await;
    let mut last_seqs: HashMap<i64, usize> = HashMap::new();
    for reader in readers {
        if let Ok(Ok(last)) = tokio::time::timeout(Duration::from_secs(10), reader).await {
            *last_seqs.entry(last).or_default() += 1;
        }
    }
    let received = received.load(Ordering::Relaxed);
    let latencies = latencies.lock().await;
    Ok(Report {
        scenario: "fanout",
        parameters: json!({"members": users.len(), "senders": senders, "rate": rate, "seconds": duration.as_secs()}),
        throughput_per_sec: received as f64 / elapsed,
        unit: "deliveries",
        operations: received,
        errors: errors.load(Ordering::Relaxed),
        latency: Some(Latency::from_micros(&latencies)),
        extra: json!({
            "messages_sent": sent,
            "deliveries_expected": expected,
            "deliveries_received": received,
            "order_violations": violations.load(Ordering::Relaxed),
            "every_member_got_every_message_once_in_order":
                received == expected && violations.load(Ordering::Relaxed) == 0,
        }),
        cpu: Some(cpu.until(&cpu_end, received)),
    })
}

/// `connections`: N idle WebSockets of one user; server RSS before/after.
pub async fn connections(ctx: &Context, count: usize, pid: u32) -> anyhow::Result<Report> {
    let user = ctx.users(1).await?.remove(0);
    let before = rss_kb(pid)?;
    let bar = ctx.progress(count as u64, "connect");
    let mut sockets = Vec::with_capacity(count);
    let mut errors = 0u64;
    let started = Instant::now();
    for _ in 0..count {
        match ctx.websocket(&user.token).await {
            Ok(stream) => sockets.push(stream),
            Err(_) => errors += 1,
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let opening = started.elapsed().as_secs_f64();
    // Let the server settle before reading its memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kb(pid)?;
    let held = sockets.len() as u64;
    let per_connection = (after.saturating_sub(before)) as f64 / held.max(1) as f64;
    drop(sockets);
    Ok(Report {
        scenario: "connections",
        parameters: json!({"count": count, "pid": pid}),
        throughput_per_sec: held as f64 / opening,
        unit: "connections opened",
        operations: held,
        errors,
        latency: None,
        extra: json!({"rss_before_kb": before, "rss_after_kb": after, "kb_per_connection": per_connection}),
        cpu: None,
    })
}
