//! Extractors whose rejections are problem documents, so even a malformed
//! request gets the one error format.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use missive_domain::value::ValueError;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError, PROBLEM_JSON};

/// A JSON body. Wrong content type → 415, not JSON → 400, too large → 413,
/// missing field or wrong type → 422 naming the field.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(&req) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large()
            } else {
                ApiError::bad_request("the request body could not be read")
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn has_json_content_type(req: &Request) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserialises a JSON document, mapping failures to 400 (syntax) or 422
/// (shape: missing field, wrong type, unknown enum value).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => value,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            // A shape error in a document that is not even valid JSON is a
            // 400; the syntax check runs only on this (cold) error path.
            let well_formed = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
            return Err(match inner.classify() {
                serde_json::error::Category::Data if well_formed => {
                    ApiError::validation(vec![field_error(&path, &inner)])
                }
                _ => ApiError::bad_request(format!(
                    "the request body is not valid JSON: {}",
                    without_position(&inner)
                )),
            });
        }
    };
    de.end().map_err(|e| {
        ApiError::bad_request(format!(
            "the request body is not valid JSON: {}",
            without_position(&e)
        ))
    })?;
    Ok(value)
}

/// Deserialises an already-parsed JSON value (a WebSocket command), with
/// the same 422 field errors as a request body.
///
/// # Errors
/// 422 naming the offending field.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        ApiError::validation(vec![field_error(&path, &inner)])
    })
}

fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

fn field_error(path: &str, error: &serde_json::Error) -> FieldError {
    let message = without_position(error);
    let parent = if path == "." { "" } else { path };
    // serde reports a missing field at its parent's path, naming it in the
    // message: "missing field `email`".
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field = if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        };
        return FieldError::new(field, "is required");
    }
    let field = if parent.is_empty() { "body" } else { parent };
    FieldError::new(field, message)
}

/// A path parameter; one that does not parse (a bad UUID) → 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::bad_request(format!("invalid path parameter: {}", rejection.body_text()))
    }
}

/// Query parameters; ones that do not parse → 400.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request(format!("invalid query string: {}", rejection.body_text()))
    }
}

/// Collects every invalid field of a request before answering 422, so a
/// client learns about all its mistakes at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Records the error of `result`, if any, under `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, ValueError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(FieldError::new(field, error.message()));
                None
            }
        }
    }

    /// The 422 for everything recorded (call when a `check` returned None).
    pub fn into_error(self) -> ApiError {
        ApiError::validation(self.0)
    }
}

/// Middleware: any error response that is not already a problem document
/// (from the router, a tower layer, a timeout) is replaced by one.
pub async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return response;
    }
    let mut replacement = ApiError::from_status(status).into_response();
    // Keep headers such as `Allow` (405) and `Retry-After`.
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .insert(name.clone(), value.clone());
        }
    }
    replacement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Body {
        email: String,
        age: u8,
        nested: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Nested {
        inner: String,
    }

    fn reject(bytes: &str) -> (StatusCode, Vec<FieldError>) {
        let error = parse_json::<Body>(bytes.as_bytes()).expect_err("must fail");
        (error.status(), error.problem().errors)
    }

    #[test]
    fn a_missing_field_is_named() {
        let (status, errors) = reject(r#"{"age": 3}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors, vec![FieldError::new("email", "is required")]);
    }

    #[test]
    fn a_wrong_type_is_named_with_its_path() {
        let (status, errors) = reject(r#"{"email": 5, "age": 3}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors[0].field, "email");
        assert!(
            errors[0].message.contains("expected a string"),
            "{errors:?}"
        );

        let (_, errors) = reject(r#"{"email": "a", "age": 3, "nested": {}}"#);
        assert_eq!(errors[0].field, "nested.inner");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_validation_error_of_the_body() {
        let (status, errors) = reject("[]");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors[0].field, "body");
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_bad_requests() {
        for body in ["{", "", "nope", r#"{"email": "a", "age": 1} x"#] {
            let error = parse_json::<Body>(body.as_bytes()).expect_err(body);
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body:?}");
        }
    }
}
