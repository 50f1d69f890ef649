use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

use missive_api::config::LogSettings;
use missive_api::realtime::faults::Faults;
use missive_api::{Application, Settings, telemetry};
use missive_infra::scratch::{create_postgres_database, postgres_test_url};
use reqwest::{Method, RequestBuilder, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// This test run's signing secret: random, so no secret in the repository
/// ever signs anything (the server refuses published ones).
pub static JWT_SECRET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "test-{}-{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
});
pub const PASSWORD: &str = "correct horse battery";

/// A running server with its own fresh database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// A registered user and their token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub token: String,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Quiet unless TEST_LOG is set.
        if std::env::var("TEST_LOG").is_ok() {
            let settings = LogSettings {
                level: std::env::var("TEST_LOG").unwrap_or_else(|_| "debug".into()),
                ..LogSettings::default()
            };
            let _ = telemetry::init(&settings);
        }
    });
}

/// A fresh database URL: a new PostgreSQL database when the suite runs
/// against PostgreSQL, else an SQLite file in `dir`.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match postgres_test_url() {
        Some(server) => create_postgres_database(&server)
            .await
            .expect("create a PostgreSQL test database"),
        None => format!("sqlite://{}?mode=rwc", dir.join("missive.db").display()),
    }
}

pub fn test_settings(database_url: String) -> Settings {
    let mut settings = Settings::default();
    settings.server.bind = "127.0.0.1:0".parse().expect("addr");
    settings.database.url = SecretString::from(database_url);
    settings.database.max_connections = 8;
    settings.auth.jwt_secret = Some(SecretString::from(JWT_SECRET.as_str()));
    // The suite registers many users from one address; the rate-limit tests
    // turn limits back on.
    settings.rate_limit.enabled = false;
    settings
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = fresh_database_url(dir.path()).await;
        Self::spawn_on(dir, url, configure).await
    }

    /// A server on an existing database (which `dir` keeps alive).
    pub async fn spawn_on(
        dir: tempfile::TempDir,
        database_url: String,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::spawn_faulty(dir, database_url, configure, Faults::none()).await
    }

    /// A server on an existing database whose real-time signals suffer
    /// `faults` (lost, delayed, reordered).
    pub async fn spawn_faulty(
        dir: tempfile::TempDir,
        database_url: String,
        configure: impl FnOnce(&mut Settings),
        faults: Faults,
    ) -> Self {
        init_logs();
        let mut settings = test_settings(database_url.clone());
        settings.storage.dir = dir.path().join("storage").to_string_lossy().into_owned();
        configure(&mut settings);
        let app = Application::build_with_faults(settings, faults)
            .await
            .expect("build the app");
        let addr = app.local_addr().expect("bound");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            client: reqwest::Client::new(),
            database_url,
            stop: Some(stop),
            _dir: dir,
        }
    }

    /// Waits until every change committed before the call is readable by
    /// `GET /sync`: on PostgreSQL the change log's horizon is cluster-wide,
    /// and the suite's other databases hold it back for moments.
    pub async fn settle(&self) {
        if !self.database_url.starts_with("postgres") {
            return;
        }
        let database = missive_infra::Database::connect(&missive_infra::DatabaseOptions {
            url: self.database_url.clone(),
            max_connections: 1,
            acquire_timeout: std::time::Duration::from_secs(5),
            statement_timeout: None,
        })
        .await
        .expect("database");
        missive_infra::scratch::settle(&database)
            .await
            .expect("settle");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.request(Method::POST, path).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request")
    }

    pub async fn register(&self, email: &str) -> TestUser {
        let response = self
            .post_json(
                "/api/v1/auth/register",
                None,
                &json!({"email": email, "password": PASSWORD, "full_name": "Test User"}),
            )
            .await;
        assert_eq!(response.status(), 201, "registering {email}");
        let body: Value = response.json().await.expect("json");
        TestUser {
            id: body["user"]["id"].as_str().expect("id").to_owned(),
            token: body["access_token"].as_str().expect("token").to_owned(),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Asserts `response` is a problem document with this status and code, and
/// returns it.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("problem json");
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("urn:missive:problem:{code}"));
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}

/// The `field`s of a 422's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

impl TestApp {
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.request(method, path)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path)
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// A group owned by `owner` with `members`; returns its id.
    pub async fn group(&self, owner: &TestUser, members: &[&TestUser]) -> String {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let response = self
            .post_json(
                "/api/v1/chats",
                Some(&owner.token),
                &json!({"kind": "group", "title": "Team", "member_ids": ids}),
            )
            .await;
        assert_eq!(response.status(), 201, "create group");
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Sends a message and returns the stored message.
    pub async fn send(&self, sender: &TestUser, chat_id: &str, content: &str) -> Value {
        let response = self
            .post_json(
                &format!("/api/v1/chats/{chat_id}/messages"),
                Some(&sender.token),
                &json!({"content": content}),
            )
            .await;
        assert_eq!(response.status(), 201, "send");
        response.json().await.expect("json")
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let response = self.get(path, token).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }
}

/// A WebSocket client for tests.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// How a connection attempt or a connection ended.
#[derive(Debug, PartialEq)]
pub enum WsEnd {
    /// A close frame with this code.
    Closed(u16),
    /// The stream ended without a close frame.
    Dropped,
}

impl TestApp {
    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/api/v1/ws{query}", self.addr)
    }

    /// Connects with a bearer token and waits for `ready`.
    pub async fn ws(&self, user: &TestUser) -> WsClient {
        let authorization = format!("Bearer {}", user.token);
        let mut client = self
            .ws_attempt("", &[("authorization", &authorization)])
            .await
            .expect("connect");
        let ready = client.next_event().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        assert_eq!(ready["user_id"], user.id.as_str());
        client
    }

    /// Tries to connect with extra headers; the HTTP status when refused.
    pub async fn ws_attempt(
        &self,
        query: &str,
        headers: &[(&str, &str)],
    ) -> Result<WsClient, (u16, String)> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self.ws_url(query).into_client_request().expect("request");
        for (name, value) in headers {
            request.headers_mut().insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((stream, _)) => Ok(WsClient { stream }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Err((status, body))
            }
            Err(other) => panic!("unexpected WebSocket error: {other}"),
        }
    }
}

impl WsClient {
    /// The next JSON event (pings are skipped), within 10 s, without its
    /// `token` (which `tests/api/sync.rs` checks; see [`Self::next_raw_event`]).
    pub async fn next_event(&mut self) -> Value {
        let mut event = self.next_raw_event().await;
        if let Some(fields) = event.as_object_mut() {
            fields.remove("token");
        }
        event
    }

    /// The next JSON event as it came, if one arrives within `millis`;
    /// `Err` once the connection has ended (closed or dropped).
    pub async fn next_within(&mut self, millis: u64) -> Result<Option<Value>, ()> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(millis);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Ok(None),
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Ok(Some(
                        serde_json::from_str(text.as_str()).expect("JSON event"),
                    ));
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(_) => return Err(()),
            }
        }
    }

    /// The next JSON event as it came, `token` included.
    pub async fn next_raw_event(&mut self) -> Value {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                .await
                .expect("an event within 10 s")
                .expect("stream open")
                .expect("frame");
            match next {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).expect("JSON event");
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next event of `kind`, skipping others (e.g. typing noise).
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next_event().await;
            if event["type"] == kind {
                return event;
            }
        }
    }

    /// Asserts nothing but pings arrives for `millis`.
    pub async fn assert_silent(&mut self, millis: u64) {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(millis);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    pub async fn send(&mut self, command: Value) {
        self.send_text(command.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        use futures::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .expect("send");
    }

    pub async fn send_raw(&mut self, message: tokio_tungstenite::tungstenite::Message) {
        use futures::SinkExt;
        let _ = self.stream.send(message).await;
    }

    /// Reads until the connection ends; how it ended.
    pub async fn end(&mut self) -> WsEnd {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(10), self.stream.next())
                .await
                .expect("the connection ends within 10 s")
            {
                Some(Ok(Message::Close(Some(frame)))) => return WsEnd::Closed(frame.code.into()),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return WsEnd::Dropped,
                Some(Ok(_)) => continue,
            }
        }
    }
}

impl TestApp {
    /// Stops the server as SIGTERM would.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A connection that does not read until [`SlowWs::start_reading`].
pub struct SlowWs(WsClient);

impl SlowWs {
    pub fn start_reading(self) -> WsClient {
        self.0
    }
}

impl TestApp {
    /// Connects with a tiny socket receive buffer and never reads, like a
    /// client that stopped reading.
    pub async fn slow_ws(&self, user: &TestUser) -> SlowWs {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("buffer size");
        let stream = socket.connect(self.addr).await.expect("connect");
        let mut request = self.ws_url("").into_client_request().expect("request");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", user.token).parse().expect("header"),
        );
        let (stream, _) = tokio_tungstenite::client_async(
            request,
            tokio_tungstenite::MaybeTlsStream::Plain(stream),
        )
        .await
        .expect("handshake");
        SlowWs(WsClient { stream })
    }
}

/// A fresh directory for a served binary's uploads (under the system's
/// temporary directory, not the working one).
fn served_storage() -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir()
        .join(format!("missive-served-{}-{n}", std::process::id()))
        .to_string_lossy()
        .into_owned()
}

/// The real `missive` binary, serving on a random port; killed on drop.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Served {
    pub fn start(envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_missive"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MISSIVE__SERVER__BIND", "127.0.0.1:0")
            .env("MISSIVE__AUTH__JWT_SECRET", JWT_SECRET.as_str())
            .env("RUST_LOG", "info")
            .env("MISSIVE__STORAGE__DIR", served_storage())
            .envs(envs.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start missive");
        let stderr = child.stderr.take().expect("stderr");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        // Reads the log to its end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("serving on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| *c != ' ' && *c != '"')
                        .collect();
                    let _ = addr_tx.send(addr);
                }
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server starts")
            .parse()
            .expect("address");
        Self { child, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The most memory the process has held (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response header as text.
pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
