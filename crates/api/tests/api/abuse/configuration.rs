//! Configuration and caching: published secrets refused, no-store answers.

use super::*;

#[test]
fn a_published_example_jwt_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("never.db").display()
    );
    for secret in [
        "a long random string of at least 32 bytes",
        "change-me-to-a-long-random-secret-of-32-bytes-or-more",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_missive"))
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("MISSIVE__DATABASE__URL", &url)
            .env("MISSIVE__SERVER__BIND", "127.0.0.1:0")
            .env("MISSIVE__AUTH__JWT_SECRET", secret)
            .output()
            .expect("run missive");

        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("auth.jwt_secret"), "{stderr}");
        assert!(
            !stderr.contains(secret),
            "the secret is not echoed: {stderr}"
        );
    }
    assert!(
        !dir.path().join("never.db").exists(),
        "refused before opening anything"
    );
}

#[tokio::test]
async fn tokens_keys_and_refusals_are_marked_no_store() {
    let app = TestApp::spawn().await;
    let registered = app
        .post_json(
            "/api/v1/auth/register",
            None,
            &json!({"email": "ada@example.org", "password": PASSWORD, "full_name": "Ada"}),
        )
        .await;
    let logged_in = app
        .post_json(
            "/api/v1/auth/login",
            None,
            &json!({"email": "ada@example.org", "password": PASSWORD}),
        )
        .await;
    let login_cache_control = header(&logged_in, "cache-control");
    let token = logged_in.json::<Value>().await.expect("json")["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let key = app
        .post_json("/api/v1/api-keys", Some(&token), &json!({"name": "k"}))
        .await;
    let anonymous = app
        .request(Method::GET, "/api/v1/users/me")
        .send()
        .await
        .expect("request");

    assert_eq!(registered.status(), 201);
    assert_eq!(login_cache_control.as_deref(), Some("no-store"), "login");
    assert_eq!(key.status(), 201);
    assert_eq!(anonymous.status(), 401);
    for response in [&registered, &key, &anonymous] {
        assert_eq!(
            header(response, "cache-control").as_deref(),
            Some("no-store"),
            "{}",
            response.url()
        );
    }
}
