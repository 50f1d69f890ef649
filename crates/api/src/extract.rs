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

mod fields;

/// A JSON body. Wrong content type → 415, not JSON → 400, too large → 413,
/// missing fields or wrong types → 422 naming each of them.
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

/// Deserialises a JSON document in one pass over `bytes`.
///
/// # Errors
/// 400 when `bytes` is not one JSON document (a syntax error, trailing
/// garbage, nothing at all). 422 when it is JSON of the wrong shape, naming
/// every missing field (`parent.name`, "is required") and every field of
/// the wrong type or value (its path, serde's message) at once, each field
/// once and at most 32; a document that is not an object is one `body`
/// error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match T::deserialize(&mut de) {
        Ok(value) => {
            de.end().map_err(|error| not_json(&error))?;
            Ok(value)
        }
        Err(_) => Err(reject_body::<T>(bytes)),
    }
}

/// Why `bytes` is not a `T`: the cold path of [`parse_json`], which may
/// spend a bounded number of passes over the document to name every field.
#[cold]
fn reject_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiError {
    let document = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(document) => document,
        Err(error) => return not_json(&error),
    };
    let errors = fields::collect::<T>(document);
    if !errors.is_empty() {
        return ApiError::validation(errors);
    }
    // The document fits `T` as a value but not as bytes: a repeated key,
    // of which the value kept only the last. serde's own error names it.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(error) if error.inner().is_data() => {
            let field = fields::field_error(&error.path().to_string(), error.inner());
            ApiError::validation(vec![field])
        }
        Err(error) => not_json(error.inner()),
        Ok(_) => ApiError::bad_request("the request body could not be read"),
    }
}

fn not_json(error: &serde_json::Error) -> ApiError {
    ApiError::bad_request(format!(
        "the request body is not valid JSON: {}",
        without_position(error)
    ))
}

/// Deserialises an already-parsed JSON value (a WebSocket command).
///
/// # Errors
/// 422 naming every missing field and every field of the wrong type or
/// value at once, as [`parse_json`] does for a request body.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    match T::deserialize(&value) {
        Ok(parsed) => Ok(parsed),
        Err(error) => Err(reject_value::<T>(value, &error)),
    }
}

/// Why `value` is not a `T`: the cold path of [`parse_value`].
#[cold]
fn reject_value<T: DeserializeOwned>(
    value: serde_json::Value,
    error: &serde_json::Error,
) -> ApiError {
    let mut errors = fields::collect::<T>(value);
    if errors.is_empty() {
        // Not expected (the same value failed just before), but the answer
        // must still be a 422 with a field.
        errors.push(fields::field_error(".", error));
    }
    ApiError::validation(errors)
}

fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
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

    /// Checks an optional field: `Some(None)` when it is absent,
    /// `Some(Some(value))` when it parses, `None` (recorded under `field`)
    /// when it does not.
    pub fn check_optional<R, T>(
        &mut self,
        field: &str,
        raw: Option<R>,
        parse: impl FnOnce(R) -> Result<T, ValueError>,
    ) -> Option<Option<T>> {
        match raw {
            Some(raw) => self.check(field, parse(raw)).map(Some),
            None => Some(None),
        }
    }

    /// Records a refusal that is not a value object's (fields that may
    /// not be combined, …).
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message.into()));
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
    struct Body {
        email: String,
        age: u8,
        nested: Option<Nested>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Nested {
        inner: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Direct,
        Group,
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Chat {
        kind: Kind,
        owner: uuid::Uuid,
        #[serde(with = "time::serde::rfc3339")]
        created_at: time::OffsetDateTime,
        title: Option<String>,
        #[serde(default)]
        member_ids: Vec<uuid::Uuid>,
        nested: Option<Nested>,
    }

    /// Like the WebSocket `message.send` command: a flattened body beside
    /// its own field.
    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Command {
        chat_id: uuid::Uuid,
        #[serde(flatten)]
        body: Nested,
    }

    const OWNER: &str = "0190f7a8-0000-7000-8000-000000000001";

    fn reject(bytes: &str) -> (StatusCode, Vec<FieldError>) {
        reject_as::<Body>(bytes)
    }

    fn reject_as<T: DeserializeOwned + std::fmt::Debug>(
        bytes: &str,
    ) -> (StatusCode, Vec<FieldError>) {
        let error = parse_json::<T>(bytes.as_bytes()).expect_err("must fail");
        (error.status(), error.problem().errors)
    }

    fn fields_of(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    /// A valid chat body with `changes` applied (a null removes a member).
    fn chat_with(changes: serde_json::Value) -> String {
        let mut chat = serde_json::json!({
            "kind": "group",
            "owner": OWNER,
            "created_at": "2024-05-01T12:00:00Z",
            "title": "Team",
            "member_ids": [OWNER],
        });
        for (key, value) in changes.as_object().expect("object") {
            if value.is_null() {
                chat.as_object_mut().expect("object").remove(key);
            } else {
                chat[key] = value.clone();
            }
        }
        chat.to_string()
    }

    #[test]
    fn a_missing_field_is_named() {
        let (status, errors) = reject(r#"{"age": 3}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors, vec![FieldError::new("email", "is required")]);
    }

    #[test]
    fn two_missing_fields_are_both_named() {
        let (status, errors) = reject("{}");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            errors,
            vec![
                FieldError::new("email", "is required"),
                FieldError::new("age", "is required"),
            ]
        );
    }

    #[test]
    fn a_missing_field_and_a_wrong_type_are_both_named() {
        let (status, errors) = reject(r#"{"email": 5}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields_of(&errors), ["email", "age"]);
        assert!(
            errors[0].message.contains("expected a string"),
            "{errors:?}"
        );
        assert_eq!(errors[1].message, "is required");
    }

    #[test]
    fn a_wrong_type_is_named_with_its_path() {
        let (status, errors) = reject(r#"{"email": 5, "age": 3}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields_of(&errors), ["email"]);
        assert!(
            errors[0].message.contains("expected a string"),
            "{errors:?}"
        );

        let (_, errors) = reject(r#"{"email": "a", "age": 3, "nested": {}}"#);
        assert_eq!(errors, vec![FieldError::new("nested.inner", "is required")]);
    }

    #[test]
    fn wrong_types_in_nested_fields_are_named_beside_the_others() {
        let (_, errors) = reject(r#"{"email": [], "age": "old", "nested": {"inner": 7}}"#);
        assert_eq!(fields_of(&errors), ["age", "email", "nested.inner"]);
        assert!(
            errors.iter().all(|e| !e.message.contains(" at line ")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_wrong_type_of_an_option_field_is_named() {
        let (_, errors) = reject(r#"{"email": "a", "age": 3, "nested": "x"}"#);
        assert_eq!(fields_of(&errors), ["nested"]);

        let (_, errors) = reject_as::<Chat>(&chat_with(serde_json::json!({"title": 5})));
        assert_eq!(fields_of(&errors), ["title"]);
    }

    #[test]
    fn an_unknown_enum_variant_is_named_and_the_fields_after_it_too() {
        let (_, errors) = reject_as::<Chat>(&chat_with(
            serde_json::json!({"kind": "channel", "owner": 5}),
        ));
        assert_eq!(fields_of(&errors), ["kind", "owner"]);
        assert_eq!(
            errors[0].message,
            "unknown variant `channel`, expected `direct` or `group`"
        );

        let (_, errors) =
            reject_as::<Chat>(&chat_with(serde_json::json!({"kind": 1, "title": false})));
        assert_eq!(fields_of(&errors), ["kind", "title"]);
    }

    #[test]
    fn a_malformed_uuid_or_timestamp_is_named() {
        let (_, errors) = reject_as::<Chat>(&chat_with(serde_json::json!({
            "owner": "not-a-uuid",
            "created_at": "yesterday",
        })));
        assert_eq!(fields_of(&errors), ["created_at", "owner"]);
        assert!(errors[1].message.contains("UUID"), "{errors:?}");

        let (_, errors) = reject_as::<Chat>(&chat_with(
            serde_json::json!({"owner": null, "created_at": null}),
        ));
        assert_eq!(fields_of(&errors), ["owner", "created_at"]);
    }

    #[test]
    fn a_bad_array_element_is_named_with_its_index() {
        let (_, errors) = reject_as::<Chat>(&chat_with(serde_json::json!({
            "member_ids": [OWNER, "x", OWNER, 4],
            "title": [],
        })));
        assert_eq!(
            fields_of(&errors),
            ["member_ids[1]", "member_ids[3]", "title"]
        );

        let (_, errors) =
            reject_as::<Chat>(&chat_with(serde_json::json!({"member_ids": {"a": 1}})));
        assert_eq!(fields_of(&errors), ["member_ids"]);
    }

    #[test]
    fn the_number_of_errors_is_capped() {
        let garbage = vec![serde_json::json!("x"); 500];
        let (status, errors) = reject_as::<Chat>(&chat_with(serde_json::json!({
            "member_ids": garbage,
            "title": 5,
        })));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors.len(), fields::MAX_ERRORS);
        assert_eq!(errors[0].field, "member_ids[0]");
        assert_eq!(errors[31].field, "member_ids[31]");

        // Garbage that needs a different placeholder each time costs no
        // more than the pass budget either.
        let mixed: Vec<serde_json::Value> = (0..500)
            .map(|i| match i % 3 {
                0 => serde_json::json!("x"),
                1 => serde_json::json!({"a": [1, 2]}),
                _ => serde_json::json!(i),
            })
            .collect();
        let body = chat_with(serde_json::json!({"member_ids": mixed}));
        let started = std::time::Instant::now();
        let (_, errors) = reject_as::<Chat>(&body);
        assert!(!errors.is_empty() && errors.len() <= fields::MAX_ERRORS);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let (_, errors) = reject(r#"{"age": 3, "extra": {"deep": [1]}, "zzz": null}"#);
        assert_eq!(errors, vec![FieldError::new("email", "is required")]);

        let body: Body = parse_json(br#"{"email": "a", "age": 3, "extra": [1, {"b": 2}]}"#)
            .expect("unknown fields are ignored");
        assert_eq!(body.email, "a");
    }

    #[test]
    fn a_valid_body_still_parses() {
        let chat: Chat = parse_json(chat_with(serde_json::json!({})).as_bytes()).expect("valid");
        assert!(matches!(chat.kind, Kind::Group));
        assert_eq!(chat.member_ids.len(), 1);
        let body: Body =
            parse_json(br#"{"email": "a", "age": 3, "nested": {"inner": "i"}}"#).expect("valid");
        assert_eq!(body.age, 3);
        assert!(matches!(body.nested, Some(Nested { ref inner }) if inner == "i"));
    }

    #[test]
    fn a_repeated_key_is_still_a_validation_error() {
        let (status, errors) = reject(r#"{"email": "a", "email": "b", "age": 3}"#);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].message.contains("duplicate field"), "{errors:?}");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_validation_error_of_the_body() {
        for body in ["[]", "[1, 2]", "null", "5", r#""text""#] {
            let (status, errors) = reject(body);
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
            assert_eq!(fields_of(&errors), ["body"], "{body}");
        }
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_bad_requests() {
        for body in [
            "{",
            "",
            "nope",
            r#"{"email": "a", "age": 1} x"#,
            r#"{"email": 5, "age": }"#,
            "{} {}",
        ] {
            let error = parse_json::<Body>(body.as_bytes()).expect_err(body);
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{body:?}");
            assert!(
                !error.problem().detail.contains(" at line "),
                "{:?}",
                error.problem().detail
            );
        }
    }

    #[test]
    fn a_value_names_every_field_too() {
        let error = parse_value::<Command>(serde_json::json!({})).expect_err("both missing");
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            error.problem().errors,
            vec![
                FieldError::new("chat_id", "is required"),
                FieldError::new("inner", "is required"),
            ]
        );

        let error = parse_value::<Chat>(serde_json::json!({"kind": "x", "owner": OWNER}))
            .expect_err("two bad fields");
        assert_eq!(fields_of(&error.problem().errors), ["kind", "created_at"]);

        let command: Command =
            parse_value(serde_json::json!({"chat_id": OWNER, "inner": "i"})).expect("valid");
        assert_eq!(command.chat_id.to_string(), OWNER);
    }

    #[test]
    fn a_flattened_field_of_the_wrong_type_is_reported_against_the_body() {
        // serde buffers a flattened struct, so the path of an error inside
        // it is lost; the other fields are still named.
        let error = parse_value::<Command>(serde_json::json!({"chat_id": "x", "inner": 5}))
            .expect_err("two bad fields");
        assert_eq!(fields_of(&error.problem().errors), ["chat_id", "body"]);
    }
}
