//! One WebSocket connection: a single task selecting over inbound frames,
//! the outbound queue, keep-alive pings and shutdown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use missive_domain::ids::{ChatId, UserId};
use serde_json::Value;
use tokio::time::{Instant, MissedTickBehavior};

use super::protocol::{ClientCommand, ServerEvent, parse};
use crate::error::ApiError;
use crate::rate_limit::{Class, Decision};
use crate::state::AppState;

/// Close codes.
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame exceeded the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The client did not read fast enough; reconnect and catch up.
    pub const SLOW_CONSUMER: u16 = 4008;
}

/// Serves one authenticated connection until it ends.
pub async fn run(mut socket: WebSocket, user: UserId, app: AppState) {
    let realtime = &app.realtime;
    let mut registration = realtime.registry.register(user);
    tracing::debug!(user.id = %user, connection = registration.id, "WebSocket connected");
    let settings = &app.settings.realtime;
    let ping_every = Duration::from_secs(settings.ping_interval_secs);
    let write_timeout = Duration::from_secs(settings.write_timeout_secs);
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();

    let ready = ServerEvent::Ready {
        user_id: user.as_uuid(),
    };
    let mut open = write(&mut socket, Message::Text(ready.frame()), write_timeout).await;
    while open {
        tokio::select! {
            () = realtime.shutdown.cancelled() => {
                close(&mut socket, close_code::GOING_AWAY, "server shutting down", write_timeout).await;
                open = false;
            }
            frame = registration.queue.recv() => match frame {
                Some(frame) => {
                    open = write_queued(&mut socket, &mut registration.queue, frame, write_timeout).await;
                }
                None => {
                    let (code, reason) = if registration.overflowed.load(Ordering::Acquire) {
                        (close_code::SLOW_CONSUMER, "too slow: reconnect and catch up with after_seq")
                    } else {
                        (close_code::NORMAL, "closed")
                    };
                    close(&mut socket, code, reason, write_timeout).await;
                    open = false;
                }
            },
            inbound = socket.recv() => {
                last_heard = Instant::now();
                match inbound {
                    Some(Ok(Message::Text(text))) => {
                        let reply = handle_command(&app, user, text.as_str()).await;
                        if let Some(reply) = reply {
                            open = write(&mut socket, Message::Text(reply.frame()), write_timeout).await;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let error = ApiError::bad_request("binary frames are not supported; send JSON text frames");
                        let reply = ServerEvent::error(Value::Null, &error);
                        open = write(&mut socket, Message::Text(reply.frame()), write_timeout).await;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => open = false,
                    Some(Err(error)) => {
                        if is_too_big(&error) {
                            close(&mut socket, close_code::TOO_BIG, "frame too large (max 64 KiB)", write_timeout).await;
                        }
                        open = false;
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_every * 2 {
                    tracing::debug!(user.id = %user, "dropping a WebSocket that stopped answering pings");
                    open = false;
                } else {
                    open = write(&mut socket, Message::Ping(Default::default()), write_timeout).await;
                }
            }
        }
    }
    realtime.registry.unregister(user, registration.id);
    tracing::debug!(user.id = %user, connection = registration.id, "WebSocket closed");
}

/// Writes a frame; `false` when the connection is gone or stalled.
async fn write(socket: &mut WebSocket, message: Message, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// Most queued frames written with one flush.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// Writes `first` and whatever else is already queued (up to
/// [`MAX_FRAMES_PER_FLUSH`]) with a single flush: under a burst, one
/// system call carries many events instead of one each. `false` when the
/// connection is gone or stalled.
async fn write_queued(
    socket: &mut WebSocket,
    queue: &mut tokio::sync::mpsc::Receiver<Utf8Bytes>,
    first: Utf8Bytes,
    timeout: Duration,
) -> bool {
    let batch = async {
        socket.feed(Message::Text(first)).await?;
        for _ in 1..MAX_FRAMES_PER_FLUSH {
            match queue.try_recv() {
                Ok(frame) => socket.feed(Message::Text(frame)).await?,
                Err(_) => break,
            }
        }
        socket.flush().await
    };
    matches!(tokio::time::timeout(timeout, batch).await, Ok(Ok(())))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str, timeout: Duration) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = write(socket, Message::Close(Some(frame)), timeout).await;
}

fn is_too_big(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(tungstenite::Error::Capacity(_)) = current.downcast_ref::<tungstenite::Error>()
        {
            return true;
        }
        source = current.source();
    }
    false
}

/// Runs one client command; returns the reply, if any.
async fn handle_command(app: &AppState, user: UserId, text: &str) -> Option<ServerEvent> {
    let (reference, command) = parse(text);
    let result = match command {
        Err(error) => Err(error),
        Ok(ClientCommand::Ping) => return Some(ServerEvent::Pong { reference }),
        Ok(ClientCommand::Send(command)) => {
            let chat_id = ChatId::from_uuid(command.chat_id);
            match command
                .message
                .try_into_domain(chat_id, app.settings.limits.max_message_chars)
            {
                Ok(request) => crate::routes::messages::send(app, user, request)
                    .await
                    .map(|(message, _)| Some(message.into())),
                Err(error) => Err(error),
            }
        }
        Ok(ClientCommand::Read(command)) => app
            .chats
            .mark_read(user, ChatId::from_uuid(command.chat_id), command.seq)
            .await
            .map(|_| None)
            .map_err(ApiError::from),
        Ok(ClientCommand::Typing(command)) => {
            let chat_id = ChatId::from_uuid(command.chat_id);
            let key = format!("user:{user}:{chat_id}");
            if let Decision::Limited { .. } = app.rate_limits.check(Class::Typing, &key) {
                // Over the rate: dropped silently, typing is best-effort.
                return None;
            }
            return match app.chats.typing(user, chat_id).await {
                Ok(()) => None,
                Err(error) => Some(ServerEvent::error(reference, &ApiError::from(error))),
            };
        }
    };
    Some(match result {
        Ok(message) => ServerEvent::Ack { reference, message },
        Err(error) => ServerEvent::error(reference, &error),
    })
}
