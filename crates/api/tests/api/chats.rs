use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, error_fields};

#[tokio::test]
async fn creating_a_group_returns_201_with_the_caller_as_owner() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    let response = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": "group", "title": "  Launch  ", "member_ids": [bob.id, bob.id, ada.id]}),
        )
        .await;

    assert_eq!(response.status(), 201);
    let chat: Value = response.json().await.expect("json");
    assert_eq!(chat["kind"], "group");
    assert_eq!(chat["title"], "Launch");
    assert_eq!(chat["created_by"], ada.id.as_str());
    assert_eq!(
        (chat["last_seq"].clone(), chat["unread_count"].clone()),
        (json!(0), json!(0))
    );
    assert!(chat["last_message"].is_null());
    let members: Vec<(String, String)> = chat["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().expect("id").to_owned(),
                m["role"].as_str().expect("role").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        members,
        [
            (ada.id.clone(), "owner".into()),
            (bob.id.clone(), "member".into())
        ]
    );
}

#[tokio::test]
async fn a_direct_chat_is_created_once_and_then_returned_with_200() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    let first = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": "direct", "member_ids": [bob.id]}),
        )
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    assert!(first["title"].is_null());

    let again = app
        .post_json(
            "/api/v1/chats",
            Some(&bob.token),
            &json!({"kind": "direct", "member_ids": [ada.id]}),
        )
        .await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["id"], first["id"]);
}

#[tokio::test]
async fn invalid_chat_requests_are_422_naming_the_field() {
    let app = TestApp::spawn_with(|s| s.limits.max_group_members = 3).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let dee = app.register("dee@example.org").await;
    let unknown = uuid::Uuid::now_v7().to_string();

    for (body, field) in [
        (json!({"kind": "group", "member_ids": [bob.id]}), "title"),
        (
            json!({"kind": "group", "title": " ", "member_ids": []}),
            "title",
        ),
        (json!({"kind": "group", "title": "x".repeat(101)}), "title"),
        (
            json!({"kind": "group", "title": "Big", "member_ids": [bob.id, cy.id, dee.id]}),
            "member_ids",
        ),
        (
            json!({"kind": "group", "title": "T", "member_ids": [unknown]}),
            "member_ids",
        ),
        (json!({"kind": "direct", "member_ids": []}), "member_ids"),
        (
            json!({"kind": "direct", "member_ids": [ada.id]}),
            "member_ids",
        ),
        (
            json!({"kind": "direct", "member_ids": [bob.id, cy.id]}),
            "member_ids",
        ),
        (
            json!({"kind": "direct", "title": "Hi", "member_ids": [bob.id]}),
            "title",
        ),
        (json!({"kind": "channel", "member_ids": [bob.id]}), "kind"),
        (
            json!({"kind": "group", "title": "T", "member_ids": ["not-a-uuid"]}),
            "member_ids[0]",
        ),
        (json!({"title": "T"}), "kind"),
    ] {
        let response = app
            .post_json("/api/v1/chats", Some(&ada.token), &body)
            .await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), [field], "{body}");
    }
}

#[tokio::test]
async fn strangers_get_404_for_a_chat_and_everything_in_it() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let chat_id = app.group(&ada, &[]).await;
    let message = app.send(&ada, &chat_id, "secret").await;
    let message_id = message["id"].as_str().expect("id");

    let probes = [
        app.get(&format!("/api/v1/chats/{chat_id}"), &eve.token)
            .await,
        app.get(&format!("/api/v1/chats/{chat_id}/messages"), &eve.token)
            .await,
        app.get(&format!("/api/v1/messages/{message_id}"), &eve.token)
            .await,
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/chats/{chat_id}"),
            &eve.token,
            &json!({"title": "mine"}),
        )
        .await,
        app.delete(&format!("/api/v1/chats/{chat_id}"), &eve.token)
            .await,
        app.post_json(
            &format!("/api/v1/chats/{chat_id}/members"),
            Some(&eve.token),
            &json!({"user_id": eve.id}),
        )
        .await,
        app.delete(
            &format!("/api/v1/chats/{chat_id}/members/{}", ada.id),
            &eve.token,
        )
        .await,
        app.post_json(
            &format!("/api/v1/chats/{chat_id}/read"),
            Some(&eve.token),
            &json!({"seq": 1}),
        )
        .await,
        app.post_json(
            &format!("/api/v1/chats/{chat_id}/messages"),
            Some(&eve.token),
            &json!({"content": "hi"}),
        )
        .await,
        app.send_json(
            Method::PATCH,
            &format!("/api/v1/messages/{message_id}"),
            &eve.token,
            &json!({"rating": true}),
        )
        .await,
        app.delete(&format!("/api/v1/messages/{message_id}"), &eve.token)
            .await,
        app.get(
            &format!("/api/v1/messages/search?q=secret&chat_id={chat_id}"),
            &eve.token,
        )
        .await,
        app.get(
            &format!("/api/v1/chats/{}", uuid::Uuid::now_v7()),
            &ada.token,
        )
        .await,
    ];
    for response in probes {
        assert_problem(response, 404, "not_found").await;
    }
    let listed = app.get_json("/api/v1/chats", &eve.token).await;
    assert_eq!(listed["items"], json!([]));
}

#[tokio::test]
async fn renaming_needs_a_group_and_an_owner_or_admin() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let direct: Value = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": "direct", "member_ids": [bob.id]}),
        )
        .await
        .json()
        .await
        .expect("json");
    let rename = |chat: String, token: String, title: Value| {
        let app = &app;
        async move {
            app.send_json(
                Method::PATCH,
                &format!("/api/v1/chats/{chat}"),
                &token,
                &json!({"title": title}),
            )
            .await
        }
    };

    assert_problem(
        rename(group.clone(), bob.token.clone(), json!("Nope")).await,
        403,
        "forbidden",
    )
    .await;
    let direct_id = direct["id"].as_str().expect("id").to_owned();
    assert_problem(
        rename(direct_id.clone(), ada.token.clone(), json!("Nope")).await,
        409,
        "not_a_group",
    )
    .await;
    let problem = assert_problem(
        rename(group.clone(), ada.token.clone(), json!("")).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(error_fields(&problem), ["title"]);

    let renamed = rename(group.clone(), ada.token.clone(), json!("Renamed")).await;
    assert_eq!(renamed.status(), 200);
    let renamed: Value = renamed.json().await.expect("json");
    assert_eq!(renamed["title"], "Renamed");
}

#[tokio::test]
async fn members_are_added_by_owners_and_admins_of_groups() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let path = format!("/api/v1/chats/{group}/members");

    assert_problem(
        app.post_json(&path, Some(&bob.token), &json!({"user_id": cy.id}))
            .await,
        403,
        "forbidden",
    )
    .await;

    let added = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"user_id": cy.id, "role": "admin"}),
        )
        .await;
    assert_eq!(added.status(), 200);
    let chat: Value = added.json().await.expect("json");
    let cy_role = chat["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user_id"] == cy.id.as_str())
        .map(|m| m["role"].clone());
    assert_eq!(cy_role, Some(json!("admin")));

    let again = app
        .post_json(&path, Some(&ada.token), &json!({"user_id": cy.id}))
        .await;
    assert_eq!(again.status(), 200, "adding an existing member is a no-op");
    let chat: Value = again.json().await.expect("json");
    assert_eq!(chat["members"].as_array().map(Vec::len), Some(3));

    let unknown = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"user_id": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(
        error_fields(&assert_problem(unknown, 422, "validation_failed").await),
        ["user_id"]
    );
    let owner = app
        .post_json(
            &path,
            Some(&ada.token),
            &json!({"user_id": cy.id, "role": "owner"}),
        )
        .await;
    assert_eq!(
        error_fields(&assert_problem(owner, 422, "validation_failed").await),
        ["role"]
    );

    // The new member sees the chat at once.
    assert_eq!(
        app.get(&format!("/api/v1/chats/{group}"), &cy.token)
            .await
            .status(),
        200
    );

    let direct: Value = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": "direct", "member_ids": [bob.id]}),
        )
        .await
        .json()
        .await
        .expect("json");
    let to_direct = app
        .post_json(
            &format!(
                "/api/v1/chats/{}/members",
                direct["id"].as_str().expect("id")
            ),
            Some(&ada.token),
            &json!({"user_id": cy.id}),
        )
        .await;
    assert_problem(to_direct, 409, "not_a_group").await;
}

#[tokio::test]
async fn a_full_group_refuses_new_members() {
    let app = TestApp::spawn_with(|s| s.limits.max_group_members = 2).await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let group = app.group(&ada, &[&bob]).await;

    let response = app
        .post_json(
            &format!("/api/v1/chats/{group}/members"),
            Some(&ada.token),
            &json!({"user_id": cy.id}),
        )
        .await;

    assert_eq!(
        error_fields(&assert_problem(response, 422, "validation_failed").await),
        ["user_id"]
    );
}

#[tokio::test]
async fn a_removed_member_loses_access_at_once_and_anyone_may_leave() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let group = app.group(&ada, &[&bob, &cy]).await;

    assert_problem(
        app.delete(
            &format!("/api/v1/chats/{group}/members/{}", cy.id),
            &bob.token,
        )
        .await,
        403,
        "forbidden",
    )
    .await;

    let removed = app
        .delete(
            &format!("/api/v1/chats/{group}/members/{}", bob.id),
            &ada.token,
        )
        .await;
    assert_eq!(removed.status(), 204);
    assert_problem(
        app.get(&format!("/api/v1/chats/{group}"), &bob.token).await,
        404,
        "not_found",
    )
    .await;
    let send = app
        .post_json(
            &format!("/api/v1/chats/{group}/messages"),
            Some(&bob.token),
            &json!({"content": "still here?"}),
        )
        .await;
    assert_problem(send, 404, "not_found").await;

    let left = app
        .delete(
            &format!("/api/v1/chats/{group}/members/{}", cy.id),
            &cy.token,
        )
        .await;
    assert_eq!(left.status(), 204);
    assert_problem(
        app.delete(
            &format!("/api/v1/chats/{group}/members/{}", cy.id),
            &ada.token,
        )
        .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn when_the_owner_leaves_someone_else_owns_the_group() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;

    assert_eq!(
        app.delete(
            &format!("/api/v1/chats/{group}/members/{}", ada.id),
            &ada.token
        )
        .await
        .status(),
        204
    );

    let chat = app
        .get_json(&format!("/api/v1/chats/{group}"), &bob.token)
        .await;
    assert_eq!(
        chat["members"],
        json!([{
            "user_id": bob.id, "role": "owner",
            "joined_at": chat["members"][0]["joined_at"], "last_read_seq": 0
        }])
    );
}

#[tokio::test]
async fn only_the_owner_deletes_a_chat_and_its_messages_go_with_it() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let message = app.send(&bob, &group, "bye").await;

    assert_problem(
        app.delete(&format!("/api/v1/chats/{group}"), &bob.token)
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.delete(&format!("/api/v1/chats/{group}"), &ada.token)
            .await
            .status(),
        204
    );

    assert_problem(
        app.get(&format!("/api/v1/chats/{group}"), &ada.token).await,
        404,
        "not_found",
    )
    .await;
    let message_path = format!("/api/v1/messages/{}", message["id"].as_str().expect("id"));
    assert_problem(app.get(&message_path, &bob.token).await, 404, "not_found").await;
}

#[tokio::test]
async fn chats_are_listed_by_activity_and_paged_with_an_opaque_cursor() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut chats = Vec::new();
    for _ in 0..5 {
        chats.push(app.group(&ada, &[&bob]).await);
    }
    app.send(&bob, &chats[1], "wake up").await;

    let first = app.get_json("/api/v1/chats?limit=2", &ada.token).await;
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&first), [chats[1].clone(), chats[4].clone()]);
    assert_eq!(first["items"][0]["unread_count"], 1);
    assert_eq!(first["items"][0]["last_message"]["content"], "wake up");
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let second = app
        .get_json(
            &format!("/api/v1/chats?limit=2&cursor={cursor}"),
            &ada.token,
        )
        .await;
    assert_eq!(ids(&second), [chats[3].clone(), chats[2].clone()]);
    let cursor = second["next_cursor"].as_str().expect("cursor");
    let last = app
        .get_json(
            &format!("/api/v1/chats?limit=2&cursor={cursor}"),
            &ada.token,
        )
        .await;
    assert_eq!(ids(&last), [chats[0].clone()]);
    assert!(last["next_cursor"].is_null());

    assert_problem(
        app.get("/api/v1/chats?cursor=garbage", &ada.token).await,
        400,
        "bad_request",
    )
    .await;
    assert_problem(
        app.get("/api/v1/chats?limit=0", &ada.token).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/api/v1/chats?limit=lots", &ada.token).await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn read_positions_move_forward_only_are_clamped_and_visible_to_others() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    for i in 0..4 {
        app.send(&bob, &group, &format!("m{i}")).await;
    }
    app.send(&ada, &group, "my own").await;
    let read = |seq: i64| {
        let app = &app;
        let path = format!("/api/v1/chats/{group}/read");
        let token = ada.token.clone();
        async move {
            app.post_json(&path, Some(&token), &json!({"seq": seq}))
                .await
        }
    };

    let state: Value = read(2).await.json().await.expect("json");
    assert_eq!(
        (
            state["last_read_seq"].clone(),
            state["unread_count"].clone()
        ),
        (json!(2), json!(2))
    );
    let state: Value = read(1).await.json().await.expect("json");
    assert_eq!(state["last_read_seq"], 2, "never backwards");
    let state: Value = read(1000).await.json().await.expect("json");
    assert_eq!(
        (
            state["last_read_seq"].clone(),
            state["unread_count"].clone()
        ),
        (json!(5), json!(0)),
        "clamped"
    );
    assert_eq!(state["user_id"], ada.id.as_str());
    assert_eq!(state["chat_id"], group.as_str());

    let seen_by_bob = app
        .get_json(&format!("/api/v1/chats/{group}"), &bob.token)
        .await;
    let ada_member = seen_by_bob["members"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["user_id"] == ada.id.as_str())
        .cloned();
    assert_eq!(
        ada_member.map(|m| m["last_read_seq"].clone()),
        Some(json!(5))
    );
    assert_eq!(
        seen_by_bob["unread_count"], 1,
        "ada's message is unread for bob; his own are not"
    );

    assert_problem(read(-1).await, 422, "validation_failed").await;
    let missing = app
        .post_json(
            &format!("/api/v1/chats/{group}/read"),
            Some(&ada.token),
            &json!({}),
        )
        .await;
    assert_eq!(
        error_fields(&assert_problem(missing, 422, "validation_failed").await),
        ["seq"]
    );
}

#[tokio::test]
async fn an_admin_removes_another_admin_but_not_the_owner() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let group = app.group(&ada, &[]).await;
    for user in [&bob, &cy] {
        let response = app
            .post_json(
                &format!("/api/v1/chats/{group}/members"),
                Some(&ada.token),
                &json!({"user_id": user.id, "role": "admin"}),
            )
            .await;
        assert_eq!(response.status(), 200);
    }

    assert_problem(
        app.delete(
            &format!("/api/v1/chats/{group}/members/{}", ada.id),
            &bob.token,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let removed = app
        .delete(
            &format!("/api/v1/chats/{group}/members/{}", cy.id),
            &bob.token,
        )
        .await;
    assert_eq!(removed.status(), 204);
}

#[tokio::test]
async fn members_are_counted_and_paged_for_members_only() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let eve = app.register("eve@example.org").await;
    let group = app.group(&ada, &[&bob, &cy]).await;

    let chat = app
        .get_json(&format!("/api/v1/chats/{group}"), &bob.token)
        .await;
    assert_eq!(chat["member_count"], 3);

    let first = app
        .get_json(
            &format!("/api/v1/chats/{group}/members?limit=2"),
            &bob.token,
        )
        .await;
    let cursor = first["next_cursor"].as_str().expect("more").to_owned();
    let second = app
        .get_json(
            &format!("/api/v1/chats/{group}/members?limit=2&cursor={cursor}"),
            &bob.token,
        )
        .await;
    assert_eq!(second["next_cursor"], Value::Null);
    let ids: Vec<Value> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .chain(second["items"].as_array().expect("items"))
        .map(|m| m["user_id"].clone())
        .collect();
    assert_eq!(ids, [json!(ada.id), json!(bob.id), json!(cy.id)]);
    assert_eq!(first["items"][0]["role"], "owner");

    let path = format!("/api/v1/chats/{group}/members");
    assert_problem(app.get(&path, &eve.token).await, 404, "not_found").await;
    assert_problem(
        app.get(&format!("{path}?limit=0"), &bob.token).await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get(&format!("{path}?cursor=bogus"), &bob.token).await,
        400,
        "bad_request",
    )
    .await;
}

#[tokio::test]
async fn a_chat_can_have_the_clients_own_id_created_again_safely_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let own_id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "kind": "group", "title": "Transcript", "id": own_id,
        "metadata": {"source": "my-llm-app", "conversation": 42}
    });

    let responses = futures::future::join_all(
        (0..6).map(|_| app.post_json("/api/v1/chats", Some(&ada.token), &body)),
    )
    .await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 201],
        "one creation, the rest answered"
    );
    let chat = app
        .get_json(&format!("/api/v1/chats/{own_id}"), &ada.token)
        .await;
    assert_eq!(chat["id"], own_id.as_str());
    assert_eq!(
        chat["metadata"],
        json!({"source": "my-llm-app", "conversation": 42})
    );
    let listed = app.get_json("/api/v1/chats", &ada.token).await;
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);

    let taken = app
        .post_json("/api/v1/chats", Some(&eve.token), &body)
        .await;
    let problem = assert_problem(taken, 409, "chat_id_taken").await;
    assert!(
        !problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Transcript")
    );
}

#[tokio::test]
async fn owners_and_admins_replace_a_chats_metadata_and_members_see_it() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let group = app.group(&ada, &[&bob]).await;
    let mut bob_ws = app.ws(&bob).await;
    let path = format!("/api/v1/chats/{group}");

    let changed = app
        .send_json(
            Method::PATCH,
            &path,
            &ada.token,
            &json!({"metadata": {"topic": "launch"}}),
        )
        .await;
    assert_eq!(changed.status(), 200);
    let event = bob_ws.next_of("chat.updated").await;
    assert_eq!(event["chat"]["metadata"], json!({"topic": "launch"}));
    assert_eq!(event["chat"]["title"], "Team", "the title stays");

    let by_member = app
        .send_json(Method::PATCH, &path, &bob.token, &json!({"metadata": {}}))
        .await;
    assert_problem(by_member, 403, "forbidden").await;
    let empty = app
        .send_json(Method::PATCH, &path, &ada.token, &json!({}))
        .await;
    assert_problem(empty, 422, "validation_failed").await;
    let bad = app
        .send_json(
            Method::PATCH,
            &path,
            &ada.token,
            &json!({"metadata": 5, "title": ""}),
        )
        .await;
    let mut fields = error_fields(&assert_problem(bad, 422, "validation_failed").await);
    fields.sort();
    assert_eq!(fields, ["metadata", "title"]);
}
