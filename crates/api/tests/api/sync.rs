//! `GET /sync` and WebSocket resume (SPEC §4.8): every change, exactly
//! once, in commit order; tokens that survive reconnects; expiry.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, WsEnd, assert_problem, error_fields};

impl TestApp {
    /// `GET /sync?since=` as `user`, every page; the changes and the token
    /// to resume from.
    async fn sync_all(&self, user: &TestUser, since: &str, limit: u32) -> (Vec<Value>, String) {
        self.settle().await;
        let mut changes = Vec::new();
        let mut token = since.to_owned();
        loop {
            let page = self
                .get_json(
                    &format!("/api/v1/sync?since={token}&limit={limit}"),
                    &user.token,
                )
                .await;
            changes.extend(page["changes"].as_array().expect("changes").iter().cloned());
            token = page["next_token"].as_str().expect("token").to_owned();
            if page["has_more"] == false {
                return (changes, token);
            }
        }
    }

    async fn sync_now(&self, user: &TestUser) -> String {
        // On PostgreSQL the position "now" trails the changes committed
        // while any transaction of the cluster (another test's) is still
        // running, and those changes are read again after it; settled
        // first, the token is past everything this test did so far.
        self.settle().await;
        let page = self.get_json("/api/v1/sync", &user.token).await;
        assert_eq!(page["changes"], json!([]));
        assert_eq!(page["has_more"], false);
        page["next_token"].as_str().expect("token").to_owned()
    }

    async fn call(&self, method: Method, path: &str, user: &TestUser, body: Value) -> u16 {
        self.send_json(method, path, &user.token, &body)
            .await
            .status()
            .as_u16()
    }
}

fn types(changes: &[Value]) -> Vec<&str> {
    changes
        .iter()
        .map(|c| c["type"].as_str().expect("type"))
        .collect()
}

/// Tokens are opaque, but every change has one and they never repeat.
fn assert_tokens_distinct(changes: &[Value]) {
    let mut seen = std::collections::HashSet::new();
    for change in changes {
        let token = change["token"].as_str().expect("every change has a token");
        assert!(seen.insert(token.to_owned()), "token {token} repeated");
    }
}

#[tokio::test]
async fn sync_replays_every_kind_of_change_in_order_compacted_to_the_state_now() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let since = app.sync_now(&bob).await;

    let first = app.send(&ada, &group, "first").await;
    let first_path = format!("/api/v1/messages/{}", first["id"].as_str().expect("id"));
    for content in ["second draft", "final"] {
        assert_eq!(
            app.call(
                Method::PATCH,
                &first_path,
                &ada,
                json!({"content": content})
            )
            .await,
            200
        );
    }
    let doomed = app.send(&ada, &group, "doomed").await;
    let thumbs = format!("{first_path}/reactions/%F0%9F%91%8D");
    assert_eq!(app.call(Method::PUT, &thumbs, &bob, json!({})).await, 200);
    let pin = format!(
        "/api/v1/chats/{group}/pins/{}",
        first["id"].as_str().expect("id")
    );
    assert_eq!(app.call(Method::PUT, &pin, &ada, json!({})).await, 200);
    let read = format!("/api/v1/chats/{group}/read");
    assert_eq!(
        app.call(Method::POST, &read, &bob, json!({"seq": 2})).await,
        200
    );
    let chat = format!("/api/v1/chats/{group}");
    assert_eq!(
        app.call(Method::PATCH, &chat, &ada, json!({"title": "Renamed"}))
            .await,
        200
    );
    let members = format!("/api/v1/chats/{group}/members");
    assert_eq!(
        app.call(Method::POST, &members, &ada, json!({"user_id": cy.id}))
            .await,
        200
    );
    let cy_path = format!("{members}/{}", cy.id);
    assert_eq!(
        app.call(Method::DELETE, &cy_path, &ada, json!({})).await,
        204
    );
    let doomed_path = format!("/api/v1/messages/{}", doomed["id"].as_str().expect("id"));
    assert_eq!(app.delete(&doomed_path, &ada.token).await.status(), 204);

    let (changes, next) = app.sync_all(&bob, &since, 100).await;
    assert_eq!(
        types(&changes),
        [
            "message.created",
            "message.deleted",
            "reaction.added",
            "message.pinned",
            "chat.read",
            "chat.updated",
            "member.added",
            "chat.read",
            "member.removed",
        ],
        "{changes:#?}"
    );
    assert_tokens_distinct(&changes);
    assert_eq!(
        changes[0]["message"]["content"], "final",
        "three edits, one event"
    );
    assert_eq!(
        changes[0]["message"]["reactions"],
        json!([]),
        "reactions follow"
    );
    assert_eq!(changes[1]["message"]["id"], doomed["id"]);
    assert_eq!(
        changes[1]["message"]["deleted"], true,
        "created, then deleted: the tombstone"
    );
    assert_eq!(changes[2]["count"], 1);
    assert_eq!(changes[2]["user_id"], bob.id.as_str());
    assert_eq!(changes[4]["last_read_seq"], 2);
    assert_eq!(changes[5]["chat"]["title"], "Renamed");
    assert_eq!(
        changes[7]["user_id"],
        cy.id.as_str(),
        "a newcomer starts with history read"
    );
    assert_eq!(changes[7]["last_read_seq"], 2);
    assert_eq!(changes[8]["user_id"], cy.id.as_str());

    // Nothing twice: from the token answered, nothing is left.
    let (again, same) = app.sync_all(&bob, &next, 100).await;
    assert_eq!(again, Vec::<Value>::new());
    assert!(!same.is_empty());

    // Small pages carry the same changes; they only merge less (each
    // page is rendered on its own, so an edit in a later page is its own
    // message.updated — with the same state).
    let (paged, _) = app.sync_all(&bob, &since, 1).await;
    for change in &changes {
        assert!(paged.contains(change), "{change} missing from pages");
    }
    assert_tokens_distinct(&paged);
}

#[tokio::test]
async fn a_user_sees_only_their_chats_their_own_removal_and_deletions_of_chats_they_were_in() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let other = app.group(&ada, &[&bob]).await;
    let (bob_since, eve_since) = (app.sync_now(&bob).await, app.sync_now(&eve).await);

    app.send(&ada, &group, "before").await;
    let bob_path = format!("/api/v1/chats/{group}/members/{}", bob.id);
    assert_eq!(app.delete(&bob_path, &ada.token).await.status(), 204);
    app.send(&ada, &group, "after bob left").await;
    assert_eq!(
        app.delete(&format!("/api/v1/chats/{other}"), &ada.token)
            .await
            .status(),
        204
    );

    let (bob_changes, _) = app.sync_all(&bob, &bob_since, 100).await;
    // The chat bob left is no longer his to read: only his removal; the
    // deleted chat: only its deletion.
    assert_eq!(
        bob_changes
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.as_object_mut().expect("object").remove("token");
                c
            })
            .collect::<Vec<_>>(),
        [
            json!({"type": "member.removed", "chat_id": group, "user_id": bob.id}),
            json!({"type": "chat.deleted", "chat_id": other}),
        ]
    );
    let (eve_changes, _) = app.sync_all(&eve, &eve_since, 100).await;
    assert_eq!(eve_changes, Vec::<Value>::new(), "a stranger sees nothing");
}

#[tokio::test]
async fn bad_tokens_and_limits_are_422_and_foreign_or_pruned_tokens_410() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    for query in [
        "since=nonsense",
        "since=s1_",
        "limit=0",
        "limit=1001",
        "limit=x",
    ] {
        let response = app.get(&format!("/api/v1/sync?{query}"), &ada.token).await;
        let status = response.status().as_u16();
        if query == "limit=x" {
            assert_eq!(status, 400, "{query}");
            continue;
        }
        let problem = assert_problem(response, 422, "validation_failed").await;
        let field = query.split('=').next().expect("field");
        assert_eq!(error_fields(&problem), [field], "{query}");
    }
    // A position this server never reached (another database's token).
    let future = app
        .get("/api/v1/sync?since=s7fffffffffff_0", &ada.token)
        .await;
    assert_problem(future, 410, "sync_expired").await;
    // On the WebSocket that is found during the replay: 4010.
    let mut foreign = app
        .ws_attempt(
            "?since=s7fffffffffff_0",
            &[("authorization", &format!("Bearer {}", ada.token))],
        )
        .await
        .expect("upgraded");
    assert_eq!(foreign.next_event().await["type"], "ready");
    assert_eq!(foreign.end().await, WsEnd::Closed(4010));

    // Pruned: the floor moved past the token.
    let since = app.sync_now(&ada).await;
    let group = app.group(&ada, &[]).await;
    app.send(&ada, &group, "soon pruned").await;
    prune_everything(&app).await;
    let gone = app
        .get(&format!("/api/v1/sync?since={since}"), &ada.token)
        .await;
    assert_problem(gone, 410, "sync_expired").await;
    let refused = app
        .ws_attempt(
            &format!("?since={since}"),
            &[("authorization", &format!("Bearer {}", ada.token))],
        )
        .await;
    assert_eq!(refused.err().map(|(status, _)| status), Some(410));
    // A fresh token works again.
    let fresh = app.sync_now(&ada).await;
    let (changes, _) = app.sync_all(&ada, &fresh, 10).await;
    assert!(changes.is_empty());
}

/// Prunes the whole log of `app`'s database, as the retention job does
/// for changes older than `sync.retention_days`.
async fn prune_everything(app: &TestApp) {
    use missive_domain::ports::ChangeLog;
    let database = missive_infra::Database::connect(&missive_infra::DatabaseOptions {
        url: app.database_url.clone(),
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(5),
        statement_timeout: None,
    })
    .await
    .expect("database");
    let log = missive_infra::SeaChangeLog::new(&database);
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let pruned = log.prune(tomorrow, 10_000).await.expect("prune");
    assert!(pruned > 0);
    assert!(log.floor().await.expect("floor") > Default::default());
}

#[tokio::test]
async fn a_websocket_resumes_from_its_last_token_with_no_gap_and_no_duplicate() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut bob_ws = app.ws(&bob).await;
    let first = app.send(&ada, &group, "first").await;
    // (The chat's creation may come first: it is after the position this
    // connection started from when the log's horizon was held back.)
    let event = loop {
        let event = bob_ws.next_raw_event().await;
        if event["type"] == "message.created" {
            break event;
        }
    };
    assert_eq!(event["message"]["id"], first["id"]);
    let token = event["token"]
        .as_str()
        .expect("live events carry a token")
        .to_owned();
    drop(bob_ws);

    // Missed while away.
    let missed = app.send(&ada, &group, "missed").await;
    let first_path = format!("/api/v1/messages/{}", first["id"].as_str().expect("id"));
    assert_eq!(
        app.call(
            Method::PATCH,
            &first_path,
            &ada,
            json!({"content": "edited while away"})
        )
        .await,
        200
    );

    // Reconnect while ada keeps sending: the replay and the live tail
    // meet without a gap or a duplicate.
    let sender = {
        let (client, addr, token, group) = (
            app.client.clone(),
            app.url(""),
            ada.token.clone(),
            group.clone(),
        );
        tokio::spawn(async move {
            for n in 0..40 {
                let response = client
                    .post(format!("{addr}/api/v1/chats/{group}/messages"))
                    .bearer_auth(&token)
                    .json(&json!({"content": format!("during {n}")}))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(response.status(), 201);
            }
        })
    };
    let authorization = format!("Bearer {}", bob.token);
    let mut resumed = app
        .ws_attempt(
            &format!("?since={token}"),
            &[("authorization", &authorization)],
        )
        .await
        .expect("resume");
    let ready = resumed.next_raw_event().await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready.get("token"), None, "with since, synced carries it");
    sender.await.expect("sender");
    let mut created: BTreeMap<i64, usize> = BTreeMap::new();
    let mut updated = Vec::new();
    let mut synced = None;
    let mut last_token = token.clone();
    while created.len() < 41 {
        let event = resumed.next_raw_event().await;
        match event["type"].as_str().expect("type") {
            "message.created" => {
                *created
                    .entry(event["message"]["seq"].as_i64().expect("seq"))
                    .or_default() += 1;
            }
            "message.updated" => updated.push(event["message"]["content"].clone()),
            "synced" => synced = Some(event["token"].clone()),
            other => panic!("unexpected {other}: {event}"),
        }
        if let Some(token) = event["token"].as_str() {
            last_token = token.to_owned();
        }
    }
    assert_eq!(
        created.keys().copied().collect::<Vec<_>>(),
        (2..=42).collect::<Vec<_>>()
    );
    assert!(
        created.values().all(|n| *n == 1),
        "no duplicate: {created:?}"
    );
    assert_eq!(
        created.keys().next(),
        Some(&missed["seq"].as_i64().expect("seq"))
    );
    assert_eq!(updated, [json!("edited while away")]);
    assert!(synced.is_some(), "the seam is marked");
    resumed.assert_silent(300).await;

    // The last token resumes to nothing new.
    let (rest, _) = app.sync_all(&bob, &last_token, 100).await;
    assert!(
        rest.iter().all(|c| c["type"] != "message.created"),
        "{rest:?}"
    );
}
