//! Messages with attachments (SPEC §4.7): the sender's own uploads, up to
//! ten, shown as upload objects in answers and events; readable by the
//! chat's members while a live message attaches them; an image gets its
//! dimensions and a thumbnail.

use std::io::Cursor;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestUser, assert_problem, error_fields, header};

/// A real 640×480 PNG photo (opaque) and a small PDF.
fn photo() -> Vec<u8> {
    let image = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n".to_vec()
}

async fn upload(app: &TestApp, user: &TestUser, name: &str, body: Vec<u8>) -> Value {
    let response = app
        .request(Method::POST, &format!("/api/v1/uploads?filename={name}"))
        .bearer_auth(&user.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 201, "upload {name}");
    response.json().await.expect("json")
}

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("id")
}

async fn send(app: &TestApp, user: &TestUser, chat: &str, body: Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/chats/{chat}/messages"),
        Some(&user.token),
        &body,
    )
    .await
}

#[tokio::test]
async fn a_message_carries_files_that_its_chat_may_download_and_a_stranger_may_not() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let chat = app.group(&ada, &[&bob]).await;
    let mut bob_ws = app.ws(&bob).await;

    let image = upload(&app, &ada, "sunset.png", photo()).await;
    assert_eq!(
        (image["width"].as_u64(), image["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_eq!(image["thumbnail"], true);
    let doc = upload(&app, &ada, "notes.pdf", pdf()).await;
    assert!(doc.get("width").is_none());
    assert_eq!(doc["thumbnail"], false);
    // Before it is attached, only its owner can read it.
    let image_path = format!("/api/v1/uploads/{}", id(&image));
    assert_eq!(app.get(&image_path, &bob.token).await.status(), 404);

    // Files only: no text needed.
    let response = send(
        &app,
        &ada,
        &chat,
        json!({"attachments": [id(&doc), id(&image)]}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let sent: Value = response.json().await.expect("json");
    assert_eq!(sent["content"], "");
    let shown: Vec<&str> = sent["attachments"]
        .as_array()
        .expect("attachments")
        .iter()
        .map(|a| a["filename"].as_str().expect("name"))
        .collect();
    assert_eq!(shown, ["notes.pdf", "sunset.png"]);
    assert_eq!(sent["attachments"][1], image);

    // Live, in history and alone: the same objects.
    let event = bob_ws.next_of("message.created").await;
    assert_eq!(event["message"]["attachments"], sent["attachments"]);
    let history = app
        .get_json(&format!("/api/v1/chats/{chat}/messages"), &bob.token)
        .await;
    assert_eq!(history["items"][0]["attachments"], sent["attachments"]);

    // A member downloads the file and its thumbnail; a stranger cannot.
    let file = app.get(&image_path, &bob.token).await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.expect("body").to_vec(), photo());
    let thumb = app
        .get(&format!("{image_path}/thumbnail"), &bob.token)
        .await;
    assert_eq!(thumb.status(), 200);
    assert_eq!(
        header(&thumb, "content-type").as_deref(),
        Some("image/jpeg")
    );
    let small = image::load_from_memory(&thumb.bytes().await.expect("body")).expect("an image");
    assert_eq!((small.width(), small.height()), (320, 240));
    assert_eq!(app.get(&image_path, &eve.token).await.status(), 404);
    let doc_path = format!("/api/v1/uploads/{}", id(&doc));
    assert_eq!(
        app.get(&format!("{doc_path}/thumbnail"), &bob.token)
            .await
            .status(),
        404
    );

    // Deleted: the files leave the message and the chat; the owner keeps them.
    let message_id = sent["id"].as_str().expect("id");
    assert_eq!(
        app.delete(&format!("/api/v1/messages/{message_id}"), &ada.token)
            .await
            .status(),
        204
    );
    let tombstone = bob_ws.next_of("message.deleted").await;
    assert_eq!(tombstone["message"]["attachments"], json!([]));
    assert_eq!(app.get(&image_path, &bob.token).await.status(), 404);
    assert_eq!(app.get(&image_path, &ada.token).await.status(), 200);
}

#[tokio::test]
async fn only_ten_of_the_senders_own_uploads_each_once_may_be_attached() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let eve = app.register("eve@example.org").await;
    let chat = app.group(&ada, &[&bob]).await;
    let mine = upload(&app, &ada, "a.pdf", pdf()).await;
    let theirs = upload(&app, &bob, "b.pdf", pdf()).await;

    // Someone else's upload, an unknown id, a repeat, eleven: 422 naming
    // `attachments`; nothing stored.
    let unknown = uuid::Uuid::now_v7().to_string();
    let eleven: Vec<String> = (0..11).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for attachments in [
        json!([id(&theirs)]),
        json!([unknown]),
        json!([id(&mine), id(&mine)]),
        json!(eleven),
        json!(["not-a-uuid"]),
        json!("a string"),
    ] {
        let response = send(
            &app,
            &ada,
            &chat,
            json!({"content": "x", "attachments": attachments}),
        )
        .await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        let fields = error_fields(&problem);
        assert!(
            fields.len() == 1 && fields[0].starts_with("attachments"),
            "{attachments}: {fields:?}"
        );
    }
    // No text and no file; blank text with a file.
    let empty = send(&app, &ada, &chat, json!({"attachments": []})).await;
    let problem = assert_problem(empty, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["content"]);
    let blank = send(
        &app,
        &ada,
        &chat,
        json!({"content": "  ", "attachments": [id(&mine)]}),
    )
    .await;
    assert_problem(blank, 422, "validation_failed").await;
    // A stranger to the chat learns nothing about uploads: 404.
    let stranger = send(&app, &eve, &chat, json!({"attachments": [id(&mine)]})).await;
    assert_problem(stranger, 404, "not_found").await;
    let history = app
        .get_json(&format!("/api/v1/chats/{chat}/messages"), &ada.token)
        .await;
    assert_eq!(history["items"], json!([]));

    // The same upload may go on several messages.
    for _ in 0..2 {
        let ok = send(
            &app,
            &ada,
            &chat,
            json!({"content": "again", "attachments": [id(&mine)]}),
        )
        .await;
        assert_eq!(ok.status(), 201);
    }
}

#[tokio::test]
async fn text_can_be_edited_away_only_from_a_message_with_files() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let chat = app.group(&ada, &[]).await;
    let file = upload(&app, &ada, "a.pdf", pdf()).await;
    let with_file: Value = send(
        &app,
        &ada,
        &chat,
        json!({"content": "see attached", "attachments": [id(&file)]}),
    )
    .await
    .json()
    .await
    .expect("json");
    let plain = app.send(&ada, &chat, "just text").await;

    let path = |m: &Value| format!("/api/v1/messages/{}", m["id"].as_str().expect("id"));
    let edited = app
        .send_json(
            Method::PATCH,
            &path(&with_file),
            &ada.token,
            &json!({"content": ""}),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.expect("json");
    assert_eq!(edited["content"], "");
    assert_eq!(edited["attachments"][0]["id"], file["id"]);
    let refused = app
        .send_json(
            Method::PATCH,
            &path(&plain),
            &ada.token,
            &json!({"content": ""}),
        )
        .await;
    let problem = assert_problem(refused, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["content"]);
}

#[tokio::test]
async fn websocket_sends_and_batches_attach_files_too() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let chat = app.group(&ada, &[]).await;
    let file = upload(&app, &ada, "a.pdf", pdf()).await;
    let mut ws = app.ws(&ada).await;
    ws.send(
        json!({"type": "message.send", "ref": "r1", "chat_id": chat, "attachments": [id(&file)]}),
    )
    .await;
    let ack = ws.next_of("ack").await;
    assert_eq!(ack["message"]["attachments"][0]["id"], file["id"]);
    ws.send(json!({"type": "message.send", "ref": "r2", "chat_id": chat, "content": "x", "attachments": [uuid::Uuid::now_v7()]}))
        .await;
    let error = ws.next_of("error").await;
    assert_eq!(error["error"]["code"], "validation_failed");

    let batch = app
        .send_json(
            Method::POST,
            &format!("/api/v1/chats/{chat}/messages/batch"),
            &ada.token,
            &json!({"items": [
                {"content": "one", "attachments": [id(&file)]},
                {"content": "two"},
            ]}),
        )
        .await;
    assert_eq!(batch.status(), 201);
    let stored: Value = batch.json().await.expect("json");
    assert_eq!(stored["items"][0]["attachments"][0]["id"], file["id"]);
    assert_eq!(stored["items"][1]["attachments"], json!([]));
    let bad = app
        .send_json(
            Method::POST,
            &format!("/api/v1/chats/{chat}/messages/batch"),
            &ada.token,
            &json!({"items": [{"content": "one"}, {"attachments": [uuid::Uuid::now_v7()]}]}),
        )
        .await;
    let problem = assert_problem(bad, 422, "validation_failed").await;
    assert_eq!(error_fields(&problem), ["items[1].attachments"]);
}

/// An S3 server on a loopback port (`s3s` over a temporary directory, one
/// bucket), for as long as it is kept.
struct S3Server {
    endpoint: String,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl S3Server {
    async fn start() -> Self {
        use hyper_util::rt::{TokioExecutor, TokioIo};
        use hyper_util::server::conn::auto::Builder;
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("missive")).expect("the bucket");
        let mut builder =
            s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(dir.path()).expect("fs"));
        builder.set_auth(s3s::auth::SimpleAuth::from_single("key-id", "secret"));
        let service = builder.build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self {
            endpoint,
            _dir: dir,
            task,
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn with_s3_storage_files_go_up_attach_and_come_down_the_same() {
    let s3 = S3Server::start().await;
    let endpoint = s3.endpoint.clone();
    let app = TestApp::spawn_with(move |settings| {
        settings.storage.backend = "s3".to_owned();
        settings.storage.s3.bucket = "missive".to_owned();
        settings.storage.s3.endpoint = Some(endpoint);
        settings.storage.s3.access_key_id = "key-id".to_owned();
        settings.storage.s3.secret_access_key = "secret".to_owned().into();
        settings.storage.s3.allow_http = true;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let chat = app.group(&ada, &[&bob]).await;
    let bytes = photo();
    let image = upload(&app, &ada, "sunset.png", bytes.clone()).await;
    assert_eq!(image["thumbnail"], true);
    // The same bytes again are the same blob (one object in the bucket).
    let again = upload(&app, &ada, "copy.png", bytes.clone()).await;
    assert_eq!(again["sha256"], image["sha256"]);
    let sent = send(&app, &ada, &chat, json!({"attachments": [id(&image)]})).await;
    assert_eq!(sent.status(), 201);

    let path = format!("/api/v1/uploads/{}", id(&image));
    let whole = app.get(&path, &bob.token).await;
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.expect("body").to_vec(), bytes);
    let part = app
        .request(Method::GET, &path)
        .bearer_auth(&bob.token)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.bytes().await.expect("body").to_vec(),
        bytes[1000..2000]
    );
    let thumb = app.get(&format!("{path}/thumbnail"), &bob.token).await;
    assert_eq!(thumb.status(), 200);
    assert!(image::load_from_memory(&thumb.bytes().await.expect("body")).is_ok());
}

#[tokio::test]
async fn a_member_who_leaves_or_whose_chat_is_deleted_can_no_longer_download() {
    let app = TestApp::spawn().await;
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let cy = app.register("cy@example.org").await;
    let chat = app.group(&ada, &[&bob, &cy]).await;
    let file = upload(&app, &ada, "plan.pdf", pdf()).await;
    let sent = send(&app, &ada, &chat, json!({"attachments": [id(&file)]})).await;
    assert_eq!(sent.status(), 201);
    let path = format!("/api/v1/uploads/{}", id(&file));
    assert_eq!(app.get(&path, &bob.token).await.status(), 200);

    let removed = app
        .delete(
            &format!("/api/v1/chats/{chat}/members/{}", bob.id),
            &ada.token,
        )
        .await;
    assert_eq!(removed.status(), 204);
    assert_eq!(app.get(&path, &bob.token).await.status(), 404);
    assert_eq!(app.get(&path, &cy.token).await.status(), 200);

    let deleted = app
        .delete(&format!("/api/v1/chats/{chat}"), &ada.token)
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.get(&path, &cy.token).await.status(), 404);
    assert_eq!(app.get(&path, &ada.token).await.status(), 200);
}

#[tokio::test]
async fn one_user_streams_a_bounded_number_of_uploads_at_once() {
    let app = TestApp::spawn_with(|settings| {
        settings.uploads.max_in_flight_per_user = 1;
    })
    .await;
    let ada = app.register("ada@example.org").await;
    // One upload whose body never ends holds the only slot …
    let (sender, body) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    sender.unbounded_send(Ok(pdf())).expect("the first bytes");
    let slow = app
        .request(Method::POST, "/api/v1/uploads?filename=slow.pdf")
        .bearer_auth(&ada.token)
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(body))
        .send();
    let slow = tokio::spawn(slow);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // … so a second one is 429 at once, with Retry-After.
    let second = app
        .request(Method::POST, "/api/v1/uploads?filename=b.pdf")
        .bearer_auth(&ada.token)
        .header("content-type", "application/octet-stream")
        .body(pdf())
        .send()
        .await
        .expect("second");
    assert_eq!(second.status(), 429);
    assert!(header(&second, "retry-after").is_some());
    // Others are not held up by Ada.
    let bob = app.register("bob@example.org").await;
    upload(&app, &bob, "c.pdf", pdf()).await;
    // Once the first ends, the slot comes back.
    drop(sender);
    assert_eq!(slow.await.expect("task").expect("first").status(), 201);
    upload(&app, &ada, "d.pdf", pdf()).await;
}
