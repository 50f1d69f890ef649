//! The web client at `/` (SPEC §10): a few files embedded at compile time
//! (no CDN, no build step, nothing but the binary), served with a strict
//! Content-Security-Policy — scripts and styles from this server only, no
//! inline code — so that even a rendering bug could not run a script
//! injected through a message. Each file is compressed once (gzip, for
//! clients that accept it) and carries a strong `ETag`, so a reload costs
//! a `304`.

use std::io::Write;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Only this server: its scripts, styles, API and WebSocket.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
    manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const TS: &str = "text/plain; charset=utf-8";

/// The client's files: name under `/app/`, type, contents.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        HTML,
        include_str!("../../assets/web/index.html"),
    ),
    ("style.css", CSS, include_str!("../../assets/web/style.css")),
    ("app.js", JS, include_str!("../../assets/web/app.js")),
    ("chats.js", JS, include_str!("../../assets/web/chats.js")),
    (
        "composer.js",
        JS,
        include_str!("../../assets/web/composer.js"),
    ),
    (
        "conversation.js",
        JS,
        include_str!("../../assets/web/conversation.js"),
    ),
    ("dom.js", JS, include_str!("../../assets/web/dom.js")),
    (
        "message.js",
        JS,
        include_str!("../../assets/web/message.js"),
    ),
    ("panels.js", JS, include_str!("../../assets/web/panels.js")),
    ("sdk.js", JS, include_str!("../../assets/web/sdk.js")),
    (
        "missive.d.ts",
        TS,
        include_str!("../../assets/web/missive.d.ts"),
    ),
    ("store.js", JS, include_str!("../../assets/web/store.js")),
    (
        "timeline.js",
        JS,
        include_str!("../../assets/web/timeline.js"),
    ),
];

/// A file ready to serve: its bytes, gzipped bytes and entity tag.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    plain: &'static [u8],
    gzip: Vec<u8>,
    etag: HeaderValue,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, text)| {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
            encoder
                .write_all(text.as_bytes())
                .expect("gzip into memory");
            let gzip = encoder.finish().expect("gzip into memory");
            let digest = Sha256::digest(text.as_bytes());
            let tag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            Asset {
                name,
                content_type,
                plain: text.as_bytes(),
                gzip,
                etag: HeaderValue::from_str(&format!("\"{tag}\"")).expect("hex is a valid header"),
            }
        })
        .collect()
});

/// `/`, `/app/{file}`, and the SDK as `/sdk/missive.js` and
/// `/sdk/missive.d.ts`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/sdk/missive.js",
            get(|headers: HeaderMap| async move { serve("sdk.js", &headers) }),
        )
        .route(
            "/sdk/missive.d.ts",
            get(|headers: HeaderMap| async move { serve("missive.d.ts", &headers) }),
        )
        .route("/", get(|headers: HeaderMap| async move { serve("index.html", &headers) }))
        .route(
            "/app/{file}",
            get(|Path(file): Path<String>, headers: HeaderMap| async move { serve(&file, &headers) }),
        )
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return ApiError::not_found("no such file").into_response();
    };
    let fresh = asset
        .etag
        .to_str()
        .is_ok_and(|etag| super::lists_etag(request, header::IF_NONE_MATCH, etag));
    let gzip = accepts_gzip(request);
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        asset.gzip.clone().into_response()
    } else {
        asset.plain.into_response()
    };
    let headers = response.headers_mut();
    if !fresh {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        if gzip {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
    }
    headers.insert(header::ETAG, asset.etag.clone());
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Revalidated every time (a 304 when unchanged): a new binary serves
    // a new client at once.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Whether `Accept-Encoding` allows gzip (not with `q=0`).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}
