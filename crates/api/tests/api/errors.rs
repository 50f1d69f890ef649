//! Every malformed request gets a problem document, never a 500 or a
//! dropped connection.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_problem, error_fields};

const REGISTER: &str = "/api/v1/auth/register";

async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = app.request(Method::POST, REGISTER).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    for body in ["{", "{\"email\": }", "null x", ""] {
        let response = post_raw(&app, Some("application/json"), body).await;
        assert_problem(response, 400, "bad_request").await;
    }
}

#[tokio::test]
async fn a_body_without_a_json_content_type_is_415() {
    let app = TestApp::spawn().await;
    let body =
        json!({"email": "a@example.org", "password": PASSWORD, "full_name": "A"}).to_string();

    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = post_raw(&app, content_type, body.clone()).await;
        assert_problem(response, 415, "unsupported_media_type").await;
    }
    let with_charset = post_raw(&app, Some("application/json; charset=utf-8"), body).await;
    assert_eq!(with_charset.status(), 201);
}

#[tokio::test]
async fn a_missing_field_or_a_wrong_type_is_422_naming_the_field() {
    let app = TestApp::spawn().await;

    let missing = app
        .post_json(
            REGISTER,
            None,
            &json!({"email": "a@example.org", "password": PASSWORD}),
        )
        .await;
    let problem = assert_problem(missing, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["full_name"]);

    let wrong_type = app
        .post_json(
            REGISTER,
            None,
            &json!({"email": 42, "password": PASSWORD, "full_name": "A"}),
        )
        .await;
    let problem = assert_problem(wrong_type, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["email"]);

    let not_an_object = app.post_json(REGISTER, None, &json!([1, 2])).await;
    assert_problem(not_an_object, 422, "validation_failed").await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn_with(|s| s.server.max_body_bytes = 4096).await;
    let huge =
        json!({"email": "a@example.org", "password": PASSWORD, "full_name": "x".repeat(10_000)});

    let response = app.post_json(REGISTER, None, &huge).await;
    assert_problem(response, 413, "payload_too_large").await;

    // Without Content-Length (chunked), the limit still holds.
    let stream =
        futures::stream::iter(vec![Ok::<_, std::io::Error>(huge.to_string().into_bytes())]);
    let chunked = app
        .request(Method::POST, REGISTER)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .expect("request");
    assert_problem(chunked, 413, "payload_too_large").await;
}

#[tokio::test]
async fn the_default_body_limit_is_64_kib() {
    let app = TestApp::spawn().await;
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(70_000));

    let response = post_raw(&app, Some("application/json"), body).await;

    assert_problem(response, 413, "payload_too_large").await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = TestApp::spawn().await;

    let unknown = app
        .request(Method::GET, "/api/v1/nope")
        .send()
        .await
        .expect("request");
    assert_problem(unknown, 404, "not_found").await;

    let wrong_method = app
        .request(Method::PUT, REGISTER)
        .send()
        .await
        .expect("request");
    let allow = wrong_method
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(allow.contains("POST"), "Allow: {allow}");
    assert_problem(wrong_method, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn hostile_strings_are_stored_verbatim_not_interpreted() {
    let app = TestApp::spawn().await;
    let name = "Robert'); DROP TABLE users;-- \u{202e}\u{1F600}";

    let response = app
        .post_json(
            REGISTER,
            None,
            &json!({"email": "bobby@example.org", "password": "\u{202e}🔑\u{7}\u{1b}[31m\t x", "full_name": name}),
        )
        .await;

    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["user"]["full_name"], name);
    let login = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "bobby@example.org", "password": "\u{202e}🔑\u{7}\u{1b}[31m\t x"}),
        )
        .await;
    assert_eq!(login.status(), 200);
}

/// The `errors` of a 422, as `(field, message)` pairs.
fn field_errors(problem: &serde_json::Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().expect("field").to_owned(),
                e["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_empty_body_is_422_naming_every_required_field() {
    let app = TestApp::spawn().await;

    let response = app.post_json(REGISTER, None, &json!({})).await;

    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        [
            ("email".to_owned(), "is required".to_owned()),
            ("password".to_owned(), "is required".to_owned()),
            ("full_name".to_owned(), "is required".to_owned()),
        ]
    );
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_named_together() {
    let app = TestApp::spawn().await;

    let response = app
        .post_json(REGISTER, None, &json!({"email": 5, "password": true}))
        .await;

    let problem = assert_problem(response, 422, "validation_failed").await;
    let errors = field_errors(&problem);
    assert_eq!(error_fields(&problem), ["email", "password", "full_name"]);
    assert!(errors[0].1.contains("expected a string"), "{problem}");
    assert!(errors[1].1.contains("expected a string"), "{problem}");
    assert_eq!(errors[2].1, "is required");
    assert!(
        errors
            .iter()
            .all(|(_, message)| !message.contains(" at line ")),
        "{problem}"
    );
}

#[tokio::test]
async fn a_chat_body_with_several_bad_fields_names_each_of_them() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    let wrong_types = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": 7, "title": ["Team"], "member_ids": [bob.id, "not-a-uuid", 3]}),
        )
        .await;
    let problem = assert_problem(wrong_types, 422, "validation_failed").await;
    assert_eq!(
        error_fields(&problem),
        ["kind", "member_ids[1]", "member_ids[2]", "title"]
    );

    let unknown_kind = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"kind": "channel", "member_ids": "everyone"}),
        )
        .await;
    let problem = assert_problem(unknown_kind, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["kind", "member_ids"]);
    assert_eq!(
        field_errors(&problem)[0].1,
        "unknown variant `channel`, expected `direct` or `group`"
    );

    let no_kind = app
        .post_json(
            "/api/v1/chats",
            Some(&ada.token),
            &json!({"title": 5, "member_ids": [1]}),
        )
        .await;
    let problem = assert_problem(no_kind, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["member_ids[0]", "title", "kind"]);
}

#[tokio::test]
async fn a_websocket_command_missing_two_fields_names_both() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let mut client = app.ws(&ada).await;

    client
        .send(json!({"type": "message.send", "ref": "r1", "role": "assistant"}))
        .await;

    let event = client.next_of("error").await;
    assert_eq!(event["ref"], "r1");
    assert_eq!(event["error"]["status"], 422);
    assert_eq!(event["error"]["code"], "validation_failed");
    assert_eq!(error_fields(&event["error"]), ["chat_id", "content"]);
}
