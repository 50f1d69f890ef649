use std::net::SocketAddr;
use std::sync::Once;

use missive_api::config::LogSettings;
use missive_api::{Application, Settings, telemetry};
use missive_infra::scratch::{create_postgres_database, postgres_test_url};
use reqwest::{Method, RequestBuilder, Response};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const JWT_SECRET: &str = "integration-test-secret-0123456789abcdef";
pub const PASSWORD: &str = "correct horse battery";

/// A running server with its own fresh database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
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
                level: "debug".into(),
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
    settings.database.url = database_url;
    settings.database.max_connections = 8;
    settings.auth.jwt_secret = Some(SecretString::from(JWT_SECRET));
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
        init_logs();
        let mut settings = test_settings(database_url.clone());
        configure(&mut settings);
        let app = Application::build(settings).await.expect("build the app");
        let addr = app.local_addr().expect("bound");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run(async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            client: reqwest::Client::new(),
            stop: Some(stop),
            _dir: dir,
        }
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
