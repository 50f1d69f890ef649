//! Forged, expired and malformed credentials are all 401 with
//! `WWW-Authenticate: Bearer`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{JWT_SECRET, TestApp, assert_problem};

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn sign(alg: Algorithm, secret: &[u8], claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
        .expect("encode")
}

fn unsigned(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn assert_rejected(app: &TestApp, authorization: &str) {
    let response = app
        .request(reqwest::Method::GET, "/api/v1/users/me")
        .header("authorization", authorization)
        .send()
        .await
        .expect("request");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer"),
        "{authorization}: {challenge:?}"
    );
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    let user = app.register("ada@example.org").await;
    let claims = json!({"sub": user.id, "iat": now(), "exp": now() + 600});
    let rs256_header = json!({"alg": "RS256", "typ": "JWT"});
    let rs256 = format!(
        "{}{}",
        unsigned(&rs256_header, &claims),
        URL_SAFE_NO_PAD.encode("not a real signature")
    );
    let hs256_payload = sign(Algorithm::HS256, JWT_SECRET.as_bytes(), &claims);
    let mut tampered_parts: Vec<&str> = hs256_payload.split('.').collect();
    let other_claims = URL_SAFE_NO_PAD
        .encode(json!({"sub": uuid::Uuid::now_v7(), "iat": now(), "exp": now() + 600}).to_string());
    tampered_parts[1] = &other_claims;
    let tampered = tampered_parts.join(".");

    let cases = [
        // another key
        format!(
            "Bearer {}",
            sign(
                Algorithm::HS256,
                b"some-other-secret-0123456789abcdef",
                &claims
            )
        ),
        // alg none
        format!(
            "Bearer {}",
            unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims)
        ),
        // right secret, wrong HMAC algorithm
        format!(
            "Bearer {}",
            sign(Algorithm::HS384, JWT_SECRET.as_bytes(), &claims)
        ),
        // asymmetric algorithm header
        format!("Bearer {rs256}"),
        // expired
        format!(
            "Bearer {}",
            sign(
                Algorithm::HS256,
                JWT_SECRET.as_bytes(),
                &json!({"sub": user.id, "iat": now() - 7200, "exp": now() - 3600})
            )
        ),
        // no exp
        format!(
            "Bearer {}",
            sign(
                Algorithm::HS256,
                JWT_SECRET.as_bytes(),
                &json!({"sub": user.id, "iat": now()})
            )
        ),
        // claims swapped under the original signature
        format!("Bearer {tampered}"),
        "Bearer garbage".into(),
        "Bearer ".into(),
        "Basic YWRhOnBhc3N3b3Jk".into(),
        user.token.clone(),
    ];
    for authorization in &cases {
        assert_rejected(&app, authorization).await;
    }
}

#[tokio::test]
async fn a_protected_route_without_credentials_is_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;

    let response = app
        .request(reqwest::Method::GET, "/api/v1/users/me")
        .send()
        .await
        .expect("request");

    assert_eq!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_valid_token_for_a_user_that_does_not_exist_is_rejected() {
    let app = TestApp::spawn().await;
    let ghost = json!({"sub": uuid::Uuid::now_v7(), "iat": now(), "exp": now() + 600});
    let token = sign(Algorithm::HS256, JWT_SECRET.as_bytes(), &ghost);

    assert_rejected(&app, &format!("Bearer {token}")).await;
}
