//! Load an attacker can cause cheaply: login storms, slow statements.

use super::*;

#[tokio::test]
async fn two_hundred_concurrent_logins_get_200_or_503_and_keep_the_server_under_256_mib() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("storm.db").display()
    );
    let server = Served::start(&[
        ("MISSIVE__DATABASE__URL", &url),
        ("MISSIVE__RATE_LIMIT__ENABLED", "false"),
    ]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let credentials = json!({"email": "ada@example.org", "password": PASSWORD});
    let registered = client
        .post(server.url("/api/v1/auth/register"))
        .json(&json!({"email": "ada@example.org", "password": PASSWORD, "full_name": "Ada"}))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), 201);
    let before_kib = server.peak_rss_kib();

    let started = Instant::now();
    let answers = join_all((0..200).map(|_| {
        client
            .post(server.url("/api/v1/auth/login"))
            .json(&credentials)
            .send()
    }))
    .await;
    let took = started.elapsed();

    let (mut ok, mut busy) = (0, 0);
    for answer in answers {
        let answer = answer.expect("every login is answered");
        match answer.status().as_u16() {
            200 => ok += 1,
            503 => {
                assert!(retry_after(&answer) >= 1);
                busy += 1;
            }
            other => panic!("a login answered {other}"),
        }
    }
    let peak_kib = server.peak_rss_kib();
    println!(
        "login storm: {ok} × 200, {busy} × 503 in {took:?}; peak RSS {} MiB ({} MiB before)",
        peak_kib / 1024,
        before_kib / 1024
    );
    assert!(ok > 0, "some logins succeed");
    assert!(peak_kib < 256 * 1024, "peak RSS {peak_kib} KiB");
}

#[tokio::test]
async fn a_statement_stuck_behind_a_lock_is_cancelled_by_the_statement_timeout_with_503() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    if missive_infra::scratch::postgres_test_url().is_none() {
        eprintln!("statement timeout test skipped: MISSIVE_TEST_DATABASE_URL is not set");
        return;
    }
    let app = TestApp::spawn_with(|s| {
        s.database.statement_timeout_secs = 1;
        s.server.request_timeout_secs = 20;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let group = app.group(&ada, &[]).await;
    let admin = missive_infra::Database::connect(&missive_infra::DatabaseOptions {
        url: app.database_url.clone(),
        max_connections: 1,
        acquire_timeout: Duration::from_secs(5),
        statement_timeout: None,
    })
    .await
    .expect("admin connection");
    let lock = admin.connection().begin().await.expect("begin");
    lock.execute_unprepared("LOCK TABLE messages IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock");
    let body = json!({"content": "stuck", "client_id": "stuck-1"});

    let started = Instant::now();
    let stuck = app
        .post_json(&messages_path(&group), Some(&ada.token), &body)
        .await;
    let took = started.elapsed();

    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "cancelled after about a second: {took:?}"
    );
    assert!(retry_after(&stuck) >= 1);
    assert_problem(stuck, 503, "unavailable").await;
    lock.rollback().await.expect("release the lock");
    let retried = app
        .post_json(&messages_path(&group), Some(&ada.token), &body)
        .await;
    assert_eq!(
        retried.status(),
        201,
        "the same send succeeds once the lock is gone"
    );
    let history = app.get_json(&messages_path(&group), &ada.token).await;
    assert_eq!(history["items"].as_array().expect("items").len(), 1);
}
