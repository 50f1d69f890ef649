//! Made-up credentials (SPEC §6.1: unverifiable credentials count against the IP).

use super::*;

#[tokio::test]
async fn made_up_api_keys_are_paid_by_the_address_whose_keys_are_then_refused_until_it_recovers() {
    let app = TestApp::spawn_with(|s| {
        limits_on(s);
        s.rate_limit.write = bucket(1, 2, 5);
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let (_, key) = create_key(&app, &ada, "real").await;

    let mut statuses = Vec::new();
    let mut first_refusal = None;
    for _ in 0..30 {
        let made_up = format!("msv_{}", uuid::Uuid::new_v4().simple());
        let response = me_with_key(&app, &made_up).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 && first_refusal.is_none() {
            first_refusal = Some(retry_after(&response));
        }
    }
    let bad_bearer = app.get("/api/v1/users/me", "not-a-token").await;
    let valid_key = me_with_key(&app, &key).await;
    let bob_me = app.get("/api/v1/users/me", &bob.token).await;

    assert_eq!(statuses[..5], [401; 5], "the address's burst: {statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "then refused: {statuses:?}"
    );
    assert!(first_refusal.is_some_and(|secs| (1..=3).contains(&secs)));
    assert_problem(bad_bearer, 429, "rate_limited").await;
    let wait = retry_after(&valid_key);
    assert!((1..=3).contains(&wait), "{wait}");
    assert_problem(valid_key, 429, "rate_limited").await;
    // A verified user pays from their own bucket: an access token verifies
    // without a lookup, so the address's refusal of keys does not apply.
    assert_eq!(bob_me.status(), 200);

    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(100)).await;
    let recovered = me_with_key(&app, &key).await;
    assert_eq!(recovered.status(), 200, "the refusal expires");
}

#[tokio::test]
async fn all_of_a_users_api_keys_and_tokens_draw_from_one_bucket() {
    let app = TestApp::spawn_with(|s| {
        limits_on(s);
        s.rate_limit.read = bucket(1, 60, 4);
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let (_, first_key) = create_key(&app, &ada, "one").await;
    let (_, second_key) = create_key(&app, &ada, "two").await;

    let mut statuses = Vec::new();
    for key in [&first_key, &second_key, &first_key, &second_key] {
        statuses.push(me_with_key(&app, key).await.status().as_u16());
    }
    let first_again = me_with_key(&app, &first_key).await;
    let second_again = me_with_key(&app, &second_key).await;
    let token = app.get("/api/v1/users/me", &ada.token).await;
    let bob_me = app.get("/api/v1/users/me", &bob.token).await;

    assert_eq!(statuses, [200; 4]);
    assert_problem(first_again, 429, "rate_limited").await;
    assert_problem(second_again, 429, "rate_limited").await;
    assert_problem(token, 429, "rate_limited").await;
    assert_eq!(bob_me.status(), 200);
}
