use futures::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, error_fields};

#[tokio::test]
async fn register_returns_201_with_a_bearer_token_and_the_normalised_user() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(
            "/api/v1/auth/register",
            None,
            &json!({"email": "  Ada@Example.ORG ", "password": PASSWORD, "full_name": " Ada Lovelace "}),
        )
        .await;

    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    let user = &body["user"];
    assert_eq!(user["email"], "ada@example.org");
    assert_eq!(user["full_name"], "Ada Lovelace");
    let id = uuid::Uuid::parse_str(user["id"].as_str().expect("id")).expect("uuid");
    assert_eq!(id.get_version_num(), 7);
    let created_at = user["created_at"].as_str().expect("created_at");
    assert!(created_at.ends_with('Z'), "RFC 3339 UTC: {created_at}");
    time::OffsetDateTime::parse(created_at, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let text = body.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "no secrets: {text}"
    );
}

#[tokio::test]
async fn registering_a_taken_email_in_any_case_is_409_email_taken() {
    let app = TestApp::spawn().await;
    app.register("ada@example.org").await;

    let response = app
        .post_json(
            "/api/v1/auth/register",
            None,
            &json!({"email": "ADA@example.org", "password": PASSWORD, "full_name": "Other"}),
        )
        .await;

    assert_problem(response, 409, "email_taken").await;
}

#[tokio::test]
async fn register_reports_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(
            "/api/v1/auth/register",
            None,
            &json!({"email": "not-an-email", "password": "short", "full_name": "   "}),
        )
        .await;

    let problem = assert_problem(response, 422, "validation_failed").await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["email", "full_name", "password"]);
}

#[tokio::test]
async fn password_and_name_lengths_count_characters_not_bytes() {
    let app = TestApp::spawn().await;
    let register = |email: &str, password: String, name: String| {
        let body = json!({"email": email, "password": password, "full_name": name});
        let app = &app;
        async move { app.post_json("/api/v1/auth/register", None, &body).await }
    };

    let ok = register("a@example.org", "ü".repeat(8), "名".repeat(100)).await;
    assert_eq!(ok.status(), 201);

    let long_password = register("b@example.org", "ü".repeat(129), "B".into()).await;
    let problem = assert_problem(long_password, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["password"]);

    let long_name = register("c@example.org", PASSWORD.into(), "名".repeat(101)).await;
    let problem = assert_problem(long_name, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["full_name"]);
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_create_one_account() {
    let app = TestApp::spawn().await;
    let body = json!({"email": "race@example.org", "password": PASSWORD, "full_name": "Race"});

    let responses =
        join_all((0..8).map(|_| app.post_json("/api/v1/auth/register", None, &body))).await;

    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn login_returns_a_token_that_authenticates() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    let response = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": " ADA@example.org", "password": PASSWORD}),
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"]["id"], ada.id.as_str());
    let token = body["access_token"].as_str().expect("token");
    let me: Value = app
        .get("/api/v1/users/me", token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["id"], ada.id.as_str());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register("ada@example.org").await;

    let wrong_password = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ada@example.org", "password": "not the password"}),
        )
        .await;
    let unknown_email = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "nobody@example.org", "password": PASSWORD}),
        )
        .await;

    assert_eq!(
        wrong_password
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().ok()),
        Some(Some("Bearer"))
    );
    let first = assert_problem(wrong_password, 401, "invalid_credentials").await;
    let second = assert_problem(unknown_email, 401, "invalid_credentials").await;
    assert_eq!(first, second);
}
