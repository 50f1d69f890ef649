//! The WebSocket gateway, with a real client against the real server.

use futures::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{TestApp, WsEnd, assert_problem};

#[tokio::test]
async fn connections_authenticate_by_header_or_query_and_get_ready() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let key: Value = app
        .post_json("/api/v1/api-keys", Some(&ada.token), &json!({"name": "ws"}))
        .await
        .json()
        .await
        .expect("json");
    let key = key["key"].as_str().expect("key").to_owned();

    for (query, headers) in [
        (format!("?access_token={}", ada.token), vec![]),
        (format!("?api_key={key}"), vec![]),
        (String::new(), vec![("x-api-key", key.as_str())]),
    ] {
        let mut client = app.ws_attempt(&query, &headers).await.expect("connect");
        let ready = client.next_event().await;
        assert_eq!(ready, json!({"type": "ready", "user_id": ada.id}));
    }
}

#[tokio::test]
async fn bad_or_missing_credentials_refuse_the_upgrade_with_401() {
    let app = TestApp::spawn().await;
    app.register("ada@example.org").await;

    for (query, headers) in [
        ("", vec![]),
        ("?access_token=forged", vec![]),
        ("?api_key=msv_nope", vec![]),
        ("", vec![("authorization", "Bearer forged")]),
    ] {
        let (status, body) = app
            .ws_attempt(query, &headers)
            .await
            .err()
            .expect("refused");
        assert_eq!(status, 401, "{query} {headers:?}");
        let problem: Value = serde_json::from_str(&body).expect("problem json");
        assert_eq!(problem["code"], "unauthorized");
    }
    let plain_get = app
        .request(Method::GET, "/api/v1/ws")
        .send()
        .await
        .expect("request");
    assert_problem(plain_get, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_rest_send_reaches_every_connection_of_every_member_and_nobody_else() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let mut ada_phone = app.ws(&ada).await;
    let mut ada_laptop = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let mut eve_ws = app.ws(&eve).await;
    let group = app.group(&ada, &[&bob]).await;
    for client in [&mut ada_phone, &mut ada_laptop, &mut bob_ws] {
        client.next_of("chat.created").await;
    }

    let sent = app.send(&bob, &group, "hello everyone").await;

    for client in [&mut ada_phone, &mut ada_laptop, &mut bob_ws] {
        let event = client.next_event().await;
        assert_eq!(event, json!({"type": "message.created", "message": sent}));
    }
    eve_ws.assert_silent(300).await;
}

#[tokio::test]
async fn a_websocket_send_is_acked_and_delivered_like_a_rest_one() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut ada_ws = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let group = app.group(&ada, &[&bob]).await;
    ada_ws.next_of("chat.created").await;
    bob_ws.next_of("chat.created").await;

    ada_ws
        .send(json!({"type": "message.send", "ref": "r1", "chat_id": group, "content": "via ws", "client_id": "w1", "role": "assistant"}))
        .await;

    let ack = ada_ws.next_of("ack").await;
    assert_eq!(ack["ref"], "r1");
    assert_eq!(ack["message"]["seq"], 1);
    assert_eq!(ack["message"]["role"], "assistant");
    let created = bob_ws.next_event().await;
    assert_eq!(
        created,
        json!({"type": "message.created", "message": ack["message"]})
    );
    let history = app
        .get_json(&format!("/api/v1/chats/{group}/messages"), &bob.token)
        .await;
    assert_eq!(history["items"][0], ack["message"], "WS → REST");
    let own = ada_ws.next_event().await;
    assert_eq!(own, created, "the sender's connections get the event too");

    // The same client_id again: the stored message, and no second event.
    ada_ws
        .send(json!({"type": "message.send", "ref": "r2", "chat_id": group, "content": "again", "client_id": "w1"}))
        .await;
    let retry = ada_ws.next_of("ack").await;
    assert_eq!(
        (retry["ref"].clone(), retry["message"].clone()),
        (json!("r2"), ack["message"].clone())
    );
    ada_ws.assert_silent(300).await;
    bob_ws.assert_silent(300).await;
}

#[tokio::test]
async fn websocket_commands_follow_the_rest_rules() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let mut eve_ws = app.ws(&eve).await;
    let mut ada_ws = app.ws(&ada).await;
    let group = app.group(&ada, &[]).await;
    ada_ws.next_of("chat.created").await;

    eve_ws
        .send(json!({"type": "message.send", "ref": 1, "chat_id": group, "content": "let me in"}))
        .await;
    let error = eve_ws.next_event().await;
    assert_eq!(
        (error["type"].clone(), error["ref"].clone()),
        (json!("error"), json!(1))
    );
    assert_eq!(error["error"]["code"], "not_found");

    ada_ws
        .send(json!({"type": "message.send", "ref": 2, "chat_id": group, "content": "  "}))
        .await;
    let error = ada_ws.next_event().await;
    assert_eq!(error["error"]["status"], 422);
    assert_eq!(error["error"]["errors"][0]["field"], "content");
}

#[tokio::test]
async fn two_hundred_fast_sends_arrive_in_seq_order_exactly_once() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let mut watcher = app.ws(&ada).await;
    let group = app.group(&ada, &[&bob, &cy]).await;
    watcher.next_of("chat.created").await;
    let path = format!("/api/v1/chats/{group}/messages");

    join_all([&bob, &cy].into_iter().map(|sender| {
        let app = &app;
        let path = path.clone();
        async move {
            for i in 0..100 {
                let response = app
                    .post_json(
                        &path,
                        Some(&sender.token),
                        &json!({"content": format!("m{i}")}),
                    )
                    .await;
                assert_eq!(response.status(), 201);
            }
        }
    }))
    .await;

    for expected in 1..=200 {
        let event = watcher.next_of("message.created").await;
        assert_eq!(event["message"]["seq"], expected);
    }
    watcher.assert_silent(300).await;
}

#[tokio::test]
async fn every_event_type_reaches_the_members() {
    // Typing is rate limited only with limits on.
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth.burst = 100;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let mut ada_ws = app.ws(&ada).await;
    let mut bob_ws = app.ws(&bob).await;
    let mut cy_ws = app.ws(&cy).await;

    // chat.created
    let group = app.group(&ada, &[&bob]).await;
    for client in [&mut ada_ws, &mut bob_ws] {
        let event = client.next_event().await;
        assert_eq!(event["type"], "chat.created");
        assert_eq!(event["chat"]["id"], group.as_str());
    }
    // chat.updated
    app.send_json(
        Method::PATCH,
        &format!("/api/v1/chats/{group}"),
        &ada.token,
        &json!({"title": "Renamed"}),
    )
    .await;
    let event = bob_ws.next_event().await;
    assert_eq!(
        (event["type"].clone(), event["chat"]["title"].clone()),
        (json!("chat.updated"), json!("Renamed"))
    );
    ada_ws.next_of("chat.updated").await;
    // message.updated and message.deleted
    let message = app.send(&bob, &group, "draft").await;
    ada_ws.next_of("message.created").await;
    bob_ws.next_of("message.created").await;
    let path = format!("/api/v1/messages/{}", message["id"].as_str().expect("id"));
    app.send_json(Method::PATCH, &path, &ada.token, &json!({"rating": true}))
        .await;
    let event = bob_ws.next_event().await;
    assert_eq!(
        (event["type"].clone(), event["message"]["rating"].clone()),
        (json!("message.updated"), json!(true))
    );
    app.delete(&path, &bob.token).await;
    let event = ada_ws.next_of("message.deleted").await;
    assert_eq!(
        (
            event["message"]["deleted"].clone(),
            event["message"]["content"].clone()
        ),
        (json!(true), json!(""))
    );
    // chat.read, over WS, answered by ack {ref} (bob reads past his own
    // messages, which he read by sending them)
    let unread = app.send(&ada, &group, "read me").await;
    let seq = unread["seq"].clone();
    bob_ws
        .send(json!({"type": "message.read", "ref": "read-1", "chat_id": group, "seq": seq}))
        .await;
    let ack = bob_ws.next_of("ack").await;
    assert_eq!(ack, json!({"type": "ack", "ref": "read-1"}));
    let event = ada_ws.next_of("chat.read").await;
    assert_eq!(
        event,
        json!({"type": "chat.read", "chat_id": group, "user_id": bob.id, "last_read_seq": seq})
    );
    // typing: relayed to others, not echoed, rate limited
    ada_ws
        .send(json!({"type": "typing", "chat_id": group}))
        .await;
    ada_ws
        .send(json!({"type": "typing", "chat_id": group}))
        .await;
    let event = bob_ws.next_of("typing").await;
    assert_eq!(
        event,
        json!({"type": "typing", "chat_id": group, "user_id": ada.id})
    );
    // ping/pong
    ada_ws.send(json!({"type": "ping", "ref": 9})).await;
    assert_eq!(
        ada_ws.next_event().await,
        json!({"type": "pong", "ref": 9}),
        "no typing echo before the pong"
    );
    bob_ws.assert_silent(300).await;
    // member.added, to everyone including the new member
    app.post_json(
        &format!("/api/v1/chats/{group}/members"),
        Some(&ada.token),
        &json!({"user_id": cy.id}),
    )
    .await;
    for client in [&mut ada_ws, &mut bob_ws, &mut cy_ws] {
        let event = client.next_of("member.added").await;
        assert_eq!(
            event,
            json!({"type": "member.added", "chat_id": group, "user_id": cy.id})
        );
    }
    // member.removed, to everyone including the removed member
    app.delete(
        &format!("/api/v1/chats/{group}/members/{}", cy.id),
        &ada.token,
    )
    .await;
    for client in [&mut ada_ws, &mut bob_ws, &mut cy_ws] {
        let event = client.next_of("member.removed").await;
        assert_eq!(
            event,
            json!({"type": "member.removed", "chat_id": group, "user_id": cy.id})
        );
    }
    // chat.deleted, to the members and to cy, whose removal is still in
    // the change log: a client of cy's that missed the removal must drop
    // the chat all the same (the deletion takes the chat's changes with it)
    app.delete(&format!("/api/v1/chats/{group}"), &ada.token)
        .await;
    for client in [&mut ada_ws, &mut bob_ws, &mut cy_ws] {
        let event = client.next_of("chat.deleted").await;
        assert_eq!(event, json!({"type": "chat.deleted", "chat_id": group}));
    }
    cy_ws.assert_silent(300).await;
}

#[tokio::test]
async fn membership_changes_take_effect_without_reconnecting() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut bob_ws = app.ws(&bob).await;
    let group = app.group(&ada, &[]).await;
    app.send(&ada, &group, "before bob").await;
    bob_ws.assert_silent(200).await;

    app.post_json(
        &format!("/api/v1/chats/{group}/members"),
        Some(&ada.token),
        &json!({"user_id": bob.id}),
    )
    .await;
    bob_ws.next_of("member.added").await;
    let sent = app.send(&ada, &group, "welcome bob").await;
    let event = bob_ws.next_of("message.created").await;
    assert_eq!(event["message"]["id"], sent["id"]);

    app.delete(
        &format!("/api/v1/chats/{group}/members/{}", bob.id),
        &ada.token,
    )
    .await;
    bob_ws.next_of("member.removed").await;
    app.send(&ada, &group, "after bob").await;
    bob_ws.assert_silent(300).await;
}

#[tokio::test]
async fn invalid_frames_get_an_error_and_the_connection_stays_open() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let mut ws = app.ws(&ada).await;

    for (frame, status) in [
        ("not json".to_owned(), 400),
        ("[1, 2]".to_owned(), 400),
        (r#"{"ref": "no-type"}"#.to_owned(), 422),
        (r#"{"type": "teleport", "ref": "t"}"#.to_owned(), 422),
        (
            r#"{"type": "message.read", "ref": "r", "chat_id": "nope", "seq": 1}"#.to_owned(),
            422,
        ),
    ] {
        ws.send_text(frame.clone()).await;
        let error = ws.next_event().await;
        assert_eq!(error["type"], "error", "{frame}");
        assert_eq!(error["error"]["status"], status, "{frame}: {error}");
    }
    ws.send_raw(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(ws.next_event().await["error"]["status"], 400);

    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.next_event().await, json!({"type": "pong"}));
}

#[tokio::test]
async fn a_frame_over_64_kib_closes_the_connection_with_1009() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let mut ws = app.ws(&ada).await;

    ws.send_text(format!(
        r#"{{"type": "ping", "ref": "{}"}}"#,
        "x".repeat(70 * 1024)
    ))
    .await;

    assert_eq!(ws.end().await, WsEnd::Closed(1009));
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_4008_while_a_fast_one_keeps_receiving() {
    // Small enough that the slow client (4 KB socket buffer, 400 × 16 KB
    // events) overflows it by far; large enough that a burst of catch-up
    // events never overflows the fast one.
    let app = TestApp::spawn_with(|s| s.realtime.outbound_queue = 64).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut fast = app.ws(&ada).await;
    let group = app.group(&ada, &[&bob]).await;
    fast.next_of("chat.created").await;
    let slow = app.slow_ws(&bob).await;
    // 16 KB per event: a few hundred fill any socket buffers and the queue.
    let big = "𝄞".repeat(4000);
    let path = format!("/api/v1/chats/{group}/messages");

    let total = 400;
    let sender = async {
        for _ in 0..total {
            let response = app
                .post_json(&path, Some(&ada.token), &json!({"content": big}))
                .await;
            assert_eq!(response.status(), 201);
        }
    };
    let reader = async {
        for expected in 1..=total {
            let event = fast.next_of("message.created").await;
            assert_eq!(event["message"]["seq"], expected);
        }
    };
    tokio::join!(sender, reader);

    let mut slow = slow.start_reading();
    assert_eq!(slow.end().await, WsEnd::Closed(4008));
}

#[tokio::test]
async fn shutdown_closes_websockets_with_1001() {
    let mut app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let mut ws = app.ws(&ada).await;

    app.shutdown();

    assert_eq!(ws.end().await, WsEnd::Closed(1001));
}

#[tokio::test]
async fn two_instances_on_one_postgresql_deliver_each_others_messages_in_order() {
    let Some(_) = missive_infra::scratch::postgres_test_url() else {
        eprintln!("two-instance test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    };
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(
        tempfile::tempdir().expect("dir"),
        a.database_url.clone(),
        |_| {},
    )
    .await;
    let ada = a.register("ada@example.org").await;
    let bob = a.register("bob@example.org").await;
    let mut ada_on_a = a.ws(&ada).await;
    let mut bob_on_b = b.ws(&bob).await;
    let group = a.group(&ada, &[&bob]).await;
    ada_on_a.next_of("chat.created").await;
    bob_on_b.next_of("chat.created").await;
    // A large multibyte message: far over NOTIFY's 8000-byte payload limit.
    let big = "日本語のメッセージ".repeat(444);
    assert_eq!(big.chars().count(), 3996);

    for i in 1..=20 {
        let (via, sender) = if i % 2 == 0 { (&a, &ada) } else { (&b, &bob) };
        let content = if i == 10 {
            big.clone()
        } else {
            format!("m{i}")
        };
        via.send(sender, &group, &content).await;
    }

    for client in [&mut ada_on_a, &mut bob_on_b] {
        for expected in 1..=20 {
            let event = client.next_of("message.created").await;
            assert_eq!(event["message"]["seq"], expected);
            if expected == 10 {
                assert_eq!(event["message"]["content"], big.as_str());
            }
        }
        client.assert_silent(300).await;
    }
}

#[tokio::test]
async fn a_connection_that_never_answers_pings_is_dropped() {
    let app = TestApp::spawn_with(|s| s.realtime.ping_interval_secs = 1).await;
    let ada = app.register("ada@example.org").await;
    let silent = app.slow_ws(&ada).await;

    // Two ping intervals without a word from the client.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;

    let mut silent = silent.start_reading();
    assert_eq!(silent.end().await, WsEnd::Dropped);
}

#[tokio::test]
async fn delivery_resumes_after_the_listen_connection_is_killed() {
    let Some(server) = missive_infra::scratch::postgres_test_url() else {
        eprintln!("LISTEN reconnection test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    };
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut bob_ws = app.ws(&bob).await;
    let group = app.group(&ada, &[&bob]).await;
    bob_ws.next_of("chat.created").await;
    app.send(&ada, &group, "before").await;
    assert_eq!(bob_ws.next_of("message.created").await["message"]["seq"], 1);

    // Kill every LISTEN session of this test's database, as a failover would.
    let database = app
        .database_url
        .rsplit('/')
        .next()
        .expect("name")
        .to_owned();
    let admin = missive_infra::Database::connect(&missive_infra::DatabaseOptions {
        url: server,
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(5),
        statement_timeout: None,
    })
    .await
    .expect("admin connection");
    use sea_orm::ConnectionTrait;
    let killed = admin
        .connection()
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{database}' AND query ILIKE 'LISTEN%'"
        ))
        .await
        .expect("terminate");
    assert!(killed.rows_affected() >= 1, "a LISTEN session existed");

    for i in 2..=6 {
        app.send(&ada, &group, &format!("after {i}")).await;
    }
    for expected in 2..=6 {
        assert_eq!(
            bob_ws.next_of("message.created").await["message"]["seq"],
            expected
        );
    }
}
