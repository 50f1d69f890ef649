//! Health probes, the OpenAPI document, and the documentation pages, which
//! must work without internet access.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::TestApp;

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let response = app
        .request(Method::GET, path)
        .send()
        .await
        .expect("request");
    (
        response.status().as_u16(),
        response.text().await.expect("text"),
    )
}

#[tokio::test]
async fn health_probes_answer_200_while_the_database_answers() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/health/live", "/health/ready"] {
        let (status, body) = text(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, r#"{"status":"ok"}"#);
    }
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_route_and_both_schemes() {
    let app = TestApp::spawn().await;

    let (status, body) = text(&app, "/openapi.json").await;

    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&body).expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for (path, method) in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/users/me", "get"),
        ("/api/v1/users/{user_id}", "get"),
        ("/api/v1/users", "get"),
        ("/api/v1/api-keys", "post"),
        ("/api/v1/api-keys", "get"),
        ("/api/v1/api-keys/{key_id}", "delete"),
        ("/api/v1/chats", "post"),
        ("/api/v1/chats", "get"),
        ("/api/v1/chats/{chat_id}", "get"),
        ("/api/v1/chats/{chat_id}", "patch"),
        ("/api/v1/chats/{chat_id}", "delete"),
        ("/api/v1/chats/{chat_id}/members", "post"),
        ("/api/v1/chats/{chat_id}/members/{user_id}", "delete"),
        ("/api/v1/chats/{chat_id}/read", "post"),
        ("/api/v1/chats/{chat_id}/members", "get"),
        ("/api/v1/chats/{chat_id}/messages", "post"),
        ("/api/v1/chats/{chat_id}/messages", "get"),
        ("/api/v1/messages/{message_id}", "get"),
        ("/api/v1/messages/{message_id}", "patch"),
        ("/api/v1/messages/{message_id}", "delete"),
        ("/api/v1/messages/search", "get"),
        ("/health", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
    ] {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        assert!(
            operation["responses"]["500"].is_object(),
            "{method} {path} documents 500"
        );
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    let me_security = &doc["paths"]["/api/v1/users/me"]["get"]["security"];
    assert_eq!(me_security.as_array().map(Vec::len), Some(2));
    let send = &doc["paths"]["/api/v1/chats/{chat_id}/messages"]["post"];
    for status in ["200", "201", "404", "422"] {
        assert!(
            send["responses"][status].is_object(),
            "send documents {status}"
        );
    }
    let history_params: Vec<&str> =
        doc["paths"]["/api/v1/chats/{chat_id}/messages"]["get"]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
    assert_eq!(
        history_params,
        ["chat_id", "limit", "before_seq", "after_seq", "offset"]
    );
    let register_responses = &doc["paths"]["/api/v1/auth/register"]["post"]["responses"];
    for status in ["201", "400", "409", "413", "415", "422"] {
        assert!(
            register_responses[status].is_object(),
            "register documents {status}"
        );
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = TestApp::spawn().await;

    let (status, html) = text(&app, "/docs/").await;
    assert_eq!(status, 200);
    assert!(html.contains("swagger-ui"), "{html}");
    assert_no_external_assets(&html);
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-initializer.js",
    ] {
        let (status, body) = text(&app, asset).await;
        assert_eq!(status, 200, "{asset}");
        assert!(!body.is_empty());
        if asset.ends_with("initializer.js") {
            assert!(body.contains("/openapi.json"), "{body}");
        }
    }
}

#[tokio::test]
async fn redoc_is_served_from_the_binary() {
    let app = TestApp::spawn().await;

    let (status, html) = text(&app, "/redoc").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"spec-url="/openapi.json""#));
    assert_no_external_assets(&html);
    let (status, script) = text(&app, "/redoc/redoc.standalone.js").await;
    assert_eq!(status, 200);
    assert!(script.len() > 500_000, "the full bundle is served");
}

/// No `src=`/`href=` pointing off the host.
fn assert_no_external_assets(html: &str) {
    for attribute in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "//cdn",
    ] {
        assert!(
            !html.contains(attribute),
            "external asset ({attribute}) in {html}"
        );
    }
}

/// What generated clients read: schema names in the domain's words, path
/// parameters named for what they are, every operation with a unique
/// operationId, a summary and a tag, and every error a problem document.
#[tokio::test]
async fn the_openapi_document_reads_well_in_generated_clients() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .request(reqwest::Method::GET, "/openapi.json")
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "Chat",
        "ChatKind",
        "MessageRole",
        "MemberRole",
        "MessagePage",
        "CreatedApiKey",
        "ReadState",
        "Upload",
        "Message",
        "Problem",
    ] {
        assert!(schemas.contains_key(name), "schema {name}");
    }
    // One free-form Metadata, referenced wherever metadata goes.
    assert_eq!(schemas["Metadata"]["additionalProperties"], true);
    assert_eq!(
        schemas["Message"]["properties"]["metadata"]["$ref"],
        "#/components/schemas/Metadata"
    );
    for name in schemas.keys() {
        assert!(
            !name.ends_with("Dto") && !name.ends_with("View"),
            "an internal suffix leaks: {name}"
        );
    }
    let mut ids = std::collections::HashSet::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            assert!(
                operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path} has a summary"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has a tag"
            );
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    assert_ne!(parameter["name"], "id", "{method} {path} names its id");
                }
            }
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    let text = response.to_string();
                    assert!(
                        text.contains("Problem") || text.contains("#/components/responses/"),
                        "{method} {path} {status} is a problem document"
                    );
                }
            }
        }
    }
}

/// The WebSocket protocol's AsyncAPI document and its page are public.
#[tokio::test]
async fn the_asyncapi_document_and_its_page_are_served() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .request(Method::GET, "/asyncapi.json")
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["asyncapi"], "3.1.0");
    assert_eq!(doc["channels"]["ws"]["address"], "/api/v1/ws");
    assert_eq!(
        doc["components"]["messages"]["event_message_created"]["name"],
        "message.created"
    );
    let page = app
        .request(Method::GET, "/docs/asyncapi")
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("<code>message.send</code>")
    );
}
