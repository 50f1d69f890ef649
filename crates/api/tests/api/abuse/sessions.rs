//! Sessions end with their credentials (SPEC §6.1: close code 4001).

use super::*;

#[tokio::test]
async fn a_socket_closes_with_4001_when_its_access_token_expires() {
    let app = TestApp::spawn_with(|s| s.auth.access_token_ttl_secs = 2).await;
    // `exp` is in whole seconds: the token lives between one and two
    // seconds from here.
    let issued = Instant::now();
    let ada = app.register("ada@example.org").await;
    let mut ws = app.ws(&ada).await;

    let end = ws.end().await;
    let lived = issued.elapsed();

    assert_eq!(end, WsEnd::Closed(4001));
    assert!(
        lived >= Duration::from_millis(950) && lived <= Duration::from_secs(4),
        "closed at expiry, not before: {lived:?}"
    );
}

/// The `exp` claim of a compact JWT.
fn exp_of(token: &str) -> u64 {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a compact JWT");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url"),
    )
    .expect("claims");
    claims["exp"].as_u64().expect("exp")
}

#[tokio::test]
async fn an_access_token_is_refused_from_its_exp_on_like_its_socket() {
    let app = TestApp::spawn_with(|s| s.auth.access_token_ttl_secs = 1).await;
    let ada = app.register("ada@example.org").await;
    let exp = Duration::from_secs(exp_of(&ada.token));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");

    tokio::time::sleep(exp.saturating_sub(now) + Duration::from_millis(100)).await;
    let rest = app.get("/api/v1/users/me", &ada.token).await;

    assert_problem(rest, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_socket_opened_with_an_api_key_closes_with_4001_soon_after_its_revocation() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let (id, key) = create_key(&app, &ada, "socket").await;
    let mut by_key = ws_with_key(&app, &key).await;
    let mut by_token = app.ws(&ada).await;

    let revoked = app
        .delete(&format!("/api/v1/api-keys/{id}"), &ada.token)
        .await;
    let since = Instant::now();

    assert_eq!(revoked.status(), 204);
    assert_eq!(by_key.end().await, WsEnd::Closed(4001));
    assert!(
        since.elapsed() < Duration::from_secs(2),
        "{:?}",
        since.elapsed()
    );
    by_token.send(json!({"type": "ping"})).await;
    assert_eq!(
        by_token.next_event().await,
        json!({"type": "pong"}),
        "a socket on other credentials lives on"
    );
}

#[tokio::test]
async fn a_key_revoked_on_one_instance_closes_its_socket_on_another_with_4001() {
    if missive_infra::scratch::postgres_test_url().is_none() {
        eprintln!("two-instance revocation test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    }
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_on(
        tempfile::tempdir().expect("dir"),
        a.database_url.clone(),
        |_| {},
    )
    .await;
    let ada = a.register("ada@example.org").await;
    let (id, key) = create_key(&a, &ada, "socket").await;
    let mut on_b = ws_with_key(&b, &key).await;

    let revoked = a
        .delete(&format!("/api/v1/api-keys/{id}"), &ada.token)
        .await;
    let since = Instant::now();

    assert_eq!(revoked.status(), 204);
    assert_eq!(on_b.end().await, WsEnd::Closed(4001));
    assert!(
        since.elapsed() < Duration::from_secs(2),
        "{:?}",
        since.elapsed()
    );
}
