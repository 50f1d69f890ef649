//! Concurrent departures never leave a group without an owner.

use super::*;

/// Whether `user` sees the chat, and if so its members as `(id, role)`.
async fn members_seen_by(
    app: &TestApp,
    user: &TestUser,
    chat: &str,
) -> Option<Vec<(String, String)>> {
    let response = app.get(&format!("/api/v1/chats/{chat}"), &user.token).await;
    if response.status() == 404 {
        return None;
    }
    assert_eq!(response.status(), 200);
    let chat: Value = response.json().await.expect("json");
    Some(
        chat["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| {
                (
                    m["user_id"].as_str().expect("user id").to_owned(),
                    m["role"].as_str().expect("role").to_owned(),
                )
            })
            .collect(),
    )
}

/// Everyone in `leavers` leaves `chat` at once; the answers, in order.
async fn leave_at_once(app: &TestApp, chat: &str, leavers: &[&TestUser]) -> Vec<u16> {
    join_all(leavers.iter().map(|user| remove(app, user, chat, user))).await
}

/// `stayers` (with whoever failed to leave) are the members, exactly one
/// of them the owner; those who left no longer see the chat.
async fn assert_one_owner_among_those_left(
    app: &TestApp,
    chat: &str,
    leavers: &[&TestUser],
    statuses: &[u16],
    stayers: &[&TestUser],
) {
    let mut expected: HashSet<&str> = stayers.iter().map(|u| u.id.as_str()).collect();
    for (user, status) in leavers.iter().zip(statuses) {
        assert!(
            *status == 204 || *status == 503,
            "leaving answers 204 (or 503: retry): {statuses:?}"
        );
        if *status != 204 {
            expected.insert(user.id.as_str());
        }
    }
    let Some(viewer) = stayers
        .iter()
        .chain(leavers)
        .find(|u| expected.contains(u.id.as_str()))
    else {
        for user in leavers {
            assert!(
                members_seen_by(app, user, chat).await.is_none(),
                "the last one out deleted the chat"
            );
        }
        return;
    };
    let members = members_seen_by(app, viewer, chat)
        .await
        .expect("a member sees the chat");
    let ids: HashSet<&str> = members.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, expected, "{statuses:?}");
    let owners = members.iter().filter(|(_, role)| role == "owner").count();
    assert_eq!(
        owners, 1,
        "exactly one owner: {members:?} after {statuses:?}"
    );
    for (user, status) in leavers.iter().zip(statuses) {
        if *status == 204 {
            assert!(members_seen_by(app, user, chat).await.is_none());
        }
    }
}

#[tokio::test]
async fn a_whole_group_leaving_at_once_deletes_it_or_leaves_exactly_one_owner() {
    let app = TestApp::spawn().await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(app.register(&format!("user{i}@example.org")).await);
    }
    let mut refused = 0;

    for round in 0..10 {
        // A different owner each round, members in a different order.
        let owner = &users[round % 6];
        let members: Vec<&TestUser> = users.iter().filter(|u| u.id != owner.id).collect();
        let chat = app.group(owner, &members).await;
        let everyone: Vec<&TestUser> = users.iter().collect();

        let statuses = leave_at_once(&app, &chat, &everyone).await;

        refused += statuses.iter().filter(|s| **s != 204).count();
        assert_one_owner_among_those_left(&app, &chat, &everyone, &statuses, &[]).await;
    }
    println!("whole-group departures: {refused} of 60 answered 503");
}

#[tokio::test]
async fn the_owner_and_admins_leaving_at_once_leave_exactly_one_owner_among_the_members() {
    let app = TestApp::spawn().await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(app.register(&format!("user{i}@example.org")).await);
    }
    let (owner, admins, members) = (&users[0], &users[1..3], &users[3..6]);
    let members: Vec<&TestUser> = members.iter().collect();

    for _ in 0..10 {
        let chat = app.group(owner, &members).await;
        for admin in admins {
            let added = app
                .post_json(
                    &format!("/api/v1/chats/{chat}/members"),
                    Some(&owner.token),
                    &json!({"user_id": admin.id, "role": "admin"}),
                )
                .await;
            assert_eq!(added.status(), 200);
        }
        let leavers = [owner, &admins[0], &admins[1]];

        let statuses = leave_at_once(&app, &chat, &leavers).await;

        assert_one_owner_among_those_left(&app, &chat, &leavers, &statuses, &members).await;
    }
}
