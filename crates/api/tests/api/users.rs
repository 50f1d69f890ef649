use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, error_fields};

#[tokio::test]
async fn me_returns_the_caller_without_secrets() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    let response = app.get("/api/v1/users/me", &ada.token).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["id"], ada.id.as_str());
    assert_eq!(body["email"], "ada@example.org");
    assert_eq!(body["full_name"], "Test User");
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["created_at", "email", "full_name", "id"]);
}

#[tokio::test]
async fn a_user_is_found_by_id() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    let response = app
        .get(&format!("/api/v1/users/{}", bob.id), &ada.token)
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["email"], "bob@example.org");
}

#[tokio::test]
async fn an_unknown_user_id_is_404_and_a_malformed_one_400() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    let unknown = app
        .get(
            &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
            &ada.token,
        )
        .await;
    assert_problem(unknown, 404, "not_found").await;

    let malformed = app.get("/api/v1/users/not-a-uuid", &ada.token).await;
    assert_problem(malformed, 400, "bad_request").await;
}

#[tokio::test]
async fn a_user_is_found_by_normalised_email() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    let response = app
        .get("/api/v1/users?email=%20BOB%40Example.org", &ada.token)
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["id"], bob.id.as_str());
}

#[tokio::test]
async fn email_lookup_errors_are_404_400_and_422() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    let unknown = app
        .get("/api/v1/users?email=nobody%40example.org", &ada.token)
        .await;
    assert_problem(unknown, 404, "not_found").await;

    let missing = app.get("/api/v1/users", &ada.token).await;
    assert_problem(missing, 400, "bad_request").await;

    let invalid = app.get("/api/v1/users?email=nope", &ada.token).await;
    let problem = assert_problem(invalid, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["email"]);
}

#[tokio::test]
async fn user_routes_require_authentication() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    for path in [
        "/api/v1/users/me".to_owned(),
        format!("/api/v1/users/{}", ada.id),
        "/api/v1/users?email=ada%40example.org".to_owned(),
    ] {
        let response = app
            .request(reqwest::Method::GET, &path)
            .send()
            .await
            .expect("request");
        assert_problem(response, 401, "unauthorized").await;
    }
}
