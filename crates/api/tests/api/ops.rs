//! Operations: rate limits, metrics, request ids, security headers, CORS.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_problem, header};

#[tokio::test]
async fn a_burst_beyond_the_write_bucket_gets_429_and_other_users_are_unaffected() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth.burst = 100;
        s.rate_limit.write.burst = 3;
        s.rate_limit.write.per_secs = 60;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let body = json!({"name": "k"});

    for remaining in [2, 1, 0] {
        let response = app
            .post_json("/api/v1/api-keys", Some(&ada.token), &body)
            .await;
        assert_eq!(response.status(), 201);
        assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            header(&response, "ratelimit-remaining"),
            Some(remaining.to_string())
        );
    }
    let limited = app
        .post_json("/api/v1/api-keys", Some(&ada.token), &body)
        .await;
    let retry_after: u64 = header(&limited, "retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=61).contains(&retry_after), "{retry_after}");
    assert_eq!(
        header(&limited, "ratelimit-remaining").as_deref(),
        Some("0")
    );
    assert_problem(limited, 429, "rate_limited").await;

    let other_user = app
        .post_json("/api/v1/api-keys", Some(&bob.token), &body)
        .await;
    assert_eq!(other_user.status(), 201, "buckets are per user");
    let reads = app.get("/api/v1/api-keys", &ada.token).await;
    assert_eq!(reads.status(), 200, "reads have their own bucket");
    let health = app
        .request(Method::GET, "/health")
        .send()
        .await
        .expect("request");
    assert!(
        header(&health, "ratelimit-limit").is_none(),
        "probes are not limited"
    );
}

#[tokio::test]
async fn login_attempts_are_limited_per_client_ip() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth.burst = 2;
    })
    .await;
    let attempt = json!({"email": "nobody@example.org", "password": PASSWORD});

    for _ in 0..2 {
        let response = app.post_json("/api/v1/auth/login", None, &attempt).await;
        assert_eq!(response.status(), 401);
    }
    let limited = app.post_json("/api/v1/auth/login", None, &attempt).await;
    assert_problem(limited, 429, "rate_limited").await;
    // A spoofed X-Forwarded-For is not believed from an untrusted peer.
    let spoofed = app
        .request(Method::POST, "/api/v1/auth/login")
        .header("x-forwarded-for", "203.0.113.50")
        .json(&attempt)
        .send()
        .await
        .expect("request");
    assert_problem(spoofed, 429, "rate_limited").await;
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_for_gives_each_client_its_own_bucket() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth.burst = 1;
        s.rate_limit.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let attempt = json!({"email": "nobody@example.org", "password": PASSWORD});
    let login = |client: &'static str| {
        let app = &app;
        let attempt = attempt.clone();
        async move {
            app.request(Method::POST, "/api/v1/auth/login")
                .header("x-forwarded-for", client)
                .json(&attempt)
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };

    assert_eq!(login("203.0.113.1").await, 401);
    assert_eq!(login("203.0.113.1").await, 429);
    assert_eq!(login("203.0.113.2").await, 401);
}

#[tokio::test]
async fn switching_rate_limits_off_disables_them() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.enabled = false;
        s.rate_limit.auth.burst = 1;
    })
    .await;
    for i in 0..5 {
        app.register(&format!("u{i}@example.org")).await;
    }
}

#[tokio::test]
async fn metrics_expose_the_named_series_with_route_templates() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    app.send(&ada, &group, "counted").await;
    app.get(&format!("/api/v1/chats/{group}"), &ada.token).await;
    let _ws = app.ws(&ada).await;

    let response = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").is_some_and(|c| c.starts_with("text/plain")));
    let text = response.text().await.expect("text");

    for series in [
        "http_requests_total{",
        "http_request_duration_seconds_bucket{",
        "missive_websocket_connections",
        "missive_events_delivered_total",
        "missive_events_dropped_total",
        "missive_slow_consumers_closed_total",
        "missive_messages_stored_total",
        "missive_db_pool_connections{state=\"idle\"}",
        "missive_build_info{version=",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
    assert!(
        text.contains("route=\"/api/v1/chats/{chat_id}\""),
        "route templates"
    );
    assert!(!text.contains(&group), "never raw paths");
}

#[tokio::test]
async fn a_request_id_is_echoed_or_generated() {
    let app = TestApp::spawn().await;

    let given = app
        .request(Method::GET, "/health")
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("request");
    assert_eq!(header(&given, "x-request-id").as_deref(), Some("abc-123"));

    let generated = app
        .request(Method::GET, "/api/v1/nope")
        .send()
        .await
        .expect("request");
    let id = header(&generated, "x-request-id").expect("generated");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}

#[tokio::test]
async fn responses_carry_nosniff_no_server_header_and_no_cors_by_default() {
    let app = TestApp::spawn().await;

    let response = app
        .request(Method::GET, "/health")
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");

    assert_eq!(
        header(&response, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(header(&response, "server").is_none());
    assert!(header(&response, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn configured_cors_origins_are_allowed() {
    let app =
        TestApp::spawn_with(|s| s.server.cors_origins = vec!["https://app.example.org".into()])
            .await;

    let preflight = app
        .request(Method::OPTIONS, "/api/v1/users/me")
        .header("origin", "https://app.example.org")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("request");
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("https://app.example.org")
    );

    let other = app
        .request(Method::GET, "/health")
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("request");
    assert!(header(&other, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn creating_chats_has_its_own_stricter_bucket() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.auth.burst = 100;
        s.rate_limit.chat_create.burst = 2;
        s.rate_limit.chat_create.per_secs = 60;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let body = json!({"kind": "group", "title": "t", "member_ids": []});

    for _ in 0..2 {
        let created = app
            .post_json("/api/v1/chats", Some(&ada.token), &body)
            .await;
        assert_eq!(created.status(), 201);
    }
    let refused = app
        .post_json("/api/v1/chats", Some(&ada.token), &body)
        .await;
    assert_problem(refused, 429, "rate_limited").await;

    let group = app.get_json("/api/v1/chats", &ada.token).await["items"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let sent = app
        .post_json(
            &format!("/api/v1/chats/{group}/messages"),
            Some(&ada.token),
            &json!({"content": "still sending"}),
        )
        .await;
    assert_eq!(
        sent.status(),
        201,
        "other writes draw from their own bucket"
    );
}

#[tokio::test]
async fn metrics_can_live_on_a_listener_of_their_own() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("addr").port()
    };
    let app = TestApp::spawn_with(|s| {
        s.metrics.bind = Some(format!("127.0.0.1:{port}").parse().expect("addr"));
    })
    .await;

    let on_api = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("request");
    assert_problem(on_api, 404, "not_found").await;
    let own = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(own.status(), 200);
    assert!(
        own.text()
            .await
            .expect("text")
            .contains("missive_build_info")
    );
}

#[tokio::test]
async fn invented_http_methods_share_one_metrics_label() {
    let app = TestApp::spawn().await;
    let brew = Method::from_bytes(b"BREWCOFFEE").expect("method");
    for _ in 0..2 {
        app.request(brew.clone(), "/api/v1/chats")
            .send()
            .await
            .expect("request");
    }

    let text = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    assert!(!text.contains("BREWCOFFEE"), "{text}");
    assert!(text.contains("method=\"OTHER\""), "{text}");
}

#[tokio::test]
async fn every_route_answers_the_same_with_a_trailing_slash() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let created = app
        .post_json(
            "/api/v1/chats/",
            Some(&ada.token),
            &json!({"kind": "group", "title": "Slash", "member_ids": []}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let with = app.get_json("/api/v1/chats/?limit=5", &ada.token).await;
    let without = app.get_json("/api/v1/chats?limit=5", &ada.token).await;
    assert_eq!(with, without);
    assert_eq!(with["items"].as_array().map(Vec::len), Some(1));
    let me = app.get("/api/v1/users/me/", &ada.token).await;
    assert_eq!(me.status(), 200);
    let ready = app
        .request(Method::GET, "/health/ready/")
        .send()
        .await
        .expect("request");
    assert_eq!(ready.status(), 200);
    let docs = app
        .request(Method::GET, "/docs/")
        .send()
        .await
        .expect("request");
    assert_eq!(docs.status(), 200, "Swagger UI keeps its own slash");
}
