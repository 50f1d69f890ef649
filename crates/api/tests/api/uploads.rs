//! Uploads (SPEC §4.7): streamed, bounded, typed from their bytes, under
//! a quota, stored once per content, served with ranges, ETags and safe
//! dispositions, visible only to their owner (until attached).

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, TestUser, assert_problem, header};

/// A small but real PNG signature and header.
fn png(extra: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend((0..extra).map(|i| (i % 251) as u8));
    bytes
}

async fn upload(app: &TestApp, user: &TestUser, query: &str, body: Vec<u8>) -> reqwest::Response {
    app.request(Method::POST, &format!("/api/v1/uploads{query}"))
        .bearer_auth(&user.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("upload")
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn an_upload_is_typed_from_its_bytes_and_served_with_ranges_and_etags() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bytes = png(10_000);
    // The declared type and a path in the name are not trusted.
    let response = upload(&app, &ada, "?filename=../../etc/cat.png", bytes.clone()).await;
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(stored["filename"], "cat.png");
    assert_eq!(stored["content_type"], "image/png");
    assert_eq!(stored["size"], bytes.len());
    assert_eq!(stored["sha256"], sha256_hex(&bytes));
    let id = stored["id"].as_str().expect("id");
    let path = format!("/api/v1/uploads/{id}");

    let whole = app.get(&path, &ada.token).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(header(&whole, "content-type").as_deref(), Some("image/png"));
    assert_eq!(
        header(&whole, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(header(&whole, "accept-ranges").as_deref(), Some("bytes"));
    assert!(
        header(&whole, "content-disposition")
            .is_some_and(|d| d.starts_with("inline;") && d.contains("cat.png"))
    );
    let etag = header(&whole, "etag").expect("etag");
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&bytes)));
    assert_eq!(whole.bytes().await.expect("body").to_vec(), bytes);

    let part = app
        .request(Method::GET, &path)
        .bearer_auth(&ada.token)
        .header("range", "bytes=100-199")
        .send()
        .await
        .expect("get");
    assert_eq!(part.status(), 206);
    assert_eq!(
        header(&part, "content-range"),
        Some(format!("bytes 100-199/{}", bytes.len()))
    );
    assert_eq!(part.bytes().await.expect("body").to_vec(), bytes[100..200]);

    let tail = app
        .request(Method::GET, &path)
        .bearer_auth(&ada.token)
        .header("range", "bytes=-5")
        .send()
        .await
        .expect("get");
    assert_eq!(
        tail.bytes().await.expect("body").to_vec(),
        bytes[bytes.len() - 5..]
    );

    let unchanged = app
        .request(Method::GET, &path)
        .bearer_auth(&ada.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("get");
    assert_eq!(unchanged.status(), 304);

    let past = app
        .request(Method::GET, &path)
        .bearer_auth(&ada.token)
        .header("range", "bytes=999999-")
        .send()
        .await
        .expect("get");
    assert_eq!(
        header(&past, "content-range"),
        Some(format!("bytes */{}", bytes.len()))
    );
    assert_problem(past, 416, "range_not_satisfiable").await;

    // A stale If-Range: the whole file, not the range.
    let stale = app
        .request(Method::GET, &path)
        .bearer_auth(&ada.token)
        .header("range", "bytes=0-9")
        .header("if-range", "\"old\"")
        .send()
        .await
        .expect("get");
    assert_eq!(stale.status(), 200);

    // No thumbnail yet for this one.
    assert_problem(
        app.get(&format!("{path}/thumbnail"), &ada.token).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn only_the_owner_sees_an_unattached_upload_and_strangers_get_404() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let eve = app.register("eve@example.org").await;
    let stored: Value = upload(&app, &ada, "?filename=a.png", png(10))
        .await
        .json()
        .await
        .expect("json");
    let path = format!("/api/v1/uploads/{}", stored["id"].as_str().expect("id"));
    assert_problem(app.get(&path, &eve.token).await, 404, "not_found").await;
    assert_problem(
        app.get(
            "/api/v1/uploads/00000000-0000-7000-8000-000000000000",
            &ada.token,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let anonymous = app.request(Method::GET, &path).send().await.expect("get");
    assert_problem(anonymous, 401, "unauthorized").await;
    let anonymous = app
        .request(Method::POST, "/api/v1/uploads")
        .body(png(1))
        .send()
        .await
        .expect("post");
    assert_problem(anonymous, 401, "unauthorized").await;
}

#[tokio::test]
async fn too_large_wrong_types_and_a_used_up_quota_are_refused_and_keep_nothing() {
    let app = TestApp::spawn_with(|s| {
        s.uploads.max_bytes = 1000;
        s.uploads.quota_bytes = 1500;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    assert_problem(
        upload(&app, &ada, "?filename=big.png", png(2000)).await,
        413,
        "payload_too_large",
    )
    .await;
    // Far over: the server's outer body limit answers, the same way.
    assert_problem(
        upload(&app, &ada, "?filename=huge.png", png(200_000)).await,
        413,
        "payload_too_large",
    )
    .await;
    for (name, body) in [
        (
            "page.html",
            b"<!doctype html><script>alert(1)</script>".to_vec(),
        ),
        (
            "logo.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(),
        ),
        ("blob.bin", vec![0, 1, 2, 3, 255, 254]),
    ] {
        let refused = assert_problem(
            upload(&app, &ada, &format!("?filename={name}"), body).await,
            415,
            "unsupported_media_type",
        )
        .await;
        assert!(
            refused["detail"]
                .as_str()
                .is_some_and(|d| d.contains("detected")),
            "{refused}"
        );
    }
    // Refusals kept nothing: the quota is whole.
    assert_eq!(
        upload(&app, &ada, "?filename=a.png", png(900))
            .await
            .status(),
        201
    );
    assert_problem(
        upload(&app, &ada, "?filename=b.png", png(900)).await,
        413,
        "quota_exceeded",
    )
    .await;
    let long = "x".repeat(1001);
    let refused = assert_problem(
        upload(&app, &ada, &format!("?filename={long}"), png(1)).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(crate::helpers::error_fields(&refused), ["filename"]);
    // Text is text.
    assert_eq!(
        upload(&app, &ada, "?filename=notes.txt", b"hello".to_vec())
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn markup_allowed_by_configuration_is_still_served_as_a_download() {
    let app = TestApp::spawn_with(|s| s.uploads.allowed_types = vec!["*/*".to_owned()]).await;
    let ada = app.register("ada@example.org").await;
    for (name, body, kind) in [
        (
            "page.html",
            b"<!doctype html><script>alert(1)</script>".to_vec(),
            "text/html",
        ),
        (
            "logo.svg",
            b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>".to_vec(),
            "image/svg+xml",
        ),
    ] {
        let stored: Value = upload(&app, &ada, &format!("?filename={name}"), body)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(stored["content_type"], kind);
        let served = app
            .get(
                &format!("/api/v1/uploads/{}", stored["id"].as_str().expect("id")),
                &ada.token,
            )
            .await;
        assert!(
            header(&served, "content-disposition").is_some_and(|d| d.starts_with("attachment;")),
            "{name}"
        );
        assert!(header(&served, "content-security-policy").is_some_and(|p| p.contains("sandbox")));
        assert_eq!(
            header(&served, "x-content-type-options").as_deref(),
            Some("nosniff")
        );
    }
}

#[tokio::test]
async fn a_multipart_upload_takes_its_file_part() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let boundary = "XyZ123";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n\
         Content-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend(png(3000));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let response = app
        .request(Method::POST, "/api/v1/uploads")
        .bearer_auth(&ada.token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(stored["filename"], "photo.png");
    assert_eq!(stored["content_type"], "image/png");
    assert_eq!(stored["sha256"], sha256_hex(&png(3000)));
    let no_file = app
        .request(Method::POST, "/api/v1/uploads")
        .bearer_auth(&ada.token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--{boundary}--\r\n"))
        .send()
        .await
        .expect("upload");
    assert_problem(no_file, 400, "bad_request").await;
}

#[tokio::test]
async fn the_same_bytes_uploaded_in_parallel_are_stored_once() {
    let dir = tempfile::tempdir().expect("dir");
    let storage = dir.path().to_owned();
    let app =
        TestApp::spawn_with(move |s| s.storage.dir = storage.to_string_lossy().into_owned()).await;
    let users = [
        app.register("a@example.org").await,
        app.register("b@example.org").await,
    ];
    let bytes = png(50_000);
    let answers = futures::future::join_all(
        (0..8).map(|n| upload(&app, &users[n % 2], "?filename=same.png", bytes.clone())),
    )
    .await;
    let mut ids = std::collections::HashSet::new();
    for answer in answers {
        assert_eq!(answer.status(), 201);
        let stored: Value = answer.json().await.expect("json");
        assert_eq!(stored["sha256"], sha256_hex(&bytes));
        ids.insert(stored["id"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), 8, "eight uploads");
    let blobs = walk(&dir.path().join("blobs"));
    assert_eq!(blobs, vec![sha256_hex(&bytes)], "one blob");
    assert!(
        walk(&dir.path().join("tmp")).is_empty(),
        "no staged file left"
    );
}

/// The file names under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        if entry.path().is_dir() {
            names.extend(walk(&entry.path()));
        } else {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

#[tokio::test]
async fn unattached_uploads_expire_and_their_bytes_go_with_them() {
    let dir = tempfile::tempdir().expect("dir");
    let storage = dir.path().to_owned();
    let app = TestApp::spawn_with(move |s| {
        s.storage.dir = storage.to_string_lossy().into_owned();
        s.uploads.unattached_ttl_secs = 0;
        s.uploads.gc_every_secs = 1;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let stored: Value = upload(&app, &ada, "?filename=a.png", png(100))
        .await
        .json()
        .await
        .expect("json");
    let path = format!("/api/v1/uploads/{}", stored["id"].as_str().expect("id"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let gone = app.get(&path, &ada.token).await.status() == 404;
        if gone && walk(&dir.path().join("blobs")).is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the upload was not collected"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let metrics = app
        .request(Method::GET, "/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("missive_uploads_collected_total{kind=\"blobs\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_one_gib_upload_streams_through_without_the_server_holding_it() {
    use futures::StreamExt;
    const GIB: u64 = 1 << 30;
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("big.db").display());
    let storage = dir.path().join("storage").to_string_lossy().into_owned();
    let server = crate::helpers::Served::start(&[
        ("MISSIVE__DATABASE__URL", &url),
        ("MISSIVE__RATE_LIMIT__ENABLED", "false"),
        ("MISSIVE__STORAGE__DIR", &storage),
        ("MISSIVE__UPLOADS__MAX_BYTES", "2147483648"),
        ("MISSIVE__UPLOADS__QUOTA_BYTES", "4294967296"),
        ("MISSIVE__SERVER__REQUEST_TIMEOUT_SECS", "600"),
    ]);
    let client = reqwest::Client::new();
    let registered: Value = client
        .post(server.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"email": "big@example.org", "password": crate::helpers::PASSWORD, "full_name": "Big"}))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = registered["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    // `mebibytes` MiB in 1 MiB chunks, generated as they are sent (a PNG
    // header first; `fill` makes each upload's bytes differ).
    let send = |mebibytes: u64, fill: u8| {
        let chunk: bytes::Bytes = {
            let mut first = png(0);
            first.resize(1 << 20, fill);
            bytes::Bytes::from(first)
        };
        let body = futures::stream::iter(0..mebibytes)
            .map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
        client
            .post(server.url("/api/v1/uploads?filename=big.png"))
            .bearer_auth(&token)
            .header("content-type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body))
            .send()
    };
    // A first upload warms the pools (runtime threads, allocator caches,
    // buffers); what the big one adds after that is what grows with size.
    assert_eq!(send(128, 1).await.expect("warm-up").status(), 201);
    let before_kib = server.peak_rss_kib();
    let started = std::time::Instant::now();
    let response = send(GIB >> 20, 7).await.expect("upload");
    let took = started.elapsed();
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.expect("json");
    assert_eq!(stored["size"], GIB);
    let peak_kib = server.peak_rss_kib();
    println!(
        "1 GiB upload in {took:?} ({:.0} MB/s); server peak RSS {} MiB ({} MiB before)",
        GIB as f64 / 1e6 / took.as_secs_f64(),
        peak_kib / 1024,
        before_kib / 1024
    );
    assert!(
        peak_kib < before_kib + 50 * 1024,
        "RSS grew by {} KiB",
        peak_kib - before_kib
    );
}
