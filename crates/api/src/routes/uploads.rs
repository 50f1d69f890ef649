//! Uploads: `POST /uploads` (the file as the body, or the first file part
//! of a `multipart/form-data` body), `GET /uploads/{upload_id}` and
//! `GET /uploads/{upload_id}/thumbnail` (ranges, `ETag`, safe dispositions).

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use missive_domain::ids::UploadId;
use missive_domain::ports::{BlobError, ChunkSource};
use missive_domain::services::uploads::{Download, UploadError};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::openapi::{
    BadRequest, NotFound, RangeNotSatisfiable, TooManyRequests, Unauthorized, UploadRefused,
    UploadTooLarge, ValidationFailed,
};
use crate::state::AppState;
use crate::views::{BinaryBody, UploadView};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(download))
        .routes(routes!(thumbnail))
}

/// Query of `POST /uploads`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name (for a raw body; a multipart part's own file name
    /// is used when this is absent). Cleaned to its last path component.
    #[param(max_length = 1000)]
    filename: Option<String>,
}

/// Longest `?filename=` accepted (what is kept is cut to 255 characters).
const MAX_FILENAME_PARAM: usize = 1000;

/// A request body (or one multipart part) read chunk by chunk.
struct Incoming<S>(S);

#[async_trait::async_trait]
impl<S, E> ChunkSource for Incoming<S>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Send + Unpin,
    E: std::error::Error + Send + Sync + 'static,
{
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, BlobError> {
        match self.0.next().await {
            None => Ok(None),
            // Without a copy when the buffer is not shared.
            Some(Ok(bytes)) => Ok(Some(Vec::from(bytes))),
            Some(Err(error)) => {
                // The server's outer body limit speaks first for a body
                // far over `uploads.max_bytes`.
                if is_length_limit(&error) {
                    return Err(BlobError::TooLarge);
                }
                Err(BlobError::Source(Box::new(error)))
            }
        }
    }
}

/// Whether the outer body limit is somewhere in this error's chain.
fn is_length_limit(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// Stores a file for attaching to messages. Send the bytes as the body
/// (`?filename=` names it) or as `multipart/form-data` (its first part
/// with a file name). Streamed to storage as it arrives: larger than
/// `uploads.max_bytes` is 413 (nothing kept); the type is detected from
/// the bytes — the declared `Content-Type` is ignored — and checked
/// against `uploads.allowed_types` (415); over your quota
/// (`uploads.quota_bytes`) is 413 `quota_exceeded`. The same bytes
/// uploaded again (by anyone) are stored once. At most
/// `uploads.max_in_flight_per_user` of one user's (4) and
/// `uploads.max_in_flight` in all (64) stream at once: 429 past them.
#[utoipa::path(
    post, path = "/uploads", tag = "uploads", operation_id = "upload_file",
    params(UploadQuery),
    request_body(content = BinaryBody, content_type = "application/octet-stream",
        description = "The file's bytes (any type; or multipart/form-data with a file part)"),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "The stored upload", body = UploadView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = UploadTooLarge),
        (status = 415, response = UploadRefused),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyRequests),
    )
)]
async fn upload(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<UploadView>), ApiError> {
    if query
        .filename
        .as_ref()
        .is_some_and(|name| name.chars().count() > MAX_FILENAME_PARAM)
    {
        return Err(ApiError::validation(vec![crate::error::FieldError::new(
            "filename",
            format!("must be at most {MAX_FILENAME_PARAM} characters"),
        )]));
    }
    // A slot before any byte is read; held until the upload is done.
    let slot = app
        .upload_slots
        .try_take(caller)
        .ok_or_else(|| ApiError::rate_limited(1))?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (filename, source): (String, Box<dyn ChunkSource>) = match multer::parse_boundary(declared)
    {
        Ok(boundary) => {
            let mut parts = multer::Multipart::new(body.into_data_stream(), boundary);
            loop {
                match parts.next_field().await {
                    Ok(Some(field)) if field.file_name().is_some() => {
                        let name = query
                            .filename
                            .clone()
                            .or_else(|| field.file_name().map(str::to_owned))
                            .unwrap_or_default();
                        break (name, Box::new(Incoming(field)));
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Err(ApiError::bad_request(
                            "the multipart body has no file part (a part with a filename)",
                        ));
                    }
                    Err(multer::Error::StreamReadFailed(error)) => {
                        return Err(if is_length_limit(&*error) {
                            ApiError::payload_too_large()
                        } else {
                            ApiError::bad_request("the upload was interrupted before its end")
                        });
                    }
                    Err(error) => {
                        return Err(ApiError::bad_request(format!(
                            "the multipart body does not parse: {error}"
                        )));
                    }
                }
            }
        }
        Err(_)
            if declared
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/") =>
        {
            return Err(ApiError::bad_request(
                "a multipart body needs its boundary in Content-Type",
            ));
        }
        Err(_) => (
            query.filename.unwrap_or_default(),
            Box::new(Incoming(body.into_data_stream())),
        ),
    };
    // To completion even if the client or the request timeout gives up:
    // the steps after the bytes arrived (record, clean-up) always finish.
    let uploads = app.uploads.clone();
    let stored = super::to_completion(async move {
        let stored = uploads.receive(caller, &filename, source).await;
        drop(slot);
        stored
    })
    .await?;
    Ok((StatusCode::CREATED, Json(stored.into())))
}

/// Downloads an upload: its uploader, or a member of a chat where a live
/// message attaches it (404 for anyone else). Supports one `Range:
/// bytes=…` (206; 416 outside the file), `ETag` / `If-None-Match` (304)
/// and `If-Range`. Images, audio and video of safe types are served
/// `inline`; everything else — HTML, SVG, PDF, text — as an
/// `attachment`, with `nosniff` and a sandboxing policy, so no file can
/// run script on this origin.
#[utoipa::path(
    get, path = "/uploads/{upload_id}", tag = "uploads", operation_id = "download_upload",
    params(("upload_id" = uuid::Uuid, Path, description = "Upload id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The file, with its own type (`Content-Type` as detected at upload)", content_type = "*/*", body = BinaryBody),
        (status = 206, description = "The range asked for (`Content-Range`)", content_type = "*/*", body = BinaryBody),
        (status = 304, description = "Unchanged (`If-None-Match`)"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 416, response = RangeNotSatisfiable),
    )
)]
async fn download(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&app, caller, UploadId::from_uuid(id), false, &headers).await
}

/// A small preview of an image upload (PNG, JPEG, GIF or WebP): at most
/// 320×320 pixels, turned upright, JPEG — or PNG when the image has
/// transparency. Under the same rules as the upload; 404 when it has none
/// (not an image, or one too large to decode).
#[utoipa::path(
    get, path = "/uploads/{upload_id}/thumbnail", tag = "uploads", operation_id = "download_thumbnail",
    params(("upload_id" = uuid::Uuid, Path, description = "Upload id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The preview", content(
            (BinaryBody = "image/jpeg"),
            (BinaryBody = "image/png"),
        )),
        (status = 304, description = "Unchanged (`If-None-Match`)"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn thumbnail(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve(&app, caller, UploadId::from_uuid(id), true, &headers).await
}

async fn serve(
    app: &AppState,
    caller: missive_domain::ids::UserId,
    id: UploadId,
    thumbnail: bool,
    request: &HeaderMap,
) -> Result<Response, ApiError> {
    let upload = app.uploads.find(caller, id).await?;
    let sha = if thumbnail {
        upload.thumbnail.clone().ok_or(UploadError::NotFound)?
    } else {
        upload.sha256.clone()
    };
    let etag = format!("\"{sha}\"");
    let matches = |name| super::lists_etag(request, name, &etag);
    let mut response = if matches(header::IF_NONE_MATCH) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        // A range only applies to the version the client has (If-Range).
        let range = match request.get(header::IF_RANGE) {
            Some(_) if !matches(header::IF_RANGE) => None,
            _ => request.get(header::RANGE).and_then(|v| v.to_str().ok()),
        };
        let Download {
            upload,
            range,
            mut body,
        } = match app.uploads.open(caller, id, thumbnail, range).await {
            Ok(download) => download,
            Err(UploadError::RangeNotSatisfiable(size)) => {
                let mut response =
                    ApiError::from(UploadError::RangeNotSatisfiable(size)).into_response();
                if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, value);
                }
                return Ok(response);
            }
            Err(other) => return Err(other.into()),
        };
        // A thumbnail (a few KiB) is read whole: its type (JPEG, or PNG
        // when it has transparency) is told by its first bytes.
        let mut thumbnail_type = None;
        if thumbnail {
            let mut bytes = Vec::new();
            while let Some(chunk) = body.next_chunk().await.map_err(UploadError::from)? {
                bytes.extend(chunk);
            }
            thumbnail_type = Some(if bytes.starts_with(b"\x89PNG") {
                "image/png"
            } else if bytes.starts_with(&[0xFF, 0xD8]) {
                "image/jpeg"
            } else {
                "application/octet-stream"
            });
            body = Box::new(InMemory(Some(bytes)));
        }
        let stream = futures_util::stream::unfold(body, |mut body| async move {
            match body.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(bytes::Bytes::from(chunk)), body)),
                Ok(None) => None,
                Err(error) => {
                    tracing::warn!(%error, "an upload's bytes could not be read");
                    Some((Err(std::io::Error::other(error.to_string())), body))
                }
            }
        });
        let mut response = Response::new(Body::from_stream(stream));
        let headers = response.headers_mut();
        match (range, thumbnail) {
            (Some(range), _) => {
                *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(range.len()));
                if let Ok(value) = HeaderValue::from_str(&format!(
                    "bytes {}-{}/{}",
                    range.first, range.last, upload.size
                )) {
                    headers.insert(header::CONTENT_RANGE, value);
                }
            }
            (None, false) => {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(upload.size));
            }
            (None, true) => {}
        }
        let headers = response.headers_mut();
        let content_type = thumbnail_type.unwrap_or(upload.content_type.as_str());
        let inline = thumbnail || upload.content_type.is_safe_inline();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        if let Ok(value) = HeaderValue::from_str(&disposition(inline, upload.filename.as_str())) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        response
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    // Revalidated each time (cheap: a 304), so losing access takes effect.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(response)
}

/// `Content-Disposition` with the file name twice: an ASCII fallback and
/// the exact UTF-8 name (RFC 6266, RFC 8187).
fn disposition(inline: bool, filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!(
        "{}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}",
        if inline { "inline" } else { "attachment" }
    )
}

/// Bytes already read, served as a body.
struct InMemory(Option<Vec<u8>>);

#[async_trait::async_trait]
impl missive_domain::ports::ChunkSource for InMemory {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, missive_domain::ports::BlobError> {
        Ok(self.0.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_quote_safely_and_keep_the_exact_name() {
        assert_eq!(
            disposition(false, "report.pdf"),
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"
        );
        assert_eq!(
            disposition(true, "été \"x\".png"),
            "inline; filename=\"_t_ _x_.png\"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22.png"
        );
    }
}
