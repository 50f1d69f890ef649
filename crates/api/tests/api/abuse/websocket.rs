//! Floods over the WebSocket (SPEC §6.1: commands draw from the REST buckets).

use super::*;

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
