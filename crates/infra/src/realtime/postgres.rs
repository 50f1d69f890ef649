//! The PostgreSQL transport: one notifier task that batches, coalesces and
//! sends signals with `pg_notify`, and one listener task per instance.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use missive_domain::ids::{ChatId, UserId};
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener};
use sea_orm::sqlx::{self, Connection, PgConnection, PgPool};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::Signal;

/// The NOTIFY channel.
pub(crate) const CHANNEL: &str = "missive_signals";
/// PostgreSQL refuses payloads of 8000 bytes or more; stay well below.
const MAX_PAYLOAD: usize = 7_800;
/// Most signals taken from the queue per batch.
const MAX_BATCH: usize = 4_096;

/// Sends queued signals until `stop`, on a connection of its own (never
/// one of the request pool's: a busy pool must not delay notifications,
/// and a notification must never wait behind a request). Each round takes
/// everything queued (no added latency when idle, large batches under
/// load), keeps only the highest seq per chat, and sends as few
/// notifications as fit. When signals were lost — the queue overflowed
/// (`dropped`), or a batch could not be sent — the next notification
/// carries a [`Signal::Resync`], so every instance re-reads what it may
/// have missed instead of trusting stale state.
pub(crate) async fn notify_loop(
    pool: PgPool,
    mut queue: mpsc::Receiver<Signal>,
    dropped: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let options = pool.connect_options();
    let mut connection: Option<PgConnection> = None;
    let mut batch = Vec::with_capacity(64);
    loop {
        let first = tokio::select! {
            () = stop.cancelled() => return,
            next = queue.recv() => match next {
                Some(signal) => signal,
                None => return,
            },
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(signal) => batch.push(signal),
                Err(_) => break,
            }
        }
        if dropped.swap(false, Ordering::AcqRel) {
            batch.push(Signal::Resync);
        }
        for payload in payloads(coalesce(std::mem::take(&mut batch))) {
            if !send(&mut connection, &options, &payload, &stop).await {
                dropped.store(true, Ordering::Release);
            }
        }
    }
}

/// Sends one notification, reconnecting as needed; `false` when it kept
/// failing.
async fn send(
    connection: &mut Option<PgConnection>,
    options: &PgConnectOptions,
    payload: &str,
    stop: &CancellationToken,
) -> bool {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=5 {
        if connection.is_none() {
            match PgConnection::connect_with(options).await {
                Ok(fresh) => *connection = Some(fresh),
                Err(error) => {
                    tracing::warn!(%error, attempt, "cannot connect the notifier; retrying")
                }
            }
        }
        if let Some(open) = connection.as_mut() {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&mut *open)
                .await;
            match sent {
                Ok(_) => return true,
                Err(error) => {
                    tracing::warn!(%error, attempt, "NOTIFY failed; reconnecting");
                    *connection = None;
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tokio::time::sleep(delay) => {}
        }
        delay *= 2;
    }
    // Receivers resync with the next notification (see `notify_loop`).
    tracing::error!("NOTIFY kept failing; dropped a batch of real-time signals");
    false
}

/// Keeps the highest `Seq` per chat (in first-seen order) and every other
/// signal in order; splits member lists that could not fit one payload.
pub(crate) fn coalesce(batch: Vec<Signal>) -> Vec<Signal> {
    let mut out: Vec<Signal> = Vec::with_capacity(batch.len());
    let mut seq_slot: HashMap<ChatId, usize> = HashMap::new();
    for signal in batch {
        match signal {
            Signal::Seq { chat_id, seq } => match seq_slot.get(&chat_id) {
                Some(&slot) => {
                    if let Signal::Seq { seq: kept, .. } = &mut out[slot] {
                        *kept = (*kept).max(seq);
                    }
                }
                None => {
                    seq_slot.insert(chat_id, out.len());
                    out.push(Signal::Seq { chat_id, seq });
                }
            },
            Signal::ChatDeleted { chat_id, members } => {
                // ~40 bytes per id: 150 ids stay far below the limit.
                for part in members.chunks(150) {
                    out.push(Signal::ChatDeleted {
                        chat_id,
                        members: part.to_vec(),
                    });
                }
                if members.is_empty() {
                    out.push(Signal::ChatDeleted {
                        chat_id,
                        members: Vec::<UserId>::new(),
                    });
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// JSON arrays of signals, each under [`MAX_PAYLOAD`] bytes.
pub(crate) fn payloads(signals: Vec<Signal>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::from("[");
    for signal in signals {
        let Ok(json) = serde_json::to_string(&signal) else {
            continue;
        };
        if current.len() + json.len() + 2 > MAX_PAYLOAD && current.len() > 1 {
            current.push(']');
            out.push(std::mem::replace(&mut current, String::from("[")));
        }
        if current.len() > 1 {
            current.push(',');
        }
        current.push_str(&json);
    }
    if current.len() > 1 {
        current.push(']');
        out.push(current);
    }
    out
}

/// Listens until `stop`, re-broadcasting every signal locally. After the
/// connection is lost and re-established, emits [`Signal::Resync`].
pub(crate) async fn listen_loop(
    pool: PgPool,
    local: broadcast::Sender<Signal>,
    stop: CancellationToken,
) {
    let mut delay = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            () = stop.cancelled() => return,
            result = listener => match result {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for real-time signals; retrying");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(Duration::from_secs(2));
                    continue;
                }
            },
        };
        delay = Duration::from_millis(100);
        if connected_before {
            tracing::info!("real-time listener reconnected; resynchronising");
            let _ = local.send(Signal::Resync);
        }
        connected_before = true;
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = listener.try_recv() => next,
            };
            match next {
                Ok(Some(notification)) => {
                    match serde_json::from_str::<Vec<Signal>>(notification.payload()) {
                        Ok(signals) => {
                            for signal in signals {
                                let _ = local.send(signal);
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "ignored a malformed real-time signal")
                        }
                    }
                }
                // The connection dropped; the listener reconnects on the next
                // call, and anything sent meanwhile is lost: resync.
                Ok(None) => {
                    tracing::warn!("real-time listener lost its connection");
                    let _ = local.send(Signal::Resync);
                }
                Err(error) => {
                    tracing::warn!(%error, "real-time listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_keeps_the_highest_seq_per_chat_and_everything_else_in_order() {
        let (a, b) = (ChatId::new(), ChatId::new());
        let user = UserId::new();
        let batch = vec![
            Signal::Seq { chat_id: a, seq: 1 },
            Signal::Typing {
                chat_id: a,
                user_id: user,
            },
            Signal::Seq { chat_id: b, seq: 7 },
            Signal::Seq { chat_id: a, seq: 3 },
            Signal::Seq { chat_id: a, seq: 2 },
        ];
        assert_eq!(
            coalesce(batch),
            vec![
                Signal::Seq { chat_id: a, seq: 3 },
                Signal::Typing {
                    chat_id: a,
                    user_id: user,
                },
                Signal::Seq { chat_id: b, seq: 7 },
            ]
        );
    }

    #[test]
    fn payloads_stay_under_the_notify_limit_even_for_huge_member_lists() {
        let members: Vec<UserId> = (0..1000).map(|_| UserId::new()).collect();
        let signals = coalesce(vec![Signal::ChatDeleted {
            chat_id: ChatId::new(),
            members: members.clone(),
        }]);
        let payloads = payloads(signals);
        assert!(payloads.len() > 1);
        let mut seen = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 8000, "{}", payload.len());
            for signal in serde_json::from_str::<Vec<Signal>>(payload).expect("json") {
                if let Signal::ChatDeleted { members, .. } = signal {
                    seen.extend(members);
                }
            }
        }
        assert_eq!(seen, members);
    }
}
