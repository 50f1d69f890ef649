//! The `missive` binary: version, configuration errors, migrations, and
//! the user/API-key commands, checked end to end against a server.

use std::process::{Command, Output};

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{JWT_SECRET, TestApp, fresh_database_url};

fn missive(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_missive"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MISSIVE__DATABASE__URL", database_url)
        .env("MISSIVE__AUTH__JWT_SECRET", JWT_SECRET.as_str())
        .env("RUST_LOG", "error")
        .output()
        .expect("run missive")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn version_prints_the_crate_version() {
    let output = missive("sqlite::memory:", &["--version"]);
    assert!(output.status.success());
    assert_eq!(
        stdout(&output).trim(),
        format!("missive {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn invalid_configuration_exits_2_with_one_line_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_missive"))
        .arg("migrate")
        .arg("status")
        .env("MISSIVE__SERVER__REQUEST_TIMEOUT_SECS", "soon")
        .output()
        .expect("run missive");

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("request_timeout_secs"), "{stderr}");
}

#[tokio::test]
async fn migrate_reports_status_and_applies_migrations() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path()).await;

    let pending = missive(&url, &["migrate", "status"]);
    assert!(pending.status.success(), "{pending:?}");
    assert!(
        stdout(&pending).starts_with("pending"),
        "{}",
        stdout(&pending)
    );

    assert!(missive(&url, &["migrate", "up"]).status.success());
    let applied = missive(&url, &["migrate", "status"]);
    assert!(
        stdout(&applied).starts_with("applied"),
        "{}",
        stdout(&applied)
    );

    let statuses = |url: &str| -> Vec<String> {
        stdout(&missive(url, &["migrate", "status"]))
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    assert!(statuses(&url).iter().all(|s| s == "applied"));

    assert!(missive(&url, &["migrate", "down"]).status.success());
    let after_down = statuses(&url);
    assert_eq!(
        after_down.last().map(String::as_str),
        Some("pending"),
        "down reverts the newest"
    );
    assert_eq!(after_down[0], "applied", "and only the newest");

    assert!(missive(&url, &["migrate", "fresh"]).status.success());
    assert!(statuses(&url).iter().all(|s| s == "applied"));
}

#[tokio::test]
async fn a_user_and_api_key_created_on_the_command_line_work_over_http() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path()).await;

    let user = missive(
        &url,
        &[
            "user",
            "create",
            "--email",
            "Ops@Example.org",
            "--name",
            "Ops",
            "--password",
            "correct horse",
        ],
    );
    assert!(user.status.success(), "{user:?}");
    let again = missive(
        &url,
        &[
            "user",
            "create",
            "--email",
            "ops@example.org",
            "--name",
            "Ops",
            "--password",
            "correct horse",
        ],
    );
    assert!(!again.status.success(), "a taken email fails");
    let key = missive(
        &url,
        &[
            "api-key",
            "create",
            "--email",
            "ops@example.org",
            "--name",
            "deploy",
        ],
    );
    assert!(key.status.success(), "{key:?}");
    let key = stdout(&key).trim().to_owned();
    assert!(key.starts_with("msv_"), "stdout is only the key: {key}");

    let app = TestApp::spawn_on(dir, url, |_| {}).await;
    let me = app
        .request(Method::GET, "/api/v1/users/me")
        .header("x-api-key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["email"], "ops@example.org");
}

#[tokio::test]
async fn without_a_jwt_secret_a_warning_is_logged_and_log_dir_gets_a_daily_file() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path()).await;
    let logs = dir.path().join("logs");

    let output = Command::new(env!("CARGO_BIN_EXE_missive"))
        .args([
            "user",
            "create",
            "--email",
            "log@example.org",
            "--name",
            "Log",
            "--password",
            "correct horse",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MISSIVE__DATABASE__URL", &url)
        .env("MISSIVE__LOG__DIR", &logs)
        .env("MISSIVE__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .output()
        .expect("run missive");

    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("auth.jwt_secret is not set"), "{stderr}");
    assert!(
        !stderr.contains("correct horse"),
        "the password is never logged"
    );
    let files: Vec<_> = std::fs::read_dir(&logs)
        .expect("log dir")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 1, "one file for today");
    let name = files[0].file_name().to_string_lossy().into_owned();
    assert!(name.starts_with("missive.log."), "{name}");
    let content = std::fs::read_to_string(files[0].path()).expect("read log");
    let first: serde_json::Value =
        serde_json::from_str(content.lines().next().expect("a line")).expect("JSON lines");
    assert!(first["level"].is_string(), "{first}");
    assert!(content.contains("auth.jwt_secret is not set"));
    assert!(!content.contains("correct horse"));
}

#[tokio::test]
async fn old_log_files_beyond_log_max_files_are_deleted() {
    let dir = tempfile::tempdir().expect("dir");
    let url = fresh_database_url(dir.path()).await;
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("log dir");
    for day in 1..=9 {
        std::fs::write(logs.join(format!("missive.log.2026-10-0{day}")), "old\n").expect("old log");
    }
    std::fs::write(logs.join("unrelated.txt"), "keep me").expect("other file");

    let output = Command::new(env!("CARGO_BIN_EXE_missive"))
        .args(["migrate", "status"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MISSIVE__DATABASE__URL", &url)
        .env("MISSIVE__LOG__DIR", &logs)
        .env("MISSIVE__LOG__MAX_FILES", "3")
        .output()
        .expect("run missive");

    assert!(output.status.success(), "{output:?}");
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .expect("log dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let kept: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with("missive.log."))
        .collect();
    assert_eq!(kept.len(), 3, "{names:?}");
    assert!(
        !kept.iter().any(|n| n.ends_with("2026-10-01")),
        "the oldest went first: {names:?}"
    );
    assert!(
        names.contains(&"unrelated.txt".to_owned()),
        "other files stay"
    );
}
