//! Mentions over REST and WebSocket (SPEC §4.6).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, error_fields};

impl TestApp {
    async fn send_body(&self, sender: &TestUser, chat: &str, body: Value) -> reqwest::Response {
        self.post_json(
            &format!("/api/v1/chats/{chat}/messages"),
            Some(&sender.token),
            &body,
        )
        .await
    }

    async fn mention_count(&self, user: &TestUser, chat: &str) -> Value {
        self.get_json(&format!("/api/v1/chats/{chat}"), &user.token)
            .await["mention_count"]
            .clone()
    }
}

#[tokio::test]
async fn a_mentioned_member_sees_it_counted_listed_and_cleared_by_reading() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut bob_ws = app.ws(&bob).await;

    let response = app
        .send_body(
            &ada,
            &group,
            json!({"content": "@bob look", "mentions": [bob.id, bob.id]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let sent: Value = response.json().await.expect("json");
    assert_eq!(sent["mentions"], json!([bob.id]), "repeats count once");
    assert_eq!(sent["mention_all"], false);
    let created = bob_ws.next_of("message.created").await;
    assert_eq!(created["message"]["mentions"], json!([bob.id]));

    assert_eq!(app.mention_count(&bob, &group).await, 1);
    assert_eq!(app.mention_count(&ada, &group).await, 0);
    let chats = app.get_json("/api/v1/chats", &bob.token).await;
    assert_eq!(chats["items"][0]["mention_count"], 1);
    let mentions = app.get_json("/api/v1/mentions", &bob.token).await;
    assert_eq!(mentions["items"][0]["id"], sent["id"]);
    assert_eq!(mentions["next_cursor"], Value::Null);
    assert_eq!(
        app.get_json("/api/v1/mentions", &ada.token).await["items"],
        json!([])
    );

    let read = app
        .post_json(
            &format!("/api/v1/chats/{group}/read"),
            Some(&bob.token),
            &json!({"seq": sent["seq"]}),
        )
        .await;
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.expect("json");
    assert_eq!(
        (&read["unread_count"], &read["mention_count"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(app.mention_count(&bob, &group).await, 0);
}

#[tokio::test]
async fn mentions_must_name_members_fifty_at_most_and_everyone_is_for_group_managers() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cat = app.register("cat@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[&bob, &cat]).await;

    let problem = assert_problem(
        app.send_body(
            &ada,
            &group,
            json!({"content": "hi", "mentions": [bob.id, eve.id]}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["mentions"]);
    let many: Vec<String> = (0..51).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let problem = assert_problem(
        app.send_body(&ada, &group, json!({"content": "hi", "mentions": many}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["mentions"]);
    let problem = assert_problem(
        app.send_body(&ada, &group, json!({"content": "hi", "mentions": "bob"}))
            .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["mentions"]);
    assert_problem(
        app.send_body(&eve, &group, json!({"content": "hi", "mentions": [bob.id]}))
            .await,
        404,
        "not_found",
    )
    .await;

    assert_problem(
        app.send_body(
            &bob,
            &group,
            json!({"content": "all!", "mention_all": true}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let everyone = app
        .send_body(
            &ada,
            &group,
            json!({"content": "all!", "mention_all": true}),
        )
        .await;
    assert_eq!(everyone.status(), 201);
    for user in [&bob, &cat] {
        assert_eq!(app.mention_count(user, &group).await, 1);
    }

    let direct = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": "direct", "member_ids": [bob.id]}),
        )
        .await;
    let direct: Value = direct.json().await.expect("json");
    let problem = assert_problem(
        app.send_body(
            &ada,
            direct["id"].as_str().expect("id"),
            json!({"content": "all?", "mention_all": true}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["mention_all"]);
}

#[tokio::test]
async fn the_sender_moves_mentions_by_editing_and_a_websocket_send_mentions_too() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cat = app.register("cat@example.org").await;
    let group = app.group(&ada, &[&bob, &cat]).await;
    let mut ws = app.ws(&ada).await;
    ws.send(json!({"type": "message.send", "ref": 1, "chat_id": group, "content": "@bob", "mentions": [bob.id]}))
        .await;
    let sent = ws.next_of("ack").await["message"].clone();
    assert_eq!(sent["mentions"], json!([bob.id]));
    let path = format!("/api/v1/messages/{}", sent["id"].as_str().expect("id"));

    assert_problem(
        app.send_json(Method::PATCH, &path, &bob.token, &json!({"mentions": []}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let edited = app
        .send_json(
            Method::PATCH,
            &path,
            &ada.token,
            &json!({"mentions": [cat.id]}),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.expect("json");
    assert_eq!(edited["mentions"], json!([cat.id]));
    assert_eq!(app.mention_count(&bob, &group).await, 0);
    assert_eq!(app.mention_count(&cat, &group).await, 1);

    assert_eq!(app.delete(&path, &ada.token).await.status(), 204);
    assert_eq!(app.mention_count(&cat, &group).await, 0);
    assert_eq!(
        app.get_json("/api/v1/mentions", &cat.token).await["items"],
        json!([])
    );
}
