//! What an attacker (or an unlucky network) tries first: floods over the
//! WebSocket, made-up credentials, sessions outliving their credentials,
//! removed members under lost and reordered signals, login storms, slow
//! statements. SPEC §6.1 and issue "Close the holes".

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::future::join_all;
use missive_api::Settings;
use missive_api::config::BucketSettings;
use missive_api::realtime::faults::{Fate, Faults};
use missive_infra::Signal;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    PASSWORD, Served, TestApp, TestUser, WsClient, WsEnd, assert_problem, fresh_database_url,
    header,
};

mod configuration;
mod credentials;
mod departures;
mod load;
mod removal;
mod sessions;
mod websocket;

// ---------------------------------------------------------------------------
// Helpers

fn retry_after(response: &reqwest::Response) -> u64 {
    header(response, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds")
}

fn bucket(requests: u32, per_secs: u32, burst: u32) -> BucketSettings {
    BucketSettings {
        requests,
        per_secs,
        burst,
    }
}

/// Rate limits on (the suite turns them off), with room for the
/// registrations a test makes; the test then shrinks the bucket it is
/// about.
fn limits_on(settings: &mut Settings) {
    settings.rate_limit.enabled = true;
    settings.rate_limit.auth = bucket(1000, 1, 1000);
}

fn messages_path(chat: &str) -> String {
    format!("/api/v1/chats/{chat}/messages")
}

/// Creates an API key for `user`; its id and secret.
async fn create_key(app: &TestApp, user: &TestUser, name: &str) -> (String, String) {
    let response = app
        .post_json(
            "/api/v1/api-keys",
            Some(&user.token),
            &json!({"name": name}),
        )
        .await;
    assert_eq!(response.status(), 201, "create an API key");
    let created: Value = response.json().await.expect("json");
    (
        created["id"].as_str().expect("id").to_owned(),
        created["key"].as_str().expect("key").to_owned(),
    )
}

async fn me_with_key(app: &TestApp, key: &str) -> reqwest::Response {
    app.request(Method::GET, "/api/v1/users/me")
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

/// A socket authenticated with `?api_key=`, past its `ready`.
async fn ws_with_key(app: &TestApp, key: &str) -> WsClient {
    let mut client = app
        .ws_attempt(&format!("?api_key={key}"), &[])
        .await
        .expect("connect with an API key");
    assert_eq!(client.next_event().await["type"], "ready");
    client
}

/// The next `count` answers to commands (`ack` or `error`), skipping
/// events.
async fn replies(ws: &mut WsClient, count: usize) -> Vec<Value> {
    let mut replies = Vec::with_capacity(count);
    while replies.len() < count {
        let event = ws.next_event().await;
        if event["type"] == "ack" || event["type"] == "error" {
            replies.push(event);
        }
    }
    replies
}

fn assert_rate_limited_event(event: &Value) {
    assert_eq!(event["type"], "error", "{event}");
    assert_eq!(event["error"]["code"], "rate_limited", "{event}");
    assert_eq!(event["error"]["status"], 429, "{event}");
    assert!(
        event["retry_after"].as_u64().is_some_and(|secs| secs >= 1),
        "a retry_after of at least a second: {event}"
    );
}

/// A server whose real-time signals of membership changes meet `fate`.
fn losing_membership_signals(fate: Fate) -> Faults {
    Faults::on_signals(move |signal| {
        if matches!(signal, Signal::Membership { .. }) {
            fate
        } else {
            Fate::Deliver
        }
    })
}

async fn spawn_faulty(faults: Faults) -> TestApp {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path()).await;
    TestApp::spawn_faulty(dir, url, |_| {}, faults).await
}

async fn remove(app: &TestApp, by: &TestUser, chat: &str, member: &TestUser) -> u16 {
    app.delete(
        &format!("/api/v1/chats/{chat}/members/{}", member.id),
        &by.token,
    )
    .await
    .status()
    .as_u16()
}
