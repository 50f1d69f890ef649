//! Threads over REST and WebSocket (SPEC §4.6).

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, error_fields};

impl TestApp {
    async fn reply(&self, sender: &TestUser, chat: &str, to: &Value, content: &str) -> Value {
        let response = self
            .post_json(
                &format!("/api/v1/chats/{chat}/messages"),
                Some(&sender.token),
                &json!({"content": content, "reply_to": to["id"]}),
            )
            .await;
        assert_eq!(response.status(), 201, "reply");
        response.json().await.expect("json")
    }
}

fn id(message: &Value) -> &str {
    message["id"].as_str().expect("id")
}

#[tokio::test]
async fn replies_join_the_root_thread_keep_their_seq_and_the_root_sums_them_up_live() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let root = app.send(&ada, &group, "shall we?").await;
    assert_eq!(root["thread"], Value::Null);
    let mut ada_ws = app.ws(&ada).await;

    let first = app.reply(&bob, &group, &root, "yes").await;
    assert_eq!(first["thread_root_id"], root["id"]);
    assert_eq!(first["seq"], 2);
    // The reply's message.created (after the root's, which a connection
    // this recent may get too), then the root's summary.
    while ada_ws.next_of("message.created").await["message"]["id"] != first["id"] {}
    let updated = ada_ws.next_event().await;
    assert_eq!(
        updated,
        json!({
            "type": "thread.updated",
            "chat_id": group,
            "root_id": root["id"],
            "thread": {
                "reply_count": 1,
                "last_reply_at": first["created_at"],
                "last_reply_seq": 2,
                "participant_ids": [bob.id],
            },
        })
    );

    app.send(&ada, &group, "in the main flow").await;
    // A reply to a reply joins the same root.
    let second = app.reply(&ada, &group, &first, "when?").await;
    assert_eq!(second["reply_to"], first["id"]);
    assert_eq!(second["thread_root_id"], root["id"]);
    let updated = ada_ws.next_of("thread.updated").await;
    assert_eq!(updated["thread"]["reply_count"], 2);
    let fetched = app
        .get_json(&format!("/api/v1/messages/{}", id(&root)), &bob.token)
        .await;
    assert_eq!(fetched["thread"]["reply_count"], 2);
    assert_eq!(fetched["thread"]["last_reply_seq"], 4);
    assert_eq!(
        fetched["thread"]["participant_ids"],
        json!([bob.id, ada.id])
    );

    let replies_path = format!("/api/v1/messages/{}/replies", id(&root));
    let all = app.get_json(&replies_path, &bob.token).await;
    let seqs: Vec<&Value> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| &m["seq"])
        .collect();
    assert_eq!(seqs, [&json!(2), &json!(4)]);
    assert_eq!(all["has_more"], false);
    let newest = app
        .get_json(&format!("{replies_path}?limit=1"), &bob.token)
        .await;
    assert_eq!(
        (&newest["items"][0]["seq"], &newest["has_more"]),
        (&json!(4), &json!(true))
    );
    let older = app
        .get_json(&format!("{replies_path}?limit=1&before_seq=4"), &bob.token)
        .await;
    assert_eq!(older["items"][0]["id"], first["id"]);
    let problem = assert_problem(
        app.get(
            &format!("{replies_path}?before_seq=4&after_seq=1"),
            &bob.token,
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["before_seq", "after_seq"]);
    assert_problem(app.get(&replies_path, &eve.token).await, 404, "not_found").await;

    // Deleting a reply keeps the count of live replies right.
    assert_eq!(
        app.delete(&format!("/api/v1/messages/{}", id(&second)), &ada.token)
            .await
            .status(),
        204
    );
    let updated = ada_ws.next_of("thread.updated").await;
    assert_eq!(updated["thread"]["reply_count"], 1);
    assert_eq!(updated["thread"]["last_reply_seq"], 2);
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &ada.token)
        .await;
    assert_eq!(history["items"][0]["thread"]["reply_count"], 1);
}

#[tokio::test]
async fn a_websocket_send_can_reply_and_a_reply_elsewhere_is_refused() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let other = app.group(&ada, &[]).await;
    let root = app.send(&ada, &group, "root").await;
    let mut ws = app.ws(&ada).await;

    ws.send(json!({"type": "message.send", "ref": 1, "chat_id": group, "content": "via ws", "reply_to": root["id"]}))
        .await;
    let ack = ws.next_of("ack").await;
    assert_eq!(ack["message"]["thread_root_id"], root["id"]);
    let updated = ws.next_of("thread.updated").await;
    assert_eq!(updated["thread"]["reply_count"], 1);

    let response = app
        .post_json(
            &format!("/api/v1/chats/{other}/messages"),
            Some(&ada.token),
            &json!({"content": "wrong chat", "reply_to": root["id"]}),
        )
        .await;
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["reply_to"]);
}
