//! Failure behaviour: a database that goes away and comes back, and a
//! SIGTERM in the middle of traffic.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::{Served, TestApp, WsEnd, assert_problem, fresh_database_url};

/// A TCP proxy that can cut every connection and refuse new ones, like a
/// database host that went away, and then let them through again.
struct TcpProxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl TcpProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cut = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let (cut2, connections2) = (Arc::clone(&cut), Arc::clone(&connections));
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if cut2.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections2.lock().expect("lock").push(task.abort_handle());
            }
        });
        Self {
            addr,
            cut,
            connections,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for task in self.connections.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    fn resume(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// `host:port` of a `postgres://user:pass@host:port/db` URL.
fn host_port(url: &str) -> String {
    let after_at = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
    after_at.split('/').next().unwrap_or_default().to_owned()
}

async fn send(app: &TestApp, token: &str, chat: &str, client_id: &str) -> (u16, Duration) {
    let started = Instant::now();
    let response = app
        .request(Method::POST, &format!("/api/v1/chats/{chat}/messages"))
        .bearer_auth(token)
        .json(&json!({"content": format!("message {client_id}"), "client_id": client_id}))
        .send()
        .await
        .expect("the server answers");
    (response.status().as_u16(), started.elapsed())
}

#[tokio::test]
async fn when_postgresql_goes_away_requests_fail_fast_with_503_and_everything_recovers() {
    let Some(server) = missive_infra::scratch::postgres_test_url() else {
        eprintln!("database failure test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    };
    let database = missive_infra::scratch::create_postgres_database(&server)
        .await
        .expect("database");
    let upstream = host_port(&database);
    let proxy = TcpProxy::start(upstream.clone()).await;
    let proxied = database.replacen(&upstream, &proxy.addr.to_string(), 1);
    let app = TestApp::spawn_on(tempfile::tempdir().expect("dir"), proxied, |s| {
        s.database.acquire_timeout_secs = 1;
        s.database.max_connections = 4;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let mut ws = app.ws(&ada).await;
    let group = app.group(&ada, &[]).await;
    ws.next_of("chat.created").await;
    let mut acked: HashSet<String> = HashSet::new();
    for i in 0..3 {
        let client_id = format!("c{i}");
        assert_eq!(send(&app, &ada.token, &group, &client_id).await.0, 201);
        acked.insert(client_id);
    }

    proxy.cut();

    let mut failed = Vec::new();
    for i in 3..6 {
        let client_id = format!("c{i}");
        let (status, took) = send(&app, &ada.token, &group, &client_id).await;
        assert!(took < Duration::from_secs(5), "fails fast: {took:?}");
        if (200..300).contains(&status) {
            acked.insert(client_id);
        } else {
            assert_eq!(status, 503, "unavailable, never a 500");
            failed.push(client_id);
        }
    }
    assert!(!failed.is_empty());
    let ready = app
        .request(Method::GET, "/health/ready")
        .send()
        .await
        .expect("request");
    assert_problem(ready, 503, "unavailable").await;
    let live = app
        .request(Method::GET, "/health/live")
        .send()
        .await
        .expect("request");
    assert_eq!(live.status(), 200, "the process stays up");

    proxy.resume();

    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = app
            .request(Method::GET, "/health/ready")
            .send()
            .await
            .expect("request");
        if ready.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "recovers by itself");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Retrying the failed sends with their client ids stores each once.
    for client_id in failed {
        let (status, _) = send(&app, &ada.token, &group, &client_id).await;
        assert!(status == 201 || status == 200, "{status}");
        acked.insert(client_id);
    }
    assert_eq!(send(&app, &ada.token, &group, "after").await.0, 201);
    acked.insert("after".into());

    let history = app
        .get_json(
            &format!("/api/v1/chats/{group}/messages?limit=200"),
            &ada.token,
        )
        .await;
    let items = history["items"].as_array().expect("items");
    let mut per_client: HashMap<String, usize> = HashMap::new();
    for (i, message) in items.iter().enumerate() {
        assert_eq!(message["seq"], i as i64 + 1, "gap-free");
        *per_client
            .entry(message["client_id"].as_str().expect("client id").to_owned())
            .or_default() += 1;
    }
    assert!(
        per_client.values().all(|n| *n == 1),
        "exactly once: {per_client:?}"
    );
    assert_eq!(per_client.keys().cloned().collect::<HashSet<_>>(), acked);

    // Real-time delivery recovered too (the LISTEN connection reconnected).
    let last_seq = items.len() as i64;
    loop {
        let event = ws.next_of("message.created").await;
        if event["message"]["seq"] == last_seq {
            break;
        }
    }
}

#[tokio::test]
async fn sigterm_during_sends_loses_no_acknowledged_message_closes_sockets_with_1001_and_exits_0() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path()).await;
    let mut served = Served::start(&[
        ("MISSIVE__DATABASE__URL", &url),
        ("MISSIVE__RATE_LIMIT__ENABLED", "false"),
    ]);
    let addr = served.addr;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "ada@example.org", "password": "correct horse", "full_name": "Ada"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = registered["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let chat: Value = client
        .post(format!("{base}/api/v1/chats"))
        .bearer_auth(&token)
        .json(&json!({"kind": "group", "title": "T"}))
        .send()
        .await
        .expect("chat")
        .json()
        .await
        .expect("json");
    let chat_id = chat["id"].as_str().expect("id").to_owned();
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws?access_token={token}"))
            .await
            .expect("ws");

    let sender = {
        let (client, base, token, chat_id) =
            (client.clone(), base.clone(), token.clone(), chat_id.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..10_000 {
                let response = client
                    .post(format!("{base}/api/v1/chats/{chat_id}/messages"))
                    .bearer_auth(&token)
                    .json(&json!({"content": format!("m{i}"), "client_id": format!("c{i}")}))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let message: Value = r.json().await.expect("json");
                        acknowledged.push(message["id"].as_str().expect("id").to_owned());
                    }
                    _ => break,
                }
            }
            acknowledged
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(served.child.id().to_string())
        .status()
        .expect("kill");
    assert!(killed.success());

    let acknowledged = sender.await.expect("sender");
    assert!(
        !acknowledged.is_empty(),
        "some sends happened before SIGTERM"
    );
    let mut close = None;
    while close.is_none() {
        use futures::StreamExt;
        match tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closes in time")
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame)))) => {
                close = Some(u16::from(frame.code))
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    assert_eq!(close.map(WsEnd::Closed), Some(WsEnd::Closed(1001)));
    let status = served.child.wait().expect("exit");
    assert_eq!(status.code(), Some(0));

    // Every acknowledged message is stored.
    let app = TestApp::spawn_on(dir, url, |_| {}).await;
    let mut stored = HashSet::new();
    let mut after = 0;
    loop {
        let page = app
            .get_json(
                &format!("/api/v1/chats/{chat_id}/messages?limit=200&after_seq={after}"),
                &token,
            )
            .await;
        for message in page["items"].as_array().expect("items") {
            after = message["seq"].as_i64().expect("seq");
            stored.insert(message["id"].as_str().expect("id").to_owned());
        }
        if !page["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged message {id} was lost");
    }
}
