use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, error_fields};

async fn create_key(app: &TestApp, token: &str, name: &str) -> Value {
    let response = app
        .post_json("/api/v1/api-keys", Some(token), &json!({"name": name}))
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("json")
}

async fn me_with_key(app: &TestApp, key: &str) -> reqwest::Response {
    app.request(Method::GET, "/api/v1/users/me")
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_created_key_is_shown_once_and_authenticates_as_its_owner() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    let created = create_key(&app, &ada.token, " ci ").await;

    let key = created["key"].as_str().expect("key");
    assert!(key.starts_with("msv_") && key.len() >= 4 + 43, "{key}");
    assert_eq!(created["name"], "ci");
    assert!(key.starts_with(created["prefix"].as_str().expect("prefix")));
    let me = me_with_key(&app, key).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["id"], ada.id.as_str());

    let listed: Value = app
        .get("/api/v1/api-keys", &ada.token)
        .await
        .json()
        .await
        .expect("json");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], created["id"]);
    assert!(items[0].get("key").is_none(), "the secret is never listed");
    assert!(!listed.to_string().contains(key));
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_and_disappears_from_the_list() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let created = create_key(&app, &ada.token, "ci").await;
    let kept = create_key(&app, &ada.token, "kept").await;
    let key = created["key"].as_str().expect("key");
    assert_eq!(me_with_key(&app, key).await.status(), 200);

    let revoke = app
        .request(
            Method::DELETE,
            &format!("/api/v1/api-keys/{}", created["id"].as_str().expect("id")),
        )
        .bearer_auth(&ada.token)
        .send()
        .await
        .expect("request");

    assert_eq!(revoke.status(), 204);
    assert_problem(me_with_key(&app, key).await, 401, "unauthorized").await;
    let listed: Value = app
        .get("/api/v1/api-keys", &ada.token)
        .await
        .json()
        .await
        .expect("json");
    let ids: Vec<&Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|k| &k["id"])
        .collect();
    assert_eq!(ids, [&kept["id"]]);

    let again = app
        .request(
            Method::DELETE,
            &format!("/api/v1/api-keys/{}", created["id"].as_str().expect("id")),
        )
        .bearer_auth(&ada.token)
        .send()
        .await
        .expect("request");
    assert_problem(again, 404, "not_found").await;
}

#[tokio::test]
async fn nobody_can_list_or_revoke_someone_elses_keys() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let created = create_key(&app, &ada.token, "ci").await;

    let revoke = app
        .request(
            Method::DELETE,
            &format!("/api/v1/api-keys/{}", created["id"].as_str().expect("id")),
        )
        .bearer_auth(&eve.token)
        .send()
        .await
        .expect("request");
    assert_problem(revoke, 404, "not_found").await;

    let listed: Value = app
        .get("/api/v1/api-keys", &eve.token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed, json!({"items": []}));
    assert_eq!(
        me_with_key(&app, created["key"].as_str().expect("key"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_api_key_can_manage_keys_too() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let created = create_key(&app, &ada.token, "ci").await;

    let response = app
        .request(Method::POST, "/api/v1/api-keys")
        .header("x-api-key", created["key"].as_str().expect("key"))
        .json(&json!({"name": "made by a key"}))
        .send()
        .await
        .expect("request");

    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn unknown_and_malformed_keys_are_401() {
    let app = TestApp::spawn().await;
    app.register("ada@example.org").await;

    for key in ["msv_doesnotexist", "", "x".repeat(5000).as_str()] {
        assert_problem(me_with_key(&app, key).await, 401, "unauthorized").await;
    }
}

#[tokio::test]
async fn a_key_needs_a_name() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    let blank = app
        .post_json("/api/v1/api-keys", Some(&ada.token), &json!({"name": "  "}))
        .await;
    let problem = assert_problem(blank, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["name"]);

    let missing = app
        .post_json("/api/v1/api-keys", Some(&ada.token), &json!({}))
        .await;
    let problem = assert_problem(missing, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["name"]);
}

#[tokio::test]
async fn revoking_with_a_malformed_id_is_400() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;

    let response = app
        .request(Method::DELETE, "/api/v1/api-keys/123")
        .bearer_auth(&ada.token)
        .send()
        .await
        .expect("request");

    assert_problem(response, 400, "bad_request").await;
}
