//! Talking to the server: accounts, chats, messages, WebSockets.

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cpu::Watch;

/// Shared HTTP client and settings.
pub struct Context {
    /// Base URL, without a trailing slash.
    pub base: String,
    /// Keep-alive HTTP client.
    pub http: reqwest::Client,
    quiet: bool,
    run: String,
    /// Processes whose CPU time is reported.
    pub watch: Watch,
}

/// A registered user.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: String,
    /// Access token.
    pub token: String,
}

impl Context {
    /// A context for the server at `url`.
    pub fn new(url: &str, quiet: bool, watch: Watch) -> anyhow::Result<Self> {
        Ok(Self {
            base: url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(1024)
                .build()?,
            quiet,
            run: uuid::Uuid::now_v7().simple().to_string(),
            watch,
        })
    }

    /// A progress bar (hidden with `--quiet`).
    pub fn progress(&self, len: u64, what: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        bar
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The WebSocket URL for `token`.
    pub fn ws_url(&self, token: &str) -> String {
        let base = self
            .base
            .replacen("http://", "ws://", 1)
            .replacen("https://", "wss://", 1);
        format!("{base}/api/v1/ws?access_token={token}")
    }

    /// Opens a WebSocket as the holder of `token`. The read buffer is 4 KiB
    /// (tungstenite's default, 128 KiB, is zeroed on every read: with
    /// thousands of sockets each receiving small frames, that memset was
    /// 40 % of the load generator's CPU and inflated every latency).
    pub async fn websocket(
        &self,
        token: &str,
    ) -> anyhow::Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    > {
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(4 * 1024);
        let (stream, _) =
            tokio_tungstenite::connect_async_with_config(self.ws_url(token), Some(config), true)
                .await?;
        Ok(stream)
    }

    /// Registers `n` users, a few at a time (password hashing is slow by
    /// design).
    pub async fn users(&self, n: usize) -> anyhow::Result<Vec<User>> {
        use futures::StreamExt;
        let bar = self.progress(n as u64, "users");
        let results: Vec<anyhow::Result<User>> = futures::stream::iter(0..n)
            .map(|i| {
                let bar = bar.clone();
                async move {
                    let user = self.register(i).await;
                    bar.inc(1);
                    user
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        bar.finish_and_clear();
        results.into_iter().collect()
    }

    async fn register(&self, i: usize) -> anyhow::Result<User> {
        let body = json!({
            "email": format!("bench-{}-{i}@example.org", self.run),
            "password": "benchmark password",
            "full_name": format!("Bench {i}"),
        });
        let response = self
            .http
            .post(self.url("/api/v1/auth/register"))
            .json(&body)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!(
                "register: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        let body: Value = response.json().await?;
        Ok(User {
            id: body["user"]["id"].as_str().context("user id")?.to_owned(),
            token: body["access_token"].as_str().context("token")?.to_owned(),
        })
    }

    /// A group owned by `owner` with `members` (added in chunks through the
    /// create call).
    pub async fn group(&self, owner: &User, members: &[User]) -> anyhow::Result<String> {
        let ids: Vec<&str> = members.iter().map(|m| m.id.as_str()).collect();
        let response = self
            .http
            .post(self.url("/api/v1/chats"))
            .bearer_auth(&owner.token)
            .json(&json!({"kind": "group", "title": "bench", "member_ids": ids}))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!(
                "create chat: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        let chat: Value = response.json().await?;
        Ok(chat["id"].as_str().context("chat id")?.to_owned())
    }

    /// The URL messages of `chat` are posted to (parsed once per chat, not
    /// once per request).
    pub fn messages_url(&self, chat: &str) -> anyhow::Result<reqwest::Url> {
        Ok(reqwest::Url::parse(
            &self.url(&format!("/api/v1/chats/{chat}/messages")),
        )?)
    }

    /// Sends one message to `messages` (from [`Self::messages_url`]); the
    /// stored message's seq.
    pub async fn send(
        &self,
        user: &User,
        messages: &reqwest::Url,
        content: &str,
    ) -> anyhow::Result<i64> {
        #[derive(Serialize)]
        struct NewMessage<'a> {
            content: &'a str,
            client_id: uuid::Uuid,
        }
        #[derive(Deserialize)]
        struct Stored {
            seq: i64,
        }
        let response = self
            .http
            .post(messages.clone())
            .bearer_auth(&user.token)
            .json(&NewMessage {
                content,
                client_id: uuid::Uuid::now_v7(),
            })
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("send: {}", response.status());
        }
        let stored: Stored = serde_json::from_slice(&response.bytes().await?)?;
        Ok(stored.seq)
    }
}
