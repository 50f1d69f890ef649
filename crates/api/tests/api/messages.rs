use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, error_fields};

#[tokio::test]
async fn a_sent_message_has_every_field_and_the_next_seq() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let first = app.send(&ada, &group, "first").await;

    let response = app
        .post_json(
            &format!("/api/v1/chats/{group}/messages"),
            Some(&ada.token),
            &json!({
                "content": "  The answer is 42 ✨  ",
                "client_id": "turn-2",
                "role": "assistant",
                "rating": true,
                "sent_at": "2026-01-02T03:04:05.123456Z",
                "reply_to": first["id"],
            }),
        )
        .await;

    assert_eq!(response.status(), 201);
    let message: Value = response.json().await.expect("json");
    assert_eq!(message["seq"], 2);
    assert_eq!(message["chat_id"], group.as_str());
    assert_eq!(message["sender_id"], ada.id.as_str());
    assert_eq!(message["content"], "  The answer is 42 ✨  ");
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["rating"], true);
    assert_eq!(message["client_id"], "turn-2");
    assert_eq!(message["reply_to"], first["id"]);
    assert_eq!(message["sent_at"], "2026-01-02T03:04:05.123456Z");
    assert!(message["edited_at"].is_null());
    assert_eq!(message["deleted"], false);
    assert_eq!(first["role"], "user", "role defaults to user");
    assert_eq!(
        first["sent_at"], first["created_at"],
        "sent_at defaults to server time"
    );

    let fetched = app
        .get_json(
            &format!("/api/v1/messages/{}", message["id"].as_str().expect("id")),
            &ada.token,
        )
        .await;
    assert_eq!(fetched, message);
    let chat = app
        .get_json(&format!("/api/v1/chats/{group}"), &ada.token)
        .await;
    assert_eq!(chat["last_seq"], 2);
    // The chat's preview of its last message leaves out the reactions.
    let mut preview = message.clone();
    preview.as_object_mut().expect("object").remove("reactions");
    assert_eq!(chat["last_message"], preview);
}

#[tokio::test]
async fn resending_a_client_id_returns_200_with_the_original_unchanged() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let path = format!("/api/v1/chats/{group}/messages");

    let first = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"content": "once", "client_id": "abc"}),
        )
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let retry = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"content": "changed", "client_id": "abc"}),
        )
        .await;

    assert_eq!(retry.status(), 200);
    let retry: Value = retry.json().await.expect("json");
    assert_eq!(retry, first);
    let next = app.send(&ada, &group, "next").await;
    assert_eq!(next["seq"], 2, "the retry consumed no seq");
}

#[tokio::test]
async fn invalid_messages_are_422_naming_every_field() {
    let app = TestApp::spawn_with(|s| s.limits.max_message_chars = 10).await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let other_group = app.group(&ada, &[]).await;
    let elsewhere = app.send(&ada, &other_group, "elsewhere").await;
    let path = format!("/api/v1/chats/{group}/messages");

    for (body, fields) in [
        (json!({"content": ""}), vec!["content"]),
        (json!({"content": " \n\t "}), vec!["content"]),
        (json!({"content": "é".repeat(11)}), vec!["content"]),
        (json!({"content": "ok", "client_id": ""}), vec!["client_id"]),
        (
            json!({"content": "ok", "client_id": "k".repeat(65)}),
            vec!["client_id"],
        ),
        (
            json!({"content": "", "client_id": ""}),
            vec!["content", "client_id"],
        ),
        (json!({"content": "ok", "role": "bot"}), vec!["role"]),
        (json!({"content": "ok", "rating": "yes"}), vec!["rating"]),
        (
            json!({"content": "ok", "sent_at": "yesterday"}),
            vec!["sent_at"],
        ),
        (
            json!({"content": "ok", "reply_to": elsewhere["id"]}),
            vec!["reply_to"],
        ),
        (
            json!({"content": "ok", "reply_to": uuid::Uuid::now_v7()}),
            vec!["reply_to"],
        ),
        (json!({"content": 5}), vec!["content"]),
        (json!({}), vec!["content"]),
    ] {
        let response = app.post_json(&path, Some(&ada.token), &body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), fields, "{body}");
    }
    let exactly_ten = app
        .post_json(&path, Some(&ada.token), &json!({"content": "é".repeat(10)}))
        .await;
    assert_eq!(exactly_ten.status(), 201);
}

#[tokio::test]
async fn every_transcript_role_is_stored_and_read_back() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;

    for role in ["user", "assistant", "system", "developer", "tool"] {
        let sent = app
            .post_json(
                &format!("/api/v1/chats/{group}/messages"),
                Some(&ada.token),
                &json!({"content": format!("a {role} turn"), "role": role}),
            )
            .await;
        assert_eq!(sent.status(), 201, "{role}");
        let sent: Value = sent.json().await.expect("json");
        assert_eq!(sent["role"], role);
    }
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &ada.token)
        .await;
    let roles: Vec<&str> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["user", "assistant", "system", "developer", "tool"]);
}

#[tokio::test]
async fn history_pages_back_and_forward_with_has_more() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    for i in 1..=7 {
        app.send(&ada, &group, &format!("m{i}")).await;
    }
    let page = |query: &str| {
        let app = &app;
        let path = format!("/api/v1/chats/{group}/messages{query}");
        let token = ada.token.clone();
        async move {
            let page = app.get_json(&path, &token).await;
            let seqs: Vec<i64> = page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|m| m["seq"].as_i64().expect("seq"))
                .collect();
            (seqs, page["has_more"].as_bool().expect("has_more"))
        }
    };

    assert_eq!(page("").await, ((1..=7).collect(), false));
    assert_eq!(page("?limit=3").await, (vec![5, 6, 7], true));
    assert_eq!(page("?limit=3&before_seq=5").await, (vec![2, 3, 4], true));
    assert_eq!(page("?limit=3&before_seq=2").await, (vec![1], false));
    assert_eq!(page("?limit=3&after_seq=0").await, (vec![1, 2, 3], true));
    assert_eq!(page("?limit=3&after_seq=4").await, (vec![5, 6, 7], false));
    assert_eq!(page("?after_seq=7").await, (vec![], false));
    assert_eq!(page("?limit=200").await.0.len(), 7);

    for bad in [
        "?limit=0",
        "?limit=201",
        "?limit=-1",
        "?before_seq=3&after_seq=1",
        "?before_seq=-2",
    ] {
        let response = app
            .get(&format!("/api/v1/chats/{group}/messages{bad}"), &ada.token)
            .await;
        assert_problem(response, 422, "validation_failed").await;
    }
    let unparsable = app
        .get(
            &format!("/api/v1/chats/{group}/messages?after_seq=abc"),
            &ada.token,
        )
        .await;
    assert_problem(unparsable, 400, "bad_request").await;

    // offset: positions from the end, then the newest `limit`.
    assert_eq!(page("?limit=3&offset=0").await, (vec![5, 6, 7], true));
    assert_eq!(page("?limit=3&offset=3").await, (vec![2, 3, 4], true));
    assert_eq!(page("?limit=3&offset=6").await, (vec![1], false));
    assert_eq!(page("?limit=3&offset=99").await, (vec![], false));
    assert_eq!(
        page("?limit=3&offset=3&unknown=1").await,
        (vec![2, 3, 4], true),
        "unknown parameters are ignored"
    );
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let (seqs, has_more) = page(&format!("?limit=2&offset={offset}")).await;
        offset += 2;
        seen.splice(0..0, seqs);
        if !has_more {
            break;
        }
    }
    assert_eq!(
        seen,
        (1..=7).collect::<Vec<_>>(),
        "an offset loop ends, with everything"
    );
    let both = app
        .get(
            &format!("/api/v1/chats/{group}/messages?offset=1&before_seq=3&limit=0"),
            &ada.token,
        )
        .await;
    let problem = assert_problem(both, 422, "validation_failed").await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["before_seq", "limit", "offset"]);
    let negative = app
        .get(
            &format!("/api/v1/chats/{group}/messages?offset=-1"),
            &ada.token,
        )
        .await;
    assert_eq!(
        error_fields(&assert_problem(negative, 422, "validation_failed").await),
        ["offset"]
    );
}

#[tokio::test]
async fn only_the_sender_edits_content_and_anyone_in_the_chat_rates() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let message = app.send(&bob, &group, "draft").await;
    let path = format!("/api/v1/messages/{}", message["id"].as_str().expect("id"));

    let by_owner = app
        .send_json(
            Method::PATCH,
            &path,
            &ada.token,
            &json!({"content": "hijacked"}),
        )
        .await;
    assert_problem(by_owner, 403, "forbidden").await;

    let rated = app
        .send_json(Method::PATCH, &path, &ada.token, &json!({"rating": false}))
        .await;
    assert_eq!(rated.status(), 200);
    let rated: Value = rated.json().await.expect("json");
    assert_eq!(
        (rated["rating"].clone(), rated["edited_at"].clone()),
        (json!(false), Value::Null)
    );

    let edited: Value = app
        .send_json(
            Method::PATCH,
            &path,
            &bob.token,
            &json!({"content": "final"}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(edited["content"], "final");
    assert!(edited["edited_at"].is_string());
    assert_eq!(edited["rating"], false, "the rating is kept");

    let cleared: Value = app
        .send_json(Method::PATCH, &path, &bob.token, &json!({"rating": null}))
        .await
        .json()
        .await
        .expect("json");
    assert!(cleared["rating"].is_null());

    let empty = app
        .send_json(Method::PATCH, &path, &bob.token, &json!({}))
        .await;
    assert_problem(empty, 422, "validation_failed").await;
    let blank = app
        .send_json(Method::PATCH, &path, &bob.token, &json!({"content": "  "}))
        .await;
    assert_eq!(
        error_fields(&assert_problem(blank, 422, "validation_failed").await),
        ["content"]
    );
}

#[tokio::test]
async fn deleting_leaves_a_tombstone_in_the_sequence() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let group = app.group(&ada, &[&bob, &cy]).await;
    let bobs = app.send(&bob, &group, "oops").await;
    let cys = app.send(&cy, &group, "hello").await;
    let path = |m: &Value| format!("/api/v1/messages/{}", m["id"].as_str().expect("id"));

    assert_problem(app.delete(&path(&cys), &bob.token).await, 403, "forbidden").await;
    assert_eq!(app.delete(&path(&bobs), &bob.token).await.status(), 204);
    assert_eq!(
        app.delete(&path(&bobs), &bob.token).await.status(),
        204,
        "idempotent"
    );
    assert_eq!(
        app.delete(&path(&cys), &ada.token).await.status(),
        204,
        "the owner moderates"
    );

    let tombstone = app.get_json(&path(&bobs), &cy.token).await;
    assert_eq!(
        (
            tombstone["deleted"].clone(),
            tombstone["content"].clone(),
            tombstone["seq"].clone()
        ),
        (json!(true), json!(""), json!(1))
    );
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &ada.token)
        .await;
    let seqs: Vec<(i64, bool)> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| {
            (
                m["seq"].as_i64().expect("seq"),
                m["deleted"].as_bool().expect("deleted"),
            )
        })
        .collect();
    assert_eq!(seqs, [(1, true), (2, true)]);
    let edit = app
        .send_json(
            Method::PATCH,
            &path(&bobs),
            &bob.token,
            &json!({"content": "back"}),
        )
        .await;
    assert_problem(edit, 409, "message_deleted").await;
    let next = app.send(&bob, &group, "again").await;
    assert_eq!(next["seq"], 3);
    let chat = app
        .get_json(&format!("/api/v1/chats/{group}"), &ada.token)
        .await;
    assert_eq!(chat["unread_count"], 1, "deleted messages are not unread");
}

#[tokio::test]
async fn search_finds_every_word_in_the_callers_chats_newest_first() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let shared = app.group(&ada, &[&bob]).await;
    let private = app.group(&eve, &[]).await;
    let old = app.send(&ada, &shared, "Deploy the ROCKET today").await;
    app.send(&bob, &shared, "rocket only").await;
    let new = app.send(&bob, &shared, "today: rocket deploy").await;
    let gone = app.send(&bob, &shared, "rocket today, deleted").await;
    app.send(&eve, &private, "rocket today in private").await;
    app.delete(
        &format!("/api/v1/messages/{}", gone["id"].as_str().expect("id")),
        &bob.token,
    )
    .await;
    let ids = |page: &Value| -> Vec<Value> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|m| m["id"].clone())
            .collect()
    };

    let found = app
        .get_json("/api/v1/messages/search?q=rocket%20TODAY", &ada.token)
        .await;
    assert_eq!(ids(&found), [new["id"].clone(), old["id"].clone()]);
    assert!(found["next_cursor"].is_null());

    let page1 = app
        .get_json("/api/v1/messages/search?q=rocket&limit=2", &ada.token)
        .await;
    assert_eq!(page1["items"].as_array().map(Vec::len), Some(2));
    let cursor = page1["next_cursor"].as_str().expect("cursor");
    let page2 = app
        .get_json(
            &format!("/api/v1/messages/search?q=rocket&limit=2&cursor={cursor}"),
            &ada.token,
        )
        .await;
    assert_eq!(ids(&page2), [old["id"].clone()]);
    assert!(page2["next_cursor"].is_null());

    let by_sender = app
        .get_json(
            &format!("/api/v1/messages/search?q=rocket&sender_id={}", ada.id),
            &bob.token,
        )
        .await;
    assert_eq!(ids(&by_sender), [old["id"].clone()]);
    let in_chat = app
        .get_json(
            &format!("/api/v1/messages/search?q=rocket&chat_id={private}"),
            &eve.token,
        )
        .await;
    assert_eq!(in_chat["items"].as_array().map(Vec::len), Some(1));
    let foreign_chat = app
        .get(
            &format!("/api/v1/messages/search?q=rocket&chat_id={private}"),
            &ada.token,
        )
        .await;
    assert_problem(foreign_chat, 404, "not_found").await;

    for bad in [
        "?q=",
        "?q=%20%20",
        "?q=x&limit=0",
        "?q=x&limit=101",
        "?role=robot",
        "?metadata.a.b=1",
    ] {
        let response = app
            .get(&format!("/api/v1/messages/search{bad}"), &ada.token)
            .await;
        assert_problem(response, 422, "validation_failed").await;
    }
    assert_problem(
        app.get("/api/v1/messages/search?q=x&cursor=nope", &ada.token)
            .await,
        400,
        "bad_request",
    )
    .await;
    let full_page = app
        .get("/api/v1/messages/search?q=x&limit=100", &ada.token)
        .await;
    assert_eq!(full_page.status(), 200);
}

#[tokio::test]
async fn a_client_sent_at_is_stored_in_utc_to_the_microsecond_and_read_back_identically() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let path = format!("/api/v1/chats/{group}/messages");

    let response = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"content": "x", "client_id": "t1", "sent_at": "2026-01-02T08:04:05.123456789+05:00"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["sent_at"], "2026-01-02T03:04:05.123456Z");
    let fetched = app
        .get_json(
            &format!("/api/v1/messages/{}", created["id"].as_str().expect("id")),
            &ada.token,
        )
        .await;
    assert_eq!(fetched, created);
    let replay: Value = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"content": "x", "client_id": "t1"}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(replay, created);

    for out_of_range in ["0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"] {
        let response = app
            .post_json(
                &path,
                Some(&ada.token),
                &json!({"content": "x", "sent_at": out_of_range}),
            )
            .await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), ["sent_at"], "{out_of_range}");
    }
    // The chat still reads fine afterwards.
    app.get_json("/api/v1/chats", &ada.token).await;
}

#[tokio::test]
async fn nul_characters_are_refused_with_422_never_a_500() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let message = app.send(&ada, &group, "fine").await;

    let cases = [
        (app.post_json(&format!("/api/v1/chats/{group}/messages"), Some(&ada.token), &json!({"content": "a\u{0}b"})).await, "content"),
        (app.post_json(&format!("/api/v1/chats/{group}/messages"), Some(&ada.token), &json!({"content": "ok", "client_id": "k\u{0}"})).await, "client_id"),
        (app.send_json(Method::PATCH, &format!("/api/v1/messages/{}", message["id"].as_str().expect("id")), &ada.token, &json!({"content": "\u{0}"})).await, "content"),
        (app.send_json(Method::PATCH, &format!("/api/v1/chats/{group}"), &ada.token, &json!({"title": "t\u{0}"})).await, "title"),
        (app.post_json("/api/v1/chats", Some(&ada.token), &json!({"kind": "group", "title": "\u{0}"})).await, "title"),
        (app.post_json("/api/v1/api-keys", Some(&ada.token), &json!({"name": "k\u{0}"})).await, "name"),
        (app.post_json("/api/v1/auth/register", None, &json!({"email": "nul@example.org", "password": "correct horse", "full_name": "N\u{0}"})).await, "full_name"),
    ];
    for (response, field) in cases {
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), [field]);
    }
    let search = app
        .get("/api/v1/messages/search?q=fine%00", &ada.token)
        .await;
    assert_eq!(search.status(), 200);
    let only_nul = app.get("/api/v1/messages/search?q=%00", &ada.token).await;
    assert_problem(only_nul, 422, "validation_failed").await;
}

#[tokio::test]
async fn search_splits_addresses_and_urls_into_words() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    app.send(
        &ada,
        &group,
        "write to bob@example.com or read https://example.org/deploy-guide",
    )
    .await;

    for q in ["example", "bob%40example.com", "deploy", "guide", "https"] {
        let found = app
            .get_json(&format!("/api/v1/messages/search?q={q}"), &ada.token)
            .await;
        assert_eq!(found["items"].as_array().map(Vec::len), Some(1), "{q}");
    }
    let punctuation_only = app
        .get("/api/v1/messages/search?q=%21%21%21", &ada.token)
        .await;
    assert_problem(punctuation_only, 422, "validation_failed").await;
}

#[tokio::test]
async fn metadata_travels_with_a_message_and_only_its_sender_replaces_it() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut bob_ws = app.ws(&bob).await;
    let metadata = json!({"model": "gpt-5", "usage": {"input_tokens": 12, "output_tokens": 40}});

    let sent: Value = app
        .post_json(
            &format!("/api/v1/chats/{group}/messages"),
            Some(&ada.token),
            &json!({"content": "answer", "role": "assistant", "metadata": metadata}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(sent["metadata"], metadata);
    let event = bob_ws.next_of("message.created").await;
    assert_eq!(event["message"]["metadata"], metadata, "events carry it");
    let plain = app.send(&ada, &group, "no metadata").await;
    assert_eq!(plain["metadata"], json!({}), "always an object");
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &bob.token)
        .await;
    assert_eq!(history["items"][0]["metadata"], metadata);

    let path = format!("/api/v1/messages/{}", sent["id"].as_str().expect("id"));
    let replaced = json!({"model": "gpt-5-mini"});
    let edited = app
        .send_json(
            Method::PATCH,
            &path,
            &ada.token,
            &json!({"metadata": replaced}),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.expect("json");
    assert_eq!(edited["metadata"], replaced, "replaced whole, not merged");
    assert_eq!(edited["edited_at"], Value::Null, "the text did not change");
    let by_bob = app
        .send_json(Method::PATCH, &path, &bob.token, &json!({"metadata": {}}))
        .await;
    assert_problem(by_bob, 403, "forbidden").await;
}

#[tokio::test]
async fn bad_metadata_is_named_beside_every_other_bad_field() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let path = format!("/api/v1/chats/{group}/messages");
    let too_many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("k{i}"), json!(i))).collect();

    for (body, expected) in [
        (
            json!({"content": "x", "metadata": [1, 2]}),
            vec!["metadata"],
        ),
        (
            json!({"content": "x", "metadata": "model"}),
            vec!["metadata"],
        ),
        (
            json!({"content": "x", "metadata": too_many}),
            vec!["metadata"],
        ),
        (
            json!({"content": "x", "metadata": {"big": "x".repeat(16 * 1024)}}),
            vec!["metadata"],
        ),
        (
            json!({"content": "", "metadata": {"nul": "a\u{0}"}}),
            vec!["content", "metadata"],
        ),
    ] {
        let response = app.post_json(&path, Some(&ada.token), &body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        let mut fields = error_fields(&problem);
        fields.sort();
        assert_eq!(fields, expected, "{body}");
    }
    let history = app.get_json(&path, &ada.token).await;
    assert_eq!(history["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn messages_are_listed_across_chats_by_any_filter_and_found_by_prefix_or_cjk_part() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let first = app.group(&ada, &[&bob]).await;
    let second = app.group(&ada, &[]).await;
    let post = |chat: &str, body: Value| {
        let app = &app;
        let path = format!("/api/v1/chats/{chat}/messages");
        let token = ada.token.clone();
        async move {
            let response = app.post_json(&path, Some(&token), &body).await;
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.expect("json")
        }
    };
    let question = post(
        &first,
        json!({"content": "Where do rockets launch?", "metadata": {"receiver": "bot-1"}}),
    )
    .await;
    let answer = post(
        &first,
        json!({"content": "从上海东边发射", "role": "assistant", "metadata": {"receiver": "ada", "tokens": 42}}),
    )
    .await;
    let elsewhere = post(
        &second,
        json!({"content": "rocketry notes", "role": "assistant"}),
    )
    .await;
    let ids = |page: Value| -> Vec<Value> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|m| m["id"].clone())
            .collect()
    };
    let list = |query: &str| {
        let app = &app;
        let path = format!("/api/v1/messages{query}");
        let token = ada.token.clone();
        async move { app.get_json(&path, &token).await }
    };

    assert_eq!(
        ids(list("").await),
        [
            elsewhere["id"].clone(),
            answer["id"].clone(),
            question["id"].clone()
        ],
        "no filter: everything of every chat, newest first"
    );
    assert_eq!(
        ids(list("?role=assistant").await),
        [elsewhere["id"].clone(), answer["id"].clone()]
    );
    assert_eq!(
        ids(list("?metadata.receiver=bot-1").await),
        [question["id"].clone()]
    );
    assert_eq!(
        ids(list("?metadata.tokens=42&role=assistant").await),
        [answer["id"].clone()]
    );
    assert_eq!(
        ids(list(&format!("?chat_id={first}&q=rock")).await),
        [question["id"].clone()],
        "a prefix, in one chat"
    );
    assert_eq!(ids(list("?q=ROCK").await).len(), 2, "rockets and rocketry");
    assert_eq!(
        ids(list("?q=%E4%B8%8A%E6%B5%B7").await),
        [answer["id"].clone()],
        "上海"
    );
    let since = answer["created_at"].as_str().expect("time").to_owned();
    assert_eq!(
        ids(list(&format!("?since={}", since.replace('+', "%2B"))).await),
        [elsewhere["id"].clone(), answer["id"].clone()]
    );
    let bobs_view = app.get_json("/api/v1/messages", &bob.token).await;
    assert_eq!(
        bobs_view["items"].as_array().map(Vec::len),
        Some(2),
        "never another's chat"
    );
    let unparsable = app
        .get("/api/v1/messages?since=yesterday", &ada.token)
        .await;
    assert_problem(unparsable, 400, "bad_request").await;
}
