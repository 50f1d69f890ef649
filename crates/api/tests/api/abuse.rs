//! What an attacker (or an unlucky network) tries first: floods over the
//! WebSocket, made-up credentials, sessions outliving their credentials,
//! removed members under lost and reordered signals, login storms, slow
//! statements. SPEC §6.1 and issue "Close the holes".

use std::collections::HashSet;
use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
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
    JWT_SECRET, PASSWORD, TestApp, TestUser, WsClient, WsEnd, assert_problem, fresh_database_url,
};

// ---------------------------------------------------------------------------
// Helpers

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

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

/// The real `missive` binary, serving on a random port; killed on drop.
struct Served {
    child: Child,
    addr: SocketAddr,
}

impl Served {
    fn start(envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_missive"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MISSIVE__SERVER__BIND", "127.0.0.1:0")
            .env("MISSIVE__AUTH__JWT_SECRET", JWT_SECRET.as_str())
            .env("RUST_LOG", "info")
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

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The most memory the process has held (`VmHWM`), in KiB.
    fn peak_rss_kib(&self) -> u64 {
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

// ---------------------------------------------------------------------------
// Floods over the WebSocket (SPEC §6.1: commands draw from the REST buckets)

#[tokio::test]
async fn a_websocket_send_flood_is_cut_by_the_senders_write_bucket_which_rest_shares() {
    let app = TestApp::spawn_with(|s| {
        limits_on(s);
        s.rate_limit.write = bucket(1, 60, 5);
        // A frame budget the flood stays within: the bucket must cut it.
        s.realtime.inbound_frames_per_sec = 1000;
        s.realtime.inbound_burst = 1000;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut ada_ws = app.ws(&ada).await;

    for i in 0..20 {
        ada_ws
            .send(json!({"type": "message.send", "ref": format!("r{i}"), "chat_id": group, "content": format!("flood {i}"), "client_id": format!("c{i}")}))
            .await;
    }
    let replies = replies(&mut ada_ws, 20).await;

    let (acks, errors): (Vec<&Value>, Vec<&Value>) =
        replies.iter().partition(|reply| reply["type"] == "ack");
    let acked: Vec<&str> = acks
        .iter()
        .map(|a| a["ref"].as_str().expect("ref"))
        .collect();
    assert_eq!(acked, ["r0", "r1", "r2", "r3", "r4"], "the burst, in order");
    assert_eq!(errors.len(), 15);
    for error in &errors {
        assert_rate_limited_event(error);
    }
    let refused: HashSet<String> = errors
        .iter()
        .map(|e| e["ref"].as_str().expect("ref").to_owned())
        .collect();
    assert_eq!(
        refused,
        (5..20).map(|i| format!("r{i}")).collect::<HashSet<_>>(),
        "each refusal names its command"
    );
    let rest = app
        .post_json(
            &messages_path(&group),
            Some(&ada.token),
            &json!({"content": "over REST"}),
        )
        .await;
    assert!(retry_after(&rest) >= 1);
    assert_problem(rest, 429, "rate_limited").await;
    let bob_sends = app
        .post_json(
            &messages_path(&group),
            Some(&bob.token),
            &json!({"content": "bob is fine"}),
        )
        .await;
    assert_eq!(
        bob_sends.status(),
        201,
        "another user has a bucket of their own"
    );
    let history = app.get_json(&messages_path(&group), &bob.token).await;
    assert_eq!(
        history["items"].as_array().expect("items").len(),
        6,
        "five of ada's and bob's one are stored, nothing refused"
    );
}

#[tokio::test]
async fn a_websocket_read_draws_from_the_write_bucket() {
    let app = TestApp::spawn_with(|s| {
        limits_on(s);
        s.rate_limit.write = bucket(1, 60, 2);
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    app.send(&ada, &group, "read me").await;
    let mut bob_ws = app.ws(&bob).await;

    for i in 0..3 {
        bob_ws
            .send(
                json!({"type": "message.read", "ref": format!("k{i}"), "chat_id": group, "seq": 1}),
            )
            .await;
    }
    let replies = replies(&mut bob_ws, 3).await;

    assert_eq!(replies[0], json!({"type": "ack", "ref": "k0"}));
    assert_eq!(replies[1], json!({"type": "ack", "ref": "k1"}));
    assert_rate_limited_event(&replies[2]);
    assert_eq!(replies[2]["ref"], "k2");
    let rest = app
        .post_json(
            &messages_path(&group),
            Some(&bob.token),
            &json!({"content": "hi"}),
        )
        .await;
    assert_problem(rest, 429, "rate_limited").await;
    let ada_sends = app
        .post_json(
            &messages_path(&group),
            Some(&ada.token),
            &json!({"content": "hi"}),
        )
        .await;
    assert_eq!(ada_sends.status(), 201, "ada's bucket is her own");
}

#[tokio::test]
async fn typing_from_a_stranger_is_refused_free_of_charge_and_a_members_excess_typing_is_dropped_silently()
 {
    let app = TestApp::spawn_with(|s| {
        limits_on(s);
        // One notice per member and chat a minute: any token spent shows.
        s.rate_limit.typing = bucket(1, 60, 1);
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut ada_ws = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let mut eve_ws = app.ws(&eve).await;

    for i in 0..3 {
        eve_ws
            .send(json!({"type": "typing", "ref": format!("t{i}"), "chat_id": group}))
            .await;
    }
    for i in 0..3 {
        let refused = eve_ws.next_event().await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["ref"], format!("t{i}"));
        assert_eq!(refused["error"]["code"], "not_found", "{refused}");
    }
    let added = app
        .post_json(
            &format!("/api/v1/chats/{group}/members"),
            Some(&ada.token),
            &json!({"user_id": eve.id}),
        )
        .await;
    assert_eq!(added.status(), 200);
    for ws in [&mut ada_ws, &mut bob_ws, &mut eve_ws] {
        ws.next_of("member.added").await;
    }

    eve_ws
        .send(json!({"type": "typing", "chat_id": group}))
        .await;
    let eve_typing = json!({"type": "typing", "chat_id": group, "user_id": eve.id});
    assert_eq!(
        ada_ws.next_event().await,
        eve_typing,
        "a stranger's refused notices spent none of her tokens"
    );
    assert_eq!(bob_ws.next_event().await, eve_typing);

    bob_ws
        .send(json!({"type": "typing", "chat_id": group}))
        .await;
    bob_ws
        .send(json!({"type": "typing", "chat_id": group}))
        .await;

    let bob_typing = json!({"type": "typing", "chat_id": group, "user_id": bob.id});
    assert_eq!(ada_ws.next_event().await, bob_typing);
    assert_eq!(eve_ws.next_event().await, bob_typing);
    tokio::join!(
        ada_ws.assert_silent(500),
        eve_ws.assert_silent(500),
        // No error for the dropped notice, and no echo.
        bob_ws.assert_silent(500),
    );
}

#[tokio::test]
async fn a_connection_past_its_inbound_frame_budget_gets_errors_then_is_closed_with_1008() {
    let app = TestApp::spawn_with(|s| {
        s.realtime.inbound_frames_per_sec = 1;
        s.realtime.inbound_burst = 5;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let mut ws = app.ws(&ada).await;

    for i in 0..5 {
        ws.send(json!({"type": "ping", "ref": i})).await;
    }
    for i in 0..5 {
        assert_eq!(ws.next_event().await, json!({"type": "pong", "ref": i}));
    }
    for i in 5..15 {
        ws.send_raw(Message::text(json!({"type": "ping", "ref": i}).to_string()))
            .await;
    }

    // A burst's worth of refusals (5) is tolerated with an error each;
    // the fifth ends the connection.
    for _ in 0..4 {
        let refused = ws.next_event().await;
        assert_rate_limited_event(&refused);
        assert_eq!(refused["ref"], Value::Null);
    }
    assert_eq!(ws.end().await, WsEnd::Closed(1008));
}

#[tokio::test]
async fn a_users_sockets_are_capped_and_a_closed_one_frees_its_slot() {
    let app = TestApp::spawn_with(|s| s.realtime.max_connections_per_user = 2).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let authorization = format!("Bearer {}", ada.token);
    let mut first = app.ws(&ada).await;
    let _second = app.ws(&ada).await;

    let (status, body) = app
        .ws_attempt("", &[("authorization", &authorization)])
        .await
        .err()
        .expect("a third socket is refused");

    assert_eq!(status, 429);
    let problem: Value = serde_json::from_str(&body).expect("problem json");
    assert_eq!(problem["code"], "too_many_connections", "{problem}");
    assert_eq!(problem["status"], 429);
    let _bob_ws = app.ws(&bob).await;

    first.send_raw(Message::Close(None)).await;
    first.end().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut third = loop {
        match app
            .ws_attempt("", &[("authorization", &authorization)])
            .await
        {
            Ok(client) => break client,
            Err((429, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(refused) => panic!("the closed socket's slot is freed: {refused:?}"),
        }
    };
    assert_eq!(third.next_event().await["type"], "ready");
}

// ---------------------------------------------------------------------------
// Made-up credentials (SPEC §6.1: unverifiable credentials count against the IP)

#[tokio::test]
async fn made_up_api_keys_are_paid_by_the_address_whose_keys_are_then_refused_until_it_recovers() {
    let app = TestApp::spawn_with(|s| {
        limits_on(s);
        s.rate_limit.write = bucket(1, 2, 5);
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let (_, key) = create_key(&app, &ada, "real").await;

    let mut statuses = Vec::new();
    let mut first_refusal = None;
    for _ in 0..30 {
        let made_up = format!("msv_{}", uuid::Uuid::new_v4().simple());
        let response = me_with_key(&app, &made_up).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 && first_refusal.is_none() {
            first_refusal = Some(retry_after(&response));
        }
    }
    let bad_bearer = app.get("/api/v1/users/me", "not-a-token").await;
    let valid_key = me_with_key(&app, &key).await;
    let bob_me = app.get("/api/v1/users/me", &bob.token).await;

    assert_eq!(statuses[..5], [401; 5], "the address's burst: {statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "then refused: {statuses:?}"
    );
    assert!(first_refusal.is_some_and(|secs| (1..=3).contains(&secs)));
    assert_problem(bad_bearer, 429, "rate_limited").await;
    let wait = retry_after(&valid_key);
    assert!((1..=3).contains(&wait), "{wait}");
    assert_problem(valid_key, 429, "rate_limited").await;
    // A verified user pays from their own bucket: an access token verifies
    // without a lookup, so the address's refusal of keys does not apply.
    assert_eq!(bob_me.status(), 200);

    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(100)).await;
    let recovered = me_with_key(&app, &key).await;
    assert_eq!(recovered.status(), 200, "the refusal expires");
}

#[tokio::test]
async fn all_of_a_users_api_keys_and_tokens_draw_from_one_bucket() {
    let app = TestApp::spawn_with(|s| {
        limits_on(s);
        s.rate_limit.read = bucket(1, 60, 4);
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let (_, first_key) = create_key(&app, &ada, "one").await;
    let (_, second_key) = create_key(&app, &ada, "two").await;

    let mut statuses = Vec::new();
    for key in [&first_key, &second_key, &first_key, &second_key] {
        statuses.push(me_with_key(&app, key).await.status().as_u16());
    }
    let first_again = me_with_key(&app, &first_key).await;
    let second_again = me_with_key(&app, &second_key).await;
    let token = app.get("/api/v1/users/me", &ada.token).await;
    let bob_me = app.get("/api/v1/users/me", &bob.token).await;

    assert_eq!(statuses, [200; 4]);
    assert_problem(first_again, 429, "rate_limited").await;
    assert_problem(second_again, 429, "rate_limited").await;
    assert_problem(token, 429, "rate_limited").await;
    assert_eq!(bob_me.status(), 200);
}

// ---------------------------------------------------------------------------
// Sessions end with their credentials (SPEC §6.1: 4001)

#[tokio::test]
async fn a_socket_closes_with_4001_when_its_access_token_expires() {
    let app = TestApp::spawn_with(|s| s.auth.access_token_ttl_secs = 2).await;
    // `exp` is in whole seconds: the token lives between one and two
    // seconds from here.
    let issued = Instant::now();
    let ada = app.register("ada@example.org").await;
    let mut ws = app.ws(&ada).await;

    let end = ws.end().await;
    let lived = issued.elapsed();

    assert_eq!(end, WsEnd::Closed(4001));
    assert!(
        lived >= Duration::from_millis(950) && lived <= Duration::from_secs(4),
        "closed at expiry, not before: {lived:?}"
    );
}

/// The `exp` claim of a compact JWT.
fn exp_of(token: &str) -> u64 {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a compact JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("claims");
    claims["exp"].as_u64().expect("exp")
}

#[tokio::test]
async fn an_access_token_is_refused_from_its_exp_on_like_its_socket() {
    let app = TestApp::spawn_with(|s| s.auth.access_token_ttl_secs = 1).await;
    let ada = app.register("ada@example.org").await;
    let exp = Duration::from_secs(exp_of(&ada.token));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");

    tokio::time::sleep(exp.saturating_sub(now) + Duration::from_millis(100)).await;
    let rest = app.get("/api/v1/users/me", &ada.token).await;

    assert_problem(rest, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_socket_opened_with_an_api_key_closes_with_4001_soon_after_its_revocation() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let (id, key) = create_key(&app, &ada, "socket").await;
    let mut by_key = ws_with_key(&app, &key).await;
    let mut by_token = app.ws(&ada).await;

    let revoked = app
        .delete(&format!("/api/v1/api-keys/{id}"), &ada.token)
        .await;
    let since = Instant::now();

    assert_eq!(revoked.status(), 204);
    assert_eq!(by_key.end().await, WsEnd::Closed(4001));
    assert!(
        since.elapsed() < Duration::from_secs(2),
        "{:?}",
        since.elapsed()
    );
    by_token.send(json!({"type": "ping"})).await;
    assert_eq!(
        by_token.next_event().await,
        json!({"type": "pong"}),
        "a socket on other credentials lives on"
    );
}

#[tokio::test]
async fn a_key_revoked_on_one_instance_closes_its_socket_on_another_with_4001() {
    if missive_infra::scratch::postgres_test_url().is_none() {
        eprintln!("two-instance revocation test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    }
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(
        tempfile::tempdir().expect("dir"),
        a.database_url.clone(),
        |_| {},
    )
    .await;
    let ada = a.register("ada@example.org").await;
    let (id, key) = create_key(&a, &ada, "socket").await;
    let mut on_b = ws_with_key(&b, &key).await;

    let revoked = a
        .delete(&format!("/api/v1/api-keys/{id}"), &ada.token)
        .await;
    let since = Instant::now();

    assert_eq!(revoked.status(), 204);
    assert_eq!(on_b.end().await, WsEnd::Closed(4001));
    assert!(
        since.elapsed() < Duration::from_secs(2),
        "{:?}",
        since.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Removal is final, whatever happens to the signals

#[tokio::test]
async fn a_removed_member_gets_no_later_message_when_the_removal_signal_is_lost() {
    let app = spawn_faulty(losing_membership_signals(Fate::Drop)).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut ada_ws = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let before = app.send(&ada, &group, "before").await;
    assert_eq!(bob_ws.next_of("message.created").await["message"], before);
    assert_eq!(ada_ws.next_of("message.created").await["message"], before);

    assert_eq!(remove(&app, &ada, &group, &bob).await, 204);
    let after = app.send(&ada, &group, "after bob").await;

    assert_eq!(
        ada_ws.next_of("message.created").await["message"],
        after,
        "the signal was handled"
    );
    bob_ws.assert_silent(500).await;
}

#[tokio::test]
async fn a_removed_member_gets_no_later_message_when_the_removal_signal_is_overtaken() {
    let delayed = losing_membership_signals(Fate::Delay(Duration::from_millis(1500)));
    let app = spawn_faulty(delayed).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut ada_ws = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let before = app.send(&ada, &group, "before").await;
    assert_eq!(bob_ws.next_of("message.created").await["message"], before);
    assert_eq!(ada_ws.next_of("message.created").await["message"], before);

    assert_eq!(remove(&app, &ada, &group, &bob).await, 204);
    let removed = Instant::now();
    let after = app.send(&ada, &group, "after bob").await;

    assert_eq!(ada_ws.next_of("message.created").await["message"], after);
    assert_eq!(
        bob_ws.next_event().await,
        json!({"type": "member.removed", "chat_id": group, "user_id": bob.id}),
        "bob's next event is his removal, when its signal finally arrives"
    );
    assert!(
        removed.elapsed() >= Duration::from_secs(1),
        "the removal's signal came after the later message's: {:?}",
        removed.elapsed()
    );
    bob_ws.assert_silent(300).await;
}

#[tokio::test]
async fn on_two_instances_a_removed_member_gets_no_later_message_when_their_instance_loses_the_removal_signal()
 {
    if missive_infra::scratch::postgres_test_url().is_none() {
        eprintln!("two-instance removal test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    }
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_faulty(
        tempfile::tempdir().expect("dir"),
        a.database_url.clone(),
        |_| {},
        losing_membership_signals(Fate::Drop),
    )
    .await;
    let ada = a.register("ada@example.org").await;
    let bob = a.register("bob@example.org").await;
    let cy = a.register("cy@example.org").await;
    let group = a.group(&ada, &[&bob, &cy]).await;
    let mut bob_on_b = b.ws(&bob).await;
    // A witness on the same instance: when it has the message, bob would have.
    let mut cy_on_b = b.ws(&cy).await;
    let before = a.send(&ada, &group, "before").await;
    assert_eq!(bob_on_b.next_of("message.created").await["message"], before);
    assert_eq!(cy_on_b.next_of("message.created").await["message"], before);

    assert_eq!(remove(&a, &ada, &group, &bob).await, 204);
    let after = a.send(&ada, &group, "after bob").await;

    assert_eq!(cy_on_b.next_of("message.created").await["message"], after);
    bob_on_b.assert_silent(500).await;
}

// ---------------------------------------------------------------------------
// Load an attacker can cause cheaply

#[tokio::test]
async fn two_hundred_concurrent_logins_get_200_or_503_and_keep_the_server_under_256_mib() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("storm.db").display()
    );
    let server = Served::start(&[
        ("MISSIVE__DATABASE__URL", &url),
        ("MISSIVE__RATE_LIMIT__ENABLED", "false"),
    ]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let credentials = json!({"email": "ada@example.org", "password": PASSWORD});
    let registered = client
        .post(server.url("/api/v1/auth/register"))
        .json(&json!({"email": "ada@example.org", "password": PASSWORD, "full_name": "Ada"}))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);
    let before_kib = server.peak_rss_kib();

    let started = Instant::now();
    let answers = join_all((0..200).map(|_| {
        client
            .post(server.url("/api/v1/auth/login"))
            .json(&credentials)
            .send()
    }))
    .await;
    let took = started.elapsed();

    let (mut ok, mut busy) = (0, 0);
    for answer in answers {
        let answer = answer.expect("every login is answered");
        match answer.status().as_u16() {
            200 => ok += 1,
            503 => {
                assert!(retry_after(&answer) >= 1);
                busy += 1;
            }
            other => panic!("a login answered {other}"),
        }
    }
    let peak_kib = server.peak_rss_kib();
    println!(
        "login storm: {ok} × 200, {busy} × 503 in {took:?}; peak RSS {} MiB ({} MiB before)",
        peak_kib / 1024,
        before_kib / 1024
    );
    assert!(ok > 0, "some logins succeed");
    assert!(peak_kib < 256 * 1024, "peak RSS {peak_kib} KiB");
}

#[tokio::test]
async fn a_statement_stuck_behind_a_lock_is_cancelled_by_the_statement_timeout_with_503() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if missive_infra::scratch::postgres_test_url().is_none() {
        eprintln!("statement timeout test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    }
    let app = TestApp::spawn_with(|s| {
        s.database.statement_timeout_secs = 1;
        s.server.request_timeout_secs = 20;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let admin = missive_infra::Database::connect(&missive_infra::DatabaseOptions {
        url: app.database_url.clone(),
        max_connections: 1,
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: None,
    })
    .await
    .expect("admin connection");
    let lock = admin.connection().begin().await.expect("begin");
    lock.execute_unprepared("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let body = json!({"content": "stuck", "client_id": "stuck-1"});

    let started = Instant::now();
    let stuck = app
        .post_json(&messages_path(&group), Some(&ada.token), &body)
        .await;
    let took = started.elapsed();

    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "cancelled after about a second: {took:?}"
    );
    assert!(retry_after(&stuck) >= 1);
    assert_problem(stuck, 503, "unavailable").await;
    lock.rollback().await.expect("release the lock");
    let retried = app
        .post_json(&messages_path(&group), Some(&ada.token), &body)
        .await;
    assert_eq!(
        retried.status(),
        201,
        "the same send succeeds once the lock is gone"
    );
    let history = app.get_json(&messages_path(&group), &ada.token).await;
    assert_eq!(history["items"].as_array().expect("items").len(), 1);
}

// ---------------------------------------------------------------------------
// Concurrent departures

/// Whether `user` sees the chat, and if so its members as `(id, role)`.
async fn members_seen_by(
    app: &TestApp,
    user: &TestUser,
    chat: &str,
) -> Option<Vec<(String, String)>> {
    let response = app.get(&format!("/api/v1/chats/{chat}"), &user.token).await;
    if response.status() == 404 {
        return None;
    }
    assert_eq!(response.status(), 200);
    let chat: Value = response.json().await.expect("json");
    Some(
        chat["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| {
                (
                    m["user_id"].as_str().expect("user id").to_owned(),
                    m["role"].as_str().expect("role").to_owned(),
                )
            })
            .collect(),
    )
}

/// Everyone in `leavers` leaves `chat` at once; the answers, in order.
async fn leave_at_once(app: &TestApp, chat: &str, leavers: &[&TestUser]) -> Vec<u16> {
    join_all(leavers.iter().map(|user| remove(app, user, chat, user))).await
}

/// `stayers` (with whoever failed to leave) are the members, exactly one
/// of them the owner; those who left no longer see the chat.
async fn assert_one_owner_among_those_left(
    app: &TestApp,
    chat: &str,
    leavers: &[&TestUser],
    statuses: &[u16],
    stayers: &[&TestUser],
) {
    let mut expected: HashSet<&str> = stayers.iter().map(|u| u.id.as_str()).collect();
    for (user, status) in leavers.iter().zip(statuses) {
        assert!(
            *status == 204 || *status == 503,
            "leaving answers 204 (or 503: retry): {statuses:?}"
        );
        if *status != 204 {
            expected.insert(user.id.as_str());
        }
    }
    let Some(viewer) = stayers
        .iter()
        .chain(leavers)
        .find(|u| expected.contains(u.id.as_str()))
    else {
        for user in leavers {
            assert!(
                members_seen_by(app, user, chat).await.is_none(),
                "the last one out deleted the chat"
            );
        }
        return;
    };
    let members = members_seen_by(app, viewer, chat)
        .await
        .expect("a member sees the chat");
    let ids: HashSet<&str> = members.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, expected, "{statuses:?}");
    let owners = members.iter().filter(|(_, role)| role == "owner").count();
    assert_eq!(
        owners, 1,
        "exactly one owner: {members:?} after {statuses:?}"
    );
    for (user, status) in leavers.iter().zip(statuses) {
        if *status == 204 {
            assert!(members_seen_by(app, user, chat).await.is_none());
        }
    }
}

#[tokio::test]
async fn a_whole_group_leaving_at_once_deletes_it_or_leaves_exactly_one_owner() {
    let app = TestApp::spawn().await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(app.register(&format!("user{i}@example.org")).await);
    }
    let mut refused = 0;

    for round in 0..10 {
        // A different owner each round, members in a different order.
        let owner = &users[round % 6];
        let members: Vec<&TestUser> = users.iter().filter(|u| u.id != owner.id).collect();
        let chat = app.group(owner, &members).await;
        let everyone: Vec<&TestUser> = users.iter().collect();

        let statuses = leave_at_once(&app, &chat, &everyone).await;

        refused += statuses.iter().filter(|s| **s != 204).count();
        assert_one_owner_among_those_left(&app, &chat, &everyone, &statuses, &[]).await;
    }
    println!("whole-group departures: {refused} of 60 answered 503");
}

#[tokio::test]
async fn the_owner_and_admins_leaving_at_once_leave_exactly_one_owner_among_the_members() {
    let app = TestApp::spawn().await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(app.register(&format!("user{i}@example.org")).await);
    }
    let (owner, admins, members) = (&users[0], &users[1..3], &users[3..6]);
    let members: Vec<&TestUser> = members.iter().collect();

    for _ in 0..10 {
        let chat = app.group(owner, &members).await;
        for admin in admins {
            let added = app
                .post_json(
                    &format!("/api/v1/chats/{chat}/members"),
                    Some(&owner.token),
                    &json!({"user_id": admin.id, "role": "admin"}),
                )
                .await;
            assert_eq!(added.status(), 200);
        }
        let leavers = [owner, &admins[0], &admins[1]];

        let statuses = leave_at_once(&app, &chat, &leavers).await;

        assert_one_owner_among_those_left(&app, &chat, &leavers, &statuses, &members).await;
    }
}

// ---------------------------------------------------------------------------
// Configuration and caching

#[test]
fn a_published_example_jwt_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("never.db").display()
    );
    for secret in [
        "a long random string of at least 32 bytes",
        "change-me-to-a-long-random-secret-of-32-bytes-or-more",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_missive"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MISSIVE__DATABASE__URL", &url)
            .env("MISSIVE__SERVER__BIND", "127.0.0.1:0")
            .env("MISSIVE__AUTH__JWT_SECRET", secret)
            .output()
            .expect("run missive");

        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("auth.jwt_secret"), "{stderr}");
        assert!(
            !stderr.contains(secret),
            "the secret is not echoed: {stderr}"
        );
    }
    assert!(
        !dir.path().join("never.db").exists(),
        "refused before opening anything"
    );
}

#[tokio::test]
async fn tokens_keys_and_refusals_are_marked_no_store() {
    let app = TestApp::spawn().await;
    let registered = app
        .post_json(
            "/api/v1/auth/register",
            None,
            &json!({"email": "ada@example.org", "password": PASSWORD, "full_name": "Ada"}),
        )
        .await;
    let logged_in = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ada@example.org", "password": PASSWORD}),
        )
        .await;
    let login_cache_control = header(&logged_in, "cache-control");
    let token = logged_in.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let key = app
        .post_json("/api/v1/api-keys", Some(&token), &json!({"name": "k"}))
        .await;
    let anonymous = app
        .request(Method::GET, "/api/v1/users/me")
        .send()
        .await
        .expect("request");

    assert_eq!(registered.status(), 201);
    assert_eq!(login_cache_control.as_deref(), Some("no-store"), "login");
    assert_eq!(key.status(), 201);
    assert_eq!(anonymous.status(), 401);
    for response in [&registered, &key, &anonymous] {
        assert_eq!(
            header(response, "cache-control").as_deref(),
            Some("no-store"),
            "{}",
            response.url()
        );
    }
}
