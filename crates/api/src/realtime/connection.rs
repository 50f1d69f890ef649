//! One WebSocket connection: a single task selecting over inbound frames,
//! the outbound queue, keep-alive pings, the end of its credentials and
//! shutdown. It is written against any socket that is a [`Sink`] and a
//! [`Stream`] of [`Message`]s: axum's
//! [`WebSocket`](axum::extract::ws::WebSocket) in production, a pair of
//! channels in unit tests.

use std::num::NonZeroU32;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use missive_domain::ids::{ChatId, UserId};
use missive_domain::services::sync::{SyncError, SyncLimit};
use missive_domain::sync::SyncToken;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::{Instant, MissedTickBehavior};

use super::protocol::{ClientCommand, ServerEvent, parse};
use super::registry::{Outbound, Registration};
use crate::auth::{Grant, Verified};
use crate::error::ApiError;
use crate::rate_limit::{BucketKey, Class};
use crate::state::AppState;

/// Close codes.
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The client kept sending frames past its budget.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A frame exceeded the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The connection's credentials ended: the access token expired or
    /// the API key was revoked. Reconnect with valid credentials.
    pub const CREDENTIALS_ENDED: u16 = 4001;
    /// The client did not read fast enough; reconnect with the last
    /// `token` (`?since=`) and miss nothing.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// The `since` token expired during the replay (changes after it were
    /// pruned): reload state and connect without it.
    pub const SYNC_EXPIRED: u16 = 4010;
    /// The server could not read the change log; reconnect.
    pub const INTERNAL: u16 = 1011;
}

/// A far-away instant for a connection whose credentials do not expire.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Serves one authenticated connection until it ends. `registration` is
/// this connection's place in the registry; dropping it (however this
/// function ends) unregisters the connection.
///
/// `socket` is axum's [`WebSocket`](axum::extract::ws::WebSocket) in
/// production; any [`Sink`] and [`Stream`] of [`Message`]s will do (unit
/// tests use channels). A read error whose chain holds tungstenite's
/// capacity error closes with 1009.
pub async fn run<S, E>(
    mut socket: S,
    mut registration: Registration,
    caller: Verified,
    app: AppState,
    since: Option<SyncToken>,
) where
    S: Sink<Message> + Stream<Item = Result<Message, E>> + Unpin + Send,
    E: std::error::Error + Send + 'static,
{
    let user = caller.user;
    let realtime = &app.realtime;
    tracing::debug!(user.id = %user, connection = registration.id, "WebSocket connected");
    let settings = &app.settings.realtime;
    let ping_every = Duration::from_secs(settings.ping_interval_secs);
    let write_timeout = Duration::from_secs(settings.write_timeout_secs);
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let expires = tokio::time::sleep_until(credentials_deadline(caller.grant));
    tokio::pin!(expires);
    let mut inbound = InboundBudget::new(settings.inbound_frames_per_sec, settings.inbound_burst);

    // Registered already: every change the dispatcher delivers from now
    // on is queued. Taking the position after that, and noting it for the
    // dispatcher, leaves no gap; queued changes at or below where this
    // connection starts are dropped, so there is no duplicate either.
    let Ok(now) = app.sync.now().await else {
        close(
            &mut socket,
            close_code::INTERNAL,
            "cannot read the change log: reconnect",
            write_timeout,
        )
        .await;
        return;
    };
    registration.note_start(now);
    let ready = ServerEvent::Ready {
        user_id: user.as_uuid(),
        token: since.is_none().then(|| now.to_string()),
    };
    let mut open = write(&mut socket, Message::Text(ready.frame()), write_timeout).await;
    let mut start = now;
    if let Some(since) = since
        && open
    {
        match replay(&mut socket, &app, user, since, write_timeout).await {
            Ok(Some(end)) => {
                start = end.max(now);
                let synced = ServerEvent::Synced {
                    token: start.to_string(),
                };
                open = write(&mut socket, Message::Text(synced.frame()), write_timeout).await;
            }
            Ok(None) => open = false,
            Err(SyncError::Expired) => {
                close(
                    &mut socket,
                    close_code::SYNC_EXPIRED,
                    "sync token expired: reload state",
                    write_timeout,
                )
                .await;
                open = false;
            }
            Err(SyncError::Infra(error)) => {
                tracing::warn!(%error, "cannot replay changes to a WebSocket");
                close(
                    &mut socket,
                    close_code::INTERNAL,
                    "cannot read the change log: reconnect",
                    write_timeout,
                )
                .await;
                open = false;
            }
        }
    }
    while open {
        tokio::select! {
            () = realtime.shutdown.cancelled() => {
                close(&mut socket, close_code::GOING_AWAY, "server shutting down", write_timeout).await;
                open = false;
            }
            () = &mut expires => {
                close(&mut socket, close_code::CREDENTIALS_ENDED, "access token expired: reconnect with a fresh one", write_timeout).await;
                open = false;
            }
            frame = registration.queue.recv() => match (frame, registration.ended_with()) {
                (_, Some(close_code::CREDENTIALS_ENDED)) => {
                    // Nothing more for a revoked key, not even what is queued.
                    close(&mut socket, close_code::CREDENTIALS_ENDED, "API key revoked", write_timeout).await;
                    open = false;
                }
                (Some(frame), _) => {
                    if frame.token.is_none_or(|token| token > start) {
                        open = write_queued(&mut socket, &mut registration.queue, frame, start, write_timeout).await;
                    }
                }
                (None, ended) => {
                    let (code, reason) = match ended {
                        Some(close_code::SLOW_CONSUMER) => (close_code::SLOW_CONSUMER, "too slow: reconnect with ?since= and your last token"),
                        _ => (close_code::NORMAL, "closed"),
                    };
                    close(&mut socket, code, reason, write_timeout).await;
                    open = false;
                }
            },
            inbound_frame = socket.next() => {
                last_heard = Instant::now();
                let data_frame = matches!(inbound_frame, Some(Ok(Message::Text(_) | Message::Binary(_))));
                if data_frame && !inbound.admit() {
                    open = if inbound.exhausted() {
                        close(&mut socket, close_code::POLICY_VIOLATION, "too many frames", write_timeout).await;
                        false
                    } else {
                        let error = ApiError::rate_limited(1);
                        let reply = ServerEvent::error(Value::Null, &error);
                        write(&mut socket, Message::Text(reply.frame()), write_timeout).await
                    };
                    continue;
                }
                match inbound_frame {
                    Some(Ok(Message::Text(text))) => {
                        let reply = guarded_command(&app, user, text.as_str()).await;
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
    tracing::debug!(user.id = %user, connection = registration.id, "WebSocket closed");
}

/// When the connection must end because its credentials do: an access
/// token's `exp`; never for an API key (revocation ends those, see
/// [`super::Realtime::watch_api_keys`]).
fn credentials_deadline(grant: Grant) -> Instant {
    match grant {
        Grant::Token { expires_at } => {
            let left = expires_at - OffsetDateTime::now_utc();
            Instant::now()
                + Duration::try_from(left)
                    .unwrap_or(Duration::ZERO)
                    .min(NEVER)
        }
        Grant::ApiKey { .. } => Instant::now() + NEVER,
    }
}

/// A connection's own allowance of inbound frames, on top of the per-user
/// buckets its commands draw from: it bounds what a client can make the
/// server parse, whatever the frames say.
struct InboundBudget {
    limiter: DefaultDirectRateLimiter,
    /// Frames refused since the last one admitted.
    refused: u32,
    /// Refusals in a row after which the connection is closed.
    patience: u32,
}

impl InboundBudget {
    fn new(per_sec: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_sec).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            refused: 0,
            patience: burst.get(),
        }
    }

    /// Whether one more frame may be handled now.
    fn admit(&mut self) -> bool {
        if self.limiter.check().is_ok() {
            self.refused = 0;
            true
        } else {
            self.refused += 1;
            false
        }
    }

    /// Whether the client ignored a whole burst's worth of refusals.
    fn exhausted(&self) -> bool {
        self.refused >= self.patience
    }
}

/// Writes a frame; `false` when the connection is gone or stalled.
async fn write<S>(socket: &mut S, message: Message, timeout: Duration) -> bool
where
    S: Sink<Message> + Unpin,
{
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
async fn write_queued<S>(
    socket: &mut S,
    queue: &mut tokio::sync::mpsc::Receiver<Outbound>,
    first: Outbound,
    start: SyncToken,
    timeout: Duration,
) -> bool
where
    S: Sink<Message> + Unpin,
{
    let batch = async {
        socket.feed(Message::Text(first.frame)).await?;
        for _ in 1..MAX_FRAMES_PER_FLUSH {
            match queue.try_recv() {
                Ok(next) if next.token.is_some_and(|token| token <= start) => {}
                Ok(next) => socket.feed(Message::Text(next.frame)).await?,
                Err(_) => break,
            }
        }
        socket.flush().await
    };
    matches!(tokio::time::timeout(timeout, batch).await, Ok(Ok(())))
}

/// Writes every change of `user` after `since`, page by page, each with
/// its token; answers where the replay ended (`None`: the socket failed).
async fn replay<S>(
    socket: &mut S,
    app: &AppState,
    user: UserId,
    since: SyncToken,
    timeout: Duration,
) -> Result<Option<SyncToken>, SyncError>
where
    S: Sink<Message> + Unpin,
{
    let limit = SyncLimit::new(i64::from(REPLAY_PAGE))
        .unwrap_or_else(|_| unreachable!("a valid page size"));
    let mut position = since;
    loop {
        let page = app.sync.since(user, position, limit).await?;
        let frames: Vec<Utf8Bytes> = page
            .changes
            .into_iter()
            .map(|synced| ServerEvent::from(synced.event).frame_with_token(synced.token))
            .collect();
        let batch = async {
            for frame in frames {
                socket.feed(Message::Text(frame)).await?;
            }
            socket.flush().await
        };
        if !matches!(tokio::time::timeout(timeout, batch).await, Ok(Ok(()))) {
            return Ok(None);
        }
        position = position.max(page.next_token);
        if !page.has_more {
            return Ok(Some(position));
        }
    }
}

/// Changes read per page of a replay.
const REPLAY_PAGE: u32 = 500;

async fn close<S>(socket: &mut S, code: u16, reason: &'static str, timeout: Duration)
where
    S: Sink<Message> + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    let _ = write(socket, Message::Close(Some(frame)), timeout).await;
}

/// Whether a read error (axum's wraps tungstenite's) was a frame over the
/// size limit: tungstenite's capacity error anywhere in its chain.
fn is_too_big(error: &(dyn std::error::Error + 'static)) -> bool {
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

/// Runs one client command, turning a panic inside it into an `internal`
/// error for that command (the connection, and its registry entry, live
/// on).
async fn guarded_command(app: &AppState, user: UserId, text: &str) -> Option<ServerEvent> {
    match AssertUnwindSafe(handle_command(app, user, text))
        .catch_unwind()
        .await
    {
        Ok(reply) => reply,
        Err(_) => {
            tracing::error!(user.id = %user, "a WebSocket command panicked");
            let error = ApiError::from_status(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            Some(ServerEvent::error(Value::Null, &error))
        }
    }
}

/// Runs one client command; returns the reply, if any. Commands draw from
/// the same per-user buckets as their REST twins (`message.send` and
/// `message.read` from `write`; `typing`, after the membership check, from
/// `typing` per user and chat).
async fn handle_command(app: &AppState, user: UserId, text: &str) -> Option<ServerEvent> {
    let (reference, command) = parse(text);
    let limits = &app.rate_limits;
    let result = match command {
        Err(error) => Err(error),
        Ok(ClientCommand::Ping) => return Some(ServerEvent::Pong { reference }),
        Ok(ClientCommand::Send(command)) => {
            if let Some(refusal) = limits.check(Class::Write, BucketKey::User(user)).refusal() {
                return Some(ServerEvent::error(reference, &refusal));
            }
            let chat_id = ChatId::from_uuid(command.chat_id);
            match command
                .message
                .try_into_domain(chat_id, app.settings.limits.max_message_chars)
            {
                Ok(request) => crate::commands::send(app, user, request)
                    .await
                    .map(|(message, _)| Some(message.into())),
                Err(error) => Err(error),
            }
        }
        Ok(ClientCommand::Read(command)) => {
            if let Some(refusal) = limits.check(Class::Write, BucketKey::User(user)).refusal() {
                return Some(ServerEvent::error(reference, &refusal));
            }
            crate::commands::mark_read(app, user, ChatId::from_uuid(command.chat_id), command.seq)
                .await
                .map(|_| None)
        }
        Ok(ClientCommand::Typing(command)) => {
            let chat_id = ChatId::from_uuid(command.chat_id);
            // Over the rate, a notice is dropped silently: typing is
            // best-effort, and a client cannot act on an error for it.
            let throttle = || {
                limits
                    .check(Class::Typing, BucketKey::Typing(user, chat_id))
                    .refusal()
                    .is_none()
            };
            return match app.chats.typing(user, chat_id, throttle).await {
                Ok(_) => None,
                Err(error) => Some(ServerEvent::error(reference, &ApiError::from(error))),
            };
        }
    };
    Some(match result {
        Ok(message) => ServerEvent::Ack { reference, message },
        Err(error) => ServerEvent::error(reference, &error),
    })
}

#[cfg(test)]
mod tests;
