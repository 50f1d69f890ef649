//! Races settled by the database: one message per client id, a gap-free
//! sequence under concurrent senders, one direct chat per pair. These run on
//! SQLite and, with MISSIVE_TEST_DATABASE_URL, on PostgreSQL, where the
//! requests really run in parallel.

use std::collections::HashSet;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn a_hundred_parallel_sends_with_one_client_id_store_one_message() {
    let app = TestApp::spawn_with(|s| s.database.max_connections = 16).await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let path = format!("/api/v1/chats/{group}/messages");
    let body = json!({"content": "exactly once", "client_id": "dup"});

    let responses = join_all((0..100).map(|_| app.post_json(&path, Some(&ada.token), &body))).await;

    let mut created = 0;
    let mut ids = HashSet::new();
    for response in responses {
        match response.status().as_u16() {
            201 => created += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
        let message: Value = response.json().await.expect("json");
        ids.insert(message["id"].as_str().expect("id").to_owned());
    }
    assert_eq!(created, 1);
    assert_eq!(
        ids.len(),
        1,
        "every response carries the one stored message"
    );
    let history = app.get_json(&format!("{path}?limit=200"), &ada.token).await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn eight_concurrent_senders_of_200_messages_get_seq_1_to_1600() {
    let app = TestApp::spawn_with(|s| s.database.max_connections = 16).await;
    let mut senders = Vec::new();
    for i in 0..8 {
        senders.push(app.register(&format!("sender{i}@example.org")).await);
    }
    let others: Vec<&crate::helpers::TestUser> = senders[1..].iter().collect();
    let group = app.group(&senders[0], &others).await;
    let path = format!("/api/v1/chats/{group}/messages");

    let per_sender = join_all(senders.iter().map(|sender| {
        let app = &app;
        let path = path.clone();
        async move {
            let mut acked = Vec::with_capacity(200);
            for i in 0..200 {
                let response = app
                    .post_json(
                        &path,
                        Some(&sender.token),
                        &json!({"content": format!("m{i}"), "client_id": format!("c{i}")}),
                    )
                    .await;
                assert_eq!(response.status(), 201);
                let message: Value = response.json().await.expect("json");
                acked.push((
                    message["seq"].as_i64().expect("seq"),
                    message["id"].as_str().expect("id").to_owned(),
                ));
            }
            acked
        }
    }))
    .await;

    let mut seqs = Vec::new();
    let mut acked_ids = HashSet::new();
    for acked in &per_sender {
        assert!(
            acked.windows(2).all(|w| w[0].0 < w[1].0),
            "a sender's messages keep their order"
        );
        for (seq, id) in acked {
            seqs.push(*seq);
            acked_ids.insert(id.clone());
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=1600).collect::<Vec<i64>>());

    // Every acknowledged message is readable, in order, with no gap.
    let mut read_ids = HashSet::new();
    let mut after = 0;
    loop {
        let page = app
            .get_json(
                &format!("{path}?limit=200&after_seq={after}"),
                &senders[0].token,
            )
            .await;
        for message in page["items"].as_array().expect("items") {
            after += 1;
            assert_eq!(message["seq"], after);
            read_ids.insert(message["id"].as_str().expect("id").to_owned());
        }
        if !page["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    assert_eq!(after, 1600);
    assert_eq!(read_ids, acked_ids);
}

#[tokio::test]
async fn ten_parallel_direct_chat_creations_make_one_chat() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    let responses = join_all((0..10).map(|i| {
        let (me, other) = if i % 2 == 0 {
            (&ada, &bob)
        } else {
            (&bob, &ada)
        };
        let body = json!({"kind": "direct", "member_ids": [other.id]});
        let app = &app;
        async move { app.post_json("/api/v1/chats", Some(&me.token), &body).await }
    }))
    .await;

    let mut created = 0;
    let mut ids = HashSet::new();
    for response in responses {
        if response.status() == 201 {
            created += 1;
        } else {
            assert_eq!(response.status(), 200);
        }
        let chat: Value = response.json().await.expect("json");
        ids.insert(chat["id"].as_str().expect("id").to_owned());
    }
    assert_eq!((created, ids.len()), (1, 1));
    let listed = app.get_json("/api/v1/chats", &ada.token).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
}
