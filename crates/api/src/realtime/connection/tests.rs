//! The connection loop driven through channels instead of a network
//! socket: what the client sees first, how it answers commands and bad
//! frames, how it ends, and that queued frames reach the client.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::channel::mpsc;
use futures::{Sink, SinkExt, Stream, StreamExt};
use missive_domain::ids::UserId;
use missive_infra::{Database, DatabaseOptions, SignalBus};
use secrecy::SecretString;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::{close_code, run};
use crate::auth::{Grant, Verified};
use crate::config::Settings;
use crate::state::AppState;

/// How long any single step may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// The server's end of a socket made of two channels.
struct ChannelSocket {
    inbound: mpsc::UnboundedReceiver<Result<Message, axum::Error>>,
    outbound: mpsc::UnboundedSender<Message>,
}

impl Stream for ChannelSocket {
    type Item = Result<Message, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inbound.poll_next_unpin(cx)
    }
}

impl Sink<Message> for ChannelSocket {
    type Error = mpsc::SendError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outbound.poll_ready_unpin(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        self.outbound.start_send_unpin(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outbound.poll_flush_unpin(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outbound.poll_close_unpin(cx)
    }
}

/// The client's end of a connection whose loop runs in a task.
struct Client {
    app: AppState,
    user: UserId,
    to_server: mpsc::UnboundedSender<Result<Message, axum::Error>>,
    from_server: mpsc::UnboundedReceiver<Message>,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// An app on a fresh SQLite database in a temporary directory.
async fn app() -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("missive.db").display()
    );
    let mut settings = Settings::default();
    settings.database.url = SecretString::from(url.clone());
    settings.auth.jwt_secret = Some(SecretString::from(format!(
        "test-{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )));
    let migrations = crate::app::connect_for_migrations(&settings)
        .await
        .expect("open the database");
    migrations.migrate_up().await.expect("migrate");
    migrations.close().await.expect("close");
    let database = Database::connect(&DatabaseOptions {
        url,
        max_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: None,
    })
    .await
    .expect("open the database");
    let bus = SignalBus::in_process();
    let (state, _dispatcher) =
        crate::app::build_state(settings, database, &bus).expect("build the state");
    (state, dir)
}

/// Connects a new user, authenticated with an access token valid for an
/// hour, and runs the connection loop over channels.
async fn connect() -> Client {
    let (app, dir) = app().await;
    let user = UserId::new();
    let registration = app
        .realtime
        .registry
        .register(user, None, 16)
        .expect("room for a connection");
    let caller = Verified {
        user,
        grant: Grant::Token {
            expires_at: OffsetDateTime::now_utc() + time::Duration::hours(1),
        },
    };
    let (to_server, inbound) = mpsc::unbounded();
    let (outbound, from_server) = mpsc::unbounded();
    let socket = ChannelSocket { inbound, outbound };
    let task = tokio::spawn(run(socket, registration, caller, app.clone(), None));
    Client {
        app,
        user,
        to_server,
        from_server,
        task,
        _dir: dir,
    }
}

impl Client {
    /// Sends a text frame.
    fn send_text(&self, text: &str) {
        self.to_server
            .unbounded_send(Ok(Message::Text(Utf8Bytes::from(text))))
            .expect("the connection reads");
    }

    /// Sends any frame, or a read error.
    fn send(&self, frame: Result<Message, axum::Error>) {
        self.to_server
            .unbounded_send(frame)
            .expect("the connection reads");
    }

    /// The next frame the server writes.
    async fn frame(&mut self) -> Message {
        tokio::time::timeout(PATIENCE, self.from_server.next())
            .await
            .expect("a frame in time")
            .expect("the connection is open")
    }

    /// The next frame, which must be a JSON text frame.
    async fn event(&mut self) -> Value {
        match self.frame().await {
            Message::Text(text) => serde_json::from_str(text.as_str()).expect("JSON"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be a Close frame; returns its code.
    async fn close_code(&mut self) -> u16 {
        match self.frame().await {
            Message::Close(Some(CloseFrame { code, .. })) => code,
            other => panic!("expected a Close frame, got {other:?}"),
        }
    }

    /// Waits for the connection loop to return.
    async fn ended(self) {
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the loop returns in time")
            .expect("the loop does not panic");
    }

    /// Reads the `ready` event every connection starts with.
    async fn ready(mut self) -> Self {
        let ready = self.event().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        self
    }
}

#[tokio::test]
async fn the_first_frame_is_ready_with_the_users_id_and_the_token_it_starts_from() {
    let mut client = connect().await;
    let ready = client.event().await;
    let now = client.app.sync.now().await.expect("now");
    assert_eq!(
        ready,
        json!({
            "type": "ready",
            "user_id": client.user.as_uuid().to_string(),
            "token": now.to_string(),
        })
    );
}

#[tokio::test]
async fn a_ping_is_answered_with_a_pong_carrying_its_ref() {
    let mut client = connect().await.ready().await;
    client.send_text(r#"{"type":"ping","ref":7}"#);
    assert_eq!(client.event().await, json!({"type": "pong", "ref": 7}));
}

#[tokio::test]
async fn invalid_json_gets_an_error_and_the_connection_stays_open() {
    let mut client = connect().await.ready().await;
    client.send_text("{not json");
    let error = client.event().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["ref"], Value::Null, "{error}");
    assert_eq!(error["error"]["code"], "bad_request", "{error}");
    assert_eq!(error["error"]["status"], 400, "{error}");

    client.send_text(r#"{"type":"ping","ref":"after"}"#);
    assert_eq!(
        client.event().await,
        json!({"type": "pong", "ref": "after"})
    );
    assert!(!client.task.is_finished());
}

#[tokio::test]
async fn a_binary_frame_gets_a_bad_request_error() {
    let mut client = connect().await.ready().await;
    client.send(Ok(Message::Binary(vec![1, 2, 3].into())));
    let error = client.event().await;
    assert_eq!(error["type"], "error", "{error}");
    assert_eq!(error["error"]["code"], "bad_request", "{error}");
    let detail = error["error"]["detail"].as_str().expect("a detail");
    assert!(detail.contains("binary frames"), "{error}");
}

#[tokio::test]
async fn shutdown_closes_with_1001_and_ends_the_loop() {
    let mut client = connect().await.ready().await;
    client.app.realtime.shutdown.cancel();
    assert_eq!(client.close_code().await, close_code::GOING_AWAY);
    let registry = std::sync::Arc::clone(&client.app.realtime.registry);
    client.ended().await;
    assert!(registry.is_empty(), "the connection unregistered");
}

#[tokio::test]
async fn a_frame_queued_for_the_connection_reaches_the_client() {
    let mut client = connect().await.ready().await;
    let frame = Utf8Bytes::from_static(r#"{"type":"typing","chat_id":"c","user_id":"u"}"#);
    client
        .app
        .realtime
        .registry
        .deliver([client.user].iter(), &frame, None, None);
    match client.frame().await {
        Message::Text(text) => assert_eq!(text, frame),
        other => panic!("expected the queued text frame, got {other:?}"),
    }
}

#[tokio::test]
async fn a_read_error_for_a_frame_too_large_closes_with_1009() {
    let mut client = connect().await.ready().await;
    let too_long = tungstenite::error::CapacityError::MessageTooLong {
        size: 1 << 20,
        max_size: 64 << 10,
    };
    client.send(Err(axum::Error::new(tungstenite::Error::Capacity(
        too_long,
    ))));
    assert_eq!(client.close_code().await, close_code::TOO_BIG);
    client.ended().await;
}
