//! Reactions and pins over REST and WebSocket (SPEC §4.6).

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, error_fields};

const THUMBS: &str = "%F0%9F%91%8D"; // 👍

impl TestApp {
    async fn react(&self, user: &TestUser, message: &Value, reaction: &str) -> reqwest::Response {
        self.request(Method::PUT, &reaction_path(message, reaction))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("request")
    }

    async fn pin(&self, user: &TestUser, chat: &str, message: &Value) -> reqwest::Response {
        self.request(Method::PUT, &pin_path(chat, message))
            .bearer_auth(&user.token)
            .send()
            .await
            .expect("request")
    }
}

fn reaction_path(message: &Value, reaction: &str) -> String {
    format!(
        "/api/v1/messages/{}/reactions/{reaction}",
        message["id"].as_str().expect("id")
    )
}

fn pin_path(chat: &str, message: &Value) -> String {
    format!(
        "/api/v1/chats/{chat}/pins/{}",
        message["id"].as_str().expect("id")
    )
}

fn message_path(message: &Value) -> String {
    format!("/api/v1/messages/{}", message["id"].as_str().expect("id"))
}

#[tokio::test]
async fn members_react_once_each_and_every_view_counts_them_with_me_per_reader() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let message = app.send(&ada, &group, "react to me").await;
    assert_eq!(message["reactions"], json!([]));

    let first = app.react(&bob, &message, THUMBS).await;
    assert_eq!(first.status(), 200);
    let answered: Value = first.json().await.expect("json");
    assert_eq!(
        answered["reactions"],
        json!([{"reaction": "👍", "count": 1, "me": true}])
    );
    let again = app.react(&bob, &message, THUMBS).await;
    assert_eq!(again.status(), 200, "idempotent");
    assert_eq!(app.react(&ada, &message, ":tada:").await.status(), 200);
    assert_eq!(app.react(&ada, &message, THUMBS).await.status(), 200);

    let expected_for_ada = json!([
        {"reaction": "👍", "count": 2, "me": true},
        {"reaction": ":tada:", "count": 1, "me": true},
    ]);
    let fetched = app.get_json(&message_path(&message), &ada.token).await;
    assert_eq!(fetched["reactions"], expected_for_ada);
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &bob.token)
        .await;
    assert_eq!(
        history["items"][0]["reactions"],
        json!([
            {"reaction": "👍", "count": 2, "me": true},
            {"reaction": ":tada:", "count": 1, "me": false},
        ])
    );
    let found = app
        .get_json(&format!("/api/v1/messages?chat_id={group}"), &ada.token)
        .await;
    assert_eq!(found["items"][0]["reactions"], expected_for_ada);

    let reactors = app
        .get_json(&reaction_path(&message, THUMBS), &ada.token)
        .await;
    let order: Vec<&str> = reactors["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["user_id"].as_str().expect("user"))
        .collect();
    assert_eq!(
        order,
        [bob.id.as_str(), ada.id.as_str()],
        "in reacting order"
    );
    let first_page = app
        .get_json(
            &format!("{}?limit=1", reaction_path(&message, THUMBS)),
            &ada.token,
        )
        .await;
    let cursor = first_page["next_cursor"].as_str().expect("more");
    let second_page = app
        .get_json(
            &format!(
                "{}?limit=1&cursor={cursor}",
                reaction_path(&message, THUMBS)
            ),
            &ada.token,
        )
        .await;
    assert_eq!(second_page["items"][0]["user_id"], ada.id.as_str());
    assert_eq!(second_page["next_cursor"], Value::Null);

    for _ in 0..2 {
        let removed = app
            .delete(&reaction_path(&message, THUMBS), &bob.token)
            .await;
        assert_eq!(removed.status(), 204, "idempotent");
    }
    let fetched = app.get_json(&message_path(&message), &bob.token).await;
    // The order is that of the earliest reaction still there: 👍 is now
    // only Ada's, added after her :tada:.
    assert_eq!(
        fetched["reactions"],
        json!([
            {"reaction": ":tada:", "count": 1, "me": false},
            {"reaction": "👍", "count": 1, "me": false},
        ])
    );
}

#[tokio::test]
async fn reactions_and_their_removal_reach_every_member_live_and_nobody_else() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let message = app.send(&ada, &group, "hello").await;
    let mut ada_ws = app.ws(&ada).await;
    let mut eve_ws = app.ws(&eve).await;

    assert_eq!(app.react(&bob, &message, ":+1:").await.status(), 200);
    let added = ada_ws.next_of("reaction.added").await;
    assert_eq!(
        added,
        json!({
            "type": "reaction.added",
            "chat_id": group,
            "message_id": message["id"],
            "seq": message["seq"],
            "reaction": ":+1:",
            "user_id": bob.id,
            "count": 1,
        })
    );
    // A repeat changes nothing and announces nothing.
    assert_eq!(app.react(&bob, &message, ":+1:").await.status(), 200);
    assert_eq!(
        app.delete(&reaction_path(&message, ":+1:"), &bob.token)
            .await
            .status(),
        204
    );
    let removed = ada_ws.next_event().await;
    assert_eq!(removed["type"], "reaction.removed");
    assert_eq!(removed["user_id"], bob.id.as_str());
    assert_eq!(
        removed["count"], 0,
        "the count now, so replays are harmless"
    );
    eve_ws.assert_silent(300).await;
}

#[tokio::test]
async fn bad_reactions_strangers_and_tombstones_are_refused_like_everywhere_else() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[]).await;
    let message = app.send(&ada, &group, "hello").await;

    for bad in ["ok", "%20", &"%F0%9F%8E%89".repeat(33), ":no%20space:"] {
        let problem = assert_problem(
            app.react(&ada, &message, bad).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(error_fields(&problem), ["reaction"], "{bad}");
    }
    let problem = assert_problem(
        app.get(
            &format!("{}?limit=0", reaction_path(&message, THUMBS)),
            &ada.token,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["limit"]);
    assert_problem(
        app.get(
            &format!("{}?cursor=nonsense", reaction_path(&message, THUMBS)),
            &ada.token,
        )
        .await,
        400,
        "bad_request",
    )
    .await;

    assert_problem(app.react(&eve, &message, THUMBS).await, 404, "not_found").await;
    assert_problem(
        app.delete(&reaction_path(&message, THUMBS), &eve.token)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&reaction_path(&message, THUMBS), &eve.token).await,
        404,
        "not_found",
    )
    .await;
    let unknown = json!({"id": uuid::Uuid::now_v7()});
    assert_problem(app.react(&ada, &unknown, THUMBS).await, 404, "not_found").await;

    assert_eq!(app.react(&ada, &message, THUMBS).await.status(), 200);
    assert_eq!(
        app.delete(&message_path(&message), &ada.token)
            .await
            .status(),
        204
    );
    assert_problem(
        app.react(&ada, &message, THUMBS).await,
        409,
        "message_deleted",
    )
    .await;
    let tombstone = app.get_json(&message_path(&message), &ada.token).await;
    assert_eq!(
        tombstone["reactions"],
        json!([]),
        "a deleted message loses its reactions"
    );
}

#[tokio::test]
async fn the_fifty_first_distinct_reaction_is_422_and_fifty_members_at_once_all_count() {
    let app = TestApp::spawn_with(|s| s.database.max_connections = 16).await;
    let emails: Vec<String> = (0..50).map(|i| format!("p{i}@example.org")).collect();
    let people: Vec<TestUser> = join_all(emails.iter().map(|e| app.register(e))).await;
    let others: Vec<&TestUser> = people[1..].iter().collect();
    let group = app.group(&people[0], &others).await;
    let message = app.send(&people[0], &group, "everyone react").await;

    let answers = join_all(
        people
            .iter()
            .map(|p| app.react(p, &message, "%F0%9F%94%A5")),
    )
    .await;
    assert!(answers.iter().all(|r| r.status() == 200));
    let fetched = app
        .get_json(&message_path(&message), &people[0].token)
        .await;
    assert_eq!(fetched["reactions"][0]["count"], 50);

    for n in 1..50 {
        let status = app
            .react(&people[0], &message, &format!(":r{n}:"))
            .await
            .status();
        assert_eq!(status, 200);
    }
    let problem = assert_problem(
        app.react(&people[1], &message, ":r50:").await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["reaction"]);
    // One already there is not a new kind.
    assert_eq!(app.react(&people[1], &message, ":r7:").await.status(), 200);
}

#[tokio::test]
async fn owners_and_admins_pin_members_may_not_and_pins_are_listed_newest_first() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let first = app.send(&bob, &group, "first").await;
    let second = app.send(&bob, &group, "second").await;
    assert_eq!(first["pinned"], Value::Null);
    let mut bob_ws = app.ws(&bob).await;

    assert_problem(app.pin(&bob, &group, &first).await, 403, "forbidden").await;
    assert_problem(app.pin(&eve, &group, &first).await, 404, "not_found").await;
    let pinned = app.pin(&ada, &group, &first).await;
    assert_eq!(pinned.status(), 200);
    let pinned: Value = pinned.json().await.expect("json");
    assert_eq!(pinned["pinned"]["by"], ada.id.as_str());
    let event = bob_ws.next_of("message.pinned").await;
    assert_eq!(event["message"]["id"], first["id"]);
    assert_eq!(event["message"]["pinned"]["by"], ada.id.as_str());
    assert_eq!(
        app.pin(&ada, &group, &first).await.status(),
        200,
        "idempotent"
    );
    assert_eq!(app.pin(&ada, &group, &second).await.status(), 200);

    let pins = app
        .get_json(&format!("/api/v1/chats/{group}/pins"), &bob.token)
        .await;
    let order: Vec<&Value> = pins["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(order, [&second["id"], &first["id"]], "newest pin first");
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &bob.token)
        .await;
    assert_eq!(history["items"][0]["pinned"]["by"], ada.id.as_str());
    assert_problem(
        app.get(&format!("/api/v1/chats/{group}/pins"), &eve.token)
            .await,
        404,
        "not_found",
    )
    .await;

    // A message of another chat is not this chat's to pin.
    let elsewhere = app.group(&ada, &[]).await;
    assert_problem(app.pin(&ada, &elsewhere, &first).await, 404, "not_found").await;

    assert_problem(
        app.delete(&pin_path(&group, &first), &bob.token).await,
        403,
        "forbidden",
    )
    .await;
    for _ in 0..2 {
        let unpinned = app.delete(&pin_path(&group, &first), &ada.token).await;
        assert_eq!(unpinned.status(), 204, "idempotent");
    }
    let event = bob_ws.next_of("message.unpinned").await;
    assert_eq!(event["message"]["id"], first["id"]);
    assert_eq!(event["message"]["pinned"], Value::Null);

    // Deleting a message unpins it.
    assert_eq!(
        app.delete(&message_path(&second), &bob.token)
            .await
            .status(),
        204
    );
    let pins = app
        .get_json(&format!("/api/v1/chats/{group}/pins"), &ada.token)
        .await;
    assert_eq!(pins["items"], json!([]));
    assert_problem(app.pin(&ada, &group, &second).await, 409, "message_deleted").await;
}

#[tokio::test]
async fn either_member_of_a_direct_chat_pins_and_a_chat_keeps_fifty_pins_at_most() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let direct = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": "direct", "member_ids": [bob.id]}),
        )
        .await;
    assert_eq!(direct.status(), 201);
    let direct: Value = direct.json().await.expect("json");
    let chat = direct["id"].as_str().expect("id");
    let items: Vec<Value> = (0..51)
        .map(|i| json!({"content": format!("m{i}")}))
        .collect();
    let batch = app
        .post_json(
            &format!("/api/v1/chats/{chat}/messages/batch"),
            Some(&bob.token),
            &json!({"items": items}),
        )
        .await;
    assert_eq!(batch.status(), 201);
    let batch: Value = batch.json().await.expect("json");
    let messages = batch["items"].as_array().expect("items");

    for (i, message) in messages.iter().take(50).enumerate() {
        let pinner = if i % 2 == 0 { &ada } else { &bob };
        assert_eq!(app.pin(pinner, chat, message).await.status(), 200);
    }
    let problem = assert_problem(
        app.pin(&ada, chat, &messages[50]).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["message_id"]);
}
