//! Whole transcripts at once: batch import and export.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, error_fields};

fn turns(range: std::ops::Range<usize>) -> Vec<Value> {
    range
        .map(|i| {
            json!({
                "content": format!("turn {i}"),
                "role": if i % 2 == 0 { "user" } else { "assistant" },
                "client_id": format!("t{i}"),
                "metadata": {"turn": i},
            })
        })
        .collect()
}

#[tokio::test]
async fn a_batch_stores_a_transcript_in_order_once_and_announces_each_message() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut bob_ws = app.ws(&bob).await;
    let path = format!("/api/v1/chats/{group}/messages/batch");

    // ~130 KB: past the ordinary body limit, within the batch limit.
    let items = turns(0..1000);
    let first = app
        .post_json(&path, Some(&ada.token), &json!({ "items": items }))
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    assert_eq!(first["created"], 1000);
    let seqs: Vec<i64> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    assert_eq!(first["items"][1]["role"], "assistant");
    assert_eq!(first["items"][999]["metadata"], json!({"turn": 999}));
    for seq in 1..=1000 {
        let event = bob_ws.next_of("message.created").await;
        assert_eq!(event["message"]["seq"], seq);
    }

    let again = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({ "items": turns(998..1000) }),
        )
        .await;
    assert_eq!(again.status(), 200, "every item stored before");
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["created"], 0);
    assert_eq!(again["items"][0]["seq"], 999);

    let mixed = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({ "items": turns(999..1002) }),
        )
        .await;
    assert_eq!(mixed.status(), 201);
    let mixed: Value = mixed.json().await.expect("json");
    let seqs: Vec<i64> = mixed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, [1000, 1001, 1002]);
    assert_eq!(mixed["created"], 2);
}

#[tokio::test]
async fn a_bad_item_names_its_index_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[]).await;
    let path = format!("/api/v1/chats/{group}/messages/batch");

    let mut items = turns(0..4);
    items[1]["content"] = json!("");
    items[2]["metadata"] = json!([1]);
    let bad = app
        .post_json(&path, Some(&ada.token), &json!({ "items": items }))
        .await;
    let mut fields = error_fields(&assert_problem(bad, 422, "validation_failed").await);
    fields.sort();
    assert_eq!(fields, ["items[1].content", "items[2].metadata"]);
    let mut items = turns(0..4);
    items[3]["role"] = json!("robot");
    items[0]["content"] = json!(7);
    let wrong_types = app
        .post_json(&path, Some(&ada.token), &json!({ "items": items }))
        .await;
    let mut fields = error_fields(&assert_problem(wrong_types, 422, "validation_failed").await);
    fields.sort();
    assert_eq!(fields, ["items[0].content", "items[3].role"]);

    let repeated = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"items": [{"content": "a", "client_id": "x"}, {"content": "b", "client_id": "x"}]}),
        )
        .await;
    assert_eq!(
        error_fields(&assert_problem(repeated, 422, "validation_failed").await),
        ["items[1].client_id"]
    );
    for empty_or_huge in [json!({"items": []}), json!({"items": turns(0..1001)})] {
        let refused = app.post_json(&path, Some(&ada.token), &empty_or_huge).await;
        assert_eq!(
            error_fields(&assert_problem(refused, 422, "validation_failed").await),
            ["items"]
        );
    }
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &ada.token)
        .await;
    assert_eq!(history["items"], json!([]), "nothing stored");

    let stranger = app
        .post_json(&path, Some(&eve.token), &json!({ "items": turns(0..1) }))
        .await;
    assert_problem(stranger, 404, "not_found").await;
}

#[tokio::test]
async fn an_export_streams_every_message_in_order_with_tombstones_and_metadata() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[]).await;
    let batch = format!("/api/v1/chats/{group}/messages/batch");
    let stored: Value = app
        .post_json(
            &batch,
            Some(&ada.token),
            &json!({ "items": turns(0..1000) }),
        )
        .await
        .json()
        .await
        .expect("json");
    let rest = app
        .post_json(
            &batch,
            Some(&ada.token),
            &json!({ "items": turns(1000..1203) }),
        )
        .await;
    assert_eq!(rest.status(), 201);
    let deleted = stored["items"][7]["id"].as_str().expect("id").to_owned();
    app.delete(&format!("/api/v1/messages/{deleted}"), &ada.token)
        .await;

    let response = app
        .get(&format!("/api/v1/chats/{group}/export"), &ada.token)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-ndjson")
    );
    let body = response.text().await.expect("body");
    let lines: Vec<Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON message per line"))
        .collect();
    assert_eq!(lines.len(), 1203, "several pages");
    assert!(body.ends_with('\n'));
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], index + 1);
    }
    assert_eq!(lines[7]["deleted"], true);
    assert_eq!(lines[7]["content"], "");
    assert_eq!(lines[1202]["metadata"], json!({"turn": 1202}));

    let stranger = app
        .get(&format!("/api/v1/chats/{group}/export"), &eve.token)
        .await;
    assert_problem(stranger, 404, "not_found").await;
    let empty = app.group(&ada, &[]).await;
    let nothing = app
        .get(&format!("/api/v1/chats/{empty}/export"), &ada.token)
        .await;
    assert_eq!(nothing.status(), 200);
    assert_eq!(nothing.text().await.expect("body"), "");
}
