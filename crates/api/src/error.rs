//! The one place where failures become HTTP responses: RFC 9457
//! `application/problem+json` bodies with a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use missive_domain::InfraError;
use missive_domain::services::api_keys::{AuthenticateApiKeyError, RevokeApiKeyError};
use missive_domain::services::chats::ChatError;
use missive_domain::services::messages::MessageError;
use missive_domain::services::users::{GetUserError, LoginError, RegisterError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:missive:problem:validation_failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the request body has invalid fields",
    "code": "validation_failed",
    "errors": [{"field": "email", "message": "must be a valid email address"}]
}))]
pub struct Problem {
    /// `urn:missive:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for humans.
    pub detail: String,
    /// Stable, machine-readable snake_case code.
    pub code: String,
    /// With 422: each offending field.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request (`email`, `member_ids[2]`).
    pub field: String,
    /// Why it was refused.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An error on its way to becoming a problem response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    www_authenticate: Option<&'static str>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            www_authenticate: None,
            retry_after_secs: None,
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 401 `unauthorized`, with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail);
        error.www_authenticate = Some("Bearer");
        error
    }

    /// 401 `unauthorized` for credentials that were presented but are bad.
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        let mut error = Self::unauthorized(detail);
        error.www_authenticate = Some("Bearer error=\"invalid_token\"");
        error
    }

    /// 403 `forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 405 `method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this method is not allowed on this resource",
        )
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than the server accepts",
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be sent with Content-Type: application/json",
        )
    }

    /// 422 `validation_failed` naming each offending field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the request has invalid fields",
        );
        error.errors = errors;
        error
    }

    /// 409 with a specific code.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 410 `sync_expired`.
    pub fn sync_expired() -> Self {
        Self::new(
            StatusCode::GONE,
            "sync_expired",
            "the sync token is older than the changes kept (or not one of this server's): \
             reload state and start again from a fresh token",
        )
    }

    /// 429 `rate_limited`, with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; retry after the number of seconds in Retry-After",
        );
        error.retry_after_secs = Some(retry_after_secs.max(1));
        error
    }

    /// 429 `too_many_connections`: the user has the maximum number of
    /// WebSockets open.
    pub fn too_many_connections(max: usize) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_connections",
            format!("at most {max} WebSocket connections per user; close one first"),
        );
        error.retry_after_secs = Some(1);
        error
    }

    /// 503 `unavailable`.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
        error.retry_after_secs = Some(1);
        error
    }

    /// 500 `internal`; the cause is logged here, once, and never sent.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %ErrorChain(cause), "request failed unexpectedly");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an unexpected error occurred",
        )
    }

    /// A problem for a bare status produced outside the handlers (router,
    /// middleware), using the conventional code for that status.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => Self::bad_request("the request is malformed"),
            StatusCode::UNAUTHORIZED => Self::unauthorized("authentication is required"),
            StatusCode::FORBIDDEN => Self::forbidden("not allowed"),
            StatusCode::NOT_FOUND => Self::not_found("no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => Self::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::unsupported_media_type(),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                Self::unavailable("the request could not be completed in time")
            }
            s if s.is_client_error() => Self::new(s, "bad_request", "the request was refused"),
            s => Self::new(s, "internal", "an unexpected error occurred"),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Seconds to wait before retrying (429, 503), if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:missive:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Displays an error with its chain of sources.
struct ErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl From<InfraError> for ApiError {
    fn from(error: InfraError) -> Self {
        match &error {
            InfraError::Unavailable(_) => {
                tracing::warn!(error = %ErrorChain(&error), "dependency unavailable");
                Self::unavailable("the service is temporarily unavailable; retry shortly")
            }
            InfraError::Unexpected(_) => Self::internal(&error),
        }
    }
}

impl From<missive_domain::services::uploads::UploadError> for ApiError {
    fn from(error: missive_domain::services::uploads::UploadError) -> Self {
        use missive_domain::services::uploads::UploadError;
        match error {
            UploadError::TooLarge(max) => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the file is larger than uploads.max_bytes ({max} bytes)"),
            ),
            UploadError::QuotaExceeded => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "quota_exceeded",
                "your uploads would exceed your storage quota; delete messages with attachments to free some",
            ),
            UploadError::UnsupportedType(found) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("files of type {found} (detected from their bytes) are not accepted here"),
            ),
            UploadError::NotFound => Self::not_found("upload not found"),
            UploadError::RangeNotSatisfiable(size) => Self::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the range is outside the file's {size} bytes"),
            ),
            UploadError::Interrupted => {
                Self::bad_request("the upload was interrupted before its end")
            }
            UploadError::Infra(e) => e.into(),
        }
    }
}

impl From<RegisterError> for ApiError {
    fn from(error: RegisterError) -> Self {
        match error {
            RegisterError::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "a user with this email already exists",
            ),
            RegisterError::Infra(e) => e.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => {
                let mut error = Self::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_credentials",
                    "invalid email or password",
                );
                error.www_authenticate = Some("Bearer");
                error
            }
            LoginError::Infra(e) => e.into(),
        }
    }
}

impl From<GetUserError> for ApiError {
    fn from(error: GetUserError) -> Self {
        match error {
            GetUserError::NotFound => Self::not_found("user not found"),
            GetUserError::Infra(e) => e.into(),
        }
    }
}

impl From<RevokeApiKeyError> for ApiError {
    fn from(error: RevokeApiKeyError) -> Self {
        match error {
            RevokeApiKeyError::NotFound => Self::not_found("api key not found"),
            RevokeApiKeyError::Infra(e) => e.into(),
        }
    }
}

impl From<AuthenticateApiKeyError> for ApiError {
    fn from(error: AuthenticateApiKeyError) -> Self {
        match error {
            AuthenticateApiKeyError::InvalidKey => {
                Self::invalid_token("invalid or revoked api key")
            }
            AuthenticateApiKeyError::Infra(e) => e.into(),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::NotFound => Self::not_found("chat not found"),
            ChatError::Forbidden(why) => Self::forbidden(why),
            ChatError::NotAGroup => Self::conflict(
                "not_a_group",
                "this operation is only possible on group chats",
            ),
            ChatError::IdTaken => Self::conflict(
                "chat_id_taken",
                "another chat already has this id; choose another",
            ),
            ChatError::Invalid { field, message } => {
                Self::validation(vec![FieldError::new(field, message)])
            }
            ChatError::Infra(e) => e.into(),
        }
    }
}

impl From<MessageError> for ApiError {
    fn from(error: MessageError) -> Self {
        match error {
            MessageError::NotFound => Self::not_found("not found"),
            MessageError::Forbidden(why) => Self::forbidden(why),
            MessageError::Deleted => Self::conflict(
                "message_deleted",
                "the message was deleted and cannot be changed",
            ),
            MessageError::Invalid { field, message } => {
                Self::validation(vec![FieldError::new(field, message)])
            }
            MessageError::Infra(e) => e.into(),
        }
    }
}

impl From<missive_domain::services::sync::SyncError> for ApiError {
    fn from(error: missive_domain::services::sync::SyncError) -> Self {
        match error {
            missive_domain::services::sync::SyncError::Expired => Self::sync_expired(),
            missive_domain::services::sync::SyncError::Infra(e) => e.into(),
        }
    }
}
