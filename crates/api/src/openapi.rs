//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::error::Problem;

/// Top-level document metadata; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Missive",
        description = "Self-hosted chat and message-persistence backend.\n\n\
            **Authentication**: send `Authorization: Bearer <access_token>` (from `/auth/register` \
            or `/auth/login`) or `X-API-Key: <key>` (from `POST /api-keys`).\n\n\
            **Errors** are RFC 9457 `application/problem+json` documents with a stable `code`; \
            422 answers list every offending field in `errors` (each missing field, each wrong type, \
            each value out of range). Any operation may also answer 429 `rate_limited`, 500 \
            `internal` or 503 `unavailable` (retry later).\n\n\
            **Rate limits** are token buckets per verified user (all of a user's tokens and keys \
            share them), else per client IP: requests without credentials, or whose credentials do \
            not verify, are answered 401 and paid for by their address. Classes: `auth` (register, \
            login; per IP), `write` (changes), `read`, `chat_create` (`POST /chats`, stricter), and \
            `typing` (WebSocket). Every API answer carries `Cache-Control: no-store`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    modifiers(&SecuritySchemes, &CommonResponses),
    components(
        schemas(Problem),
        responses(
            BadRequest, Unauthorized, InvalidCredentials, Forbidden, NotFound, Conflict, Gone,
            PayloadTooLarge, UnsupportedMediaType, ValidationFailed, TooManyRequests, Unavailable,
            Internal, UploadTooLarge, UploadRefused, RangeNotSatisfiable
        )
    ),
    tags(
        (name = "auth", description = "Registration and login"),
        (name = "users", description = "User accounts"),
        (name = "api-keys", description = "Long-lived keys for scripts and services"),
        (name = "chats", description = "Direct and group chats, members, read positions"),
        (name = "messages", description = "Sending (ordered, idempotent), history, edits, ratings, deletion, search"),
        (name = "reactions", description = "Emoji and :shortcode: reactions to messages: add, take back, list who reacted"),
        (name = "pins", description = "Pinned messages of a chat (up to 50)"),
        (name = "uploads", description = "Files to attach to messages: streamed, typed from their bytes, stored once per content, served with ranges and safe dispositions"),
        (name = "realtime", description = "WebSocket delivery of events (see the README for the protocol)"),
        (name = "sync", description = "Every change since a token, exactly once, in commit order: resume after a disconnect"),
        (name = "health", description = "Probes for orchestrators"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from /auth/register or /auth/login"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "API key from POST /api-keys",
            ))),
        );
    }
}

/// Adds the answers every operation can give (500, 503) so clients and
/// schema checkers see them documented.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        for (path, item) in &mut openapi.paths.paths {
            // Only API routes are rate limited; probes are not.
            let limited = path.starts_with("/api/v1/");
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                for (status, name) in [
                    ("429", "TooManyRequests"),
                    ("500", "Internal"),
                    ("503", "Unavailable"),
                ] {
                    if status == "429" && !limited {
                        continue;
                    }
                    responses.entry(status.to_owned()).or_insert_with(|| {
                        RefOr::Ref(utoipa::openapi::Ref::from_response_name(name))
                    });
                }
            }
        }
    }
}

/// The finished document for a set of routes.
pub fn document(mut paths: OpenApiDoc) -> OpenApiDoc {
    // Modifiers run when `ApiDoc::openapi()` is built, before the router's
    // paths are merged in; run the per-operation one again on the result.
    CommonResponses.modify(&mut paths);
    require_one_of(
        &mut paths,
        "EditMessageRequest",
        &["content", "rating", "metadata"],
    );
    for_generators(paths)
}

/// What client generators need and the derive does not say: free-form
/// objects say so (`additionalProperties: true`; else TypeScript reads
/// `Record<string, never>`), every `metadata` is one shared `Metadata`
/// schema (one model, not one per owner), and each "one of these fields"
/// branch carries its field's type.
fn for_generators(doc: OpenApiDoc) -> OpenApiDoc {
    use serde_json::{Value, json};
    let Ok(mut value) = serde_json::to_value(&doc) else {
        return doc;
    };
    fn walk(node: &mut Value) {
        match node {
            Value::Object(map) => {
                if let Some(Value::Object(properties)) = map.get_mut("properties")
                    && let Some(metadata) = properties.get_mut("metadata")
                {
                    let nullable = metadata.to_string().contains("\"null\"");
                    let description = metadata.get("description").cloned();
                    let reference = json!({"$ref": "#/components/schemas/Metadata"});
                    let mut shared = if nullable {
                        json!({"oneOf": [reference, {"type": "null"}]})
                    } else {
                        reference
                    };
                    if let Some(description) = description {
                        shared["description"] = description;
                    }
                    *metadata = shared;
                }
                let is_object = match map.get("type") {
                    Some(Value::String(t)) => t == "object",
                    Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
                    _ => false,
                };
                let open = [
                    "properties",
                    "additionalProperties",
                    "$ref",
                    "allOf",
                    "oneOf",
                    "anyOf",
                ]
                .iter()
                .all(|key| !map.contains_key(*key));
                if is_object && open {
                    map.insert("additionalProperties".to_owned(), Value::Bool(true));
                }
                for child in map.values_mut() {
                    walk(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    let schemas = &mut value["components"]["schemas"];
    schemas["Metadata"] = json!({
        "type": "object",
        "additionalProperties": true,
        "description": "Anything the sender wants kept: a JSON object of at most 64 keys and 16 KiB serialised.",
    });
    // Each "at least one of" branch with its property's type.
    let edit = &mut schemas["EditMessageRequest"]["allOf"];
    let properties = edit[0]["properties"].clone();
    if let Some(branches) = edit[1]["anyOf"].as_array_mut() {
        for branch in branches {
            if let Some(field) = branch["required"][0].as_str() {
                branch["properties"] = json!({ field: properties[field].clone() });
            }
        }
    }
    serde_json::from_value(value).unwrap_or(doc)
}

/// Documents "give at least one of these fields" (an empty PATCH body is
/// 422), which the derive cannot express: the object's own schema, all of
/// `anyOf: [{required: [a]}, {required: [b]}]`.
fn require_one_of(doc: &mut OpenApiDoc, schema: &str, fields: &[&str]) {
    use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema};
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    let Some(original) = components.schemas.remove(schema) else {
        return;
    };
    let mut any = AnyOfBuilder::new();
    for field in fields {
        any = any.item(ObjectBuilder::new().required(*field));
    }
    let combined = AllOfBuilder::new()
        .item(original)
        .item(RefOr::T(Schema::AnyOf(any.build())))
        .build();
    components
        .schemas
        .insert(schema.to_owned(), RefOr::T(Schema::AllOf(combined)));
}

macro_rules! problem_response {
    ($(#[$doc:meta])* $name:ident, $description:literal) => {
        $(#[$doc])*
        #[derive(ToResponse)]
        #[response(description = $description, content_type = "application/problem+json")]
        #[expect(dead_code, reason = "exists only for its OpenAPI description")]
        pub struct $name(Problem);
    };
}

problem_response!(
    /// 400.
    BadRequest, "`bad_request`: the body is not JSON, or a path or query parameter does not parse"
);
problem_response!(
    /// 401.
    Unauthorized, "`unauthorized`: missing, malformed, expired or wrongly signed credentials (`WWW-Authenticate: Bearer`)"
);
problem_response!(
    /// 401 on login.
    InvalidCredentials, "`invalid_credentials`: unknown email or wrong password (indistinguishable)"
);
problem_response!(
    /// 403.
    Forbidden, "`forbidden`: authenticated, but not allowed"
);
problem_response!(
    /// 404.
    NotFound, "`not_found`: does not exist or is not visible to the caller"
);
problem_response!(
    /// 409.
    Conflict, "Conflict: `email_taken` (registration), `not_a_group` (renaming or changing members of a direct chat), `message_deleted` (editing a tombstone), `chat_id_taken` (creating a chat with an id another chat has)"
);
problem_response!(
    /// 410.
    Gone, "`sync_expired`: the token is older than the kept changes (`sync.retention_days`) or is not a position of this server: reload state over REST and take a fresh token from `GET /sync`"
);
problem_response!(
    /// 413.
    PayloadTooLarge, "`payload_too_large`: body larger than `server.max_body_bytes`"
);
problem_response!(
    /// 415.
    UnsupportedMediaType, "`unsupported_media_type`: send `Content-Type: application/json`"
);
problem_response!(
    /// 413 on uploads.
    UploadTooLarge, "`payload_too_large`: the file is larger than `uploads.max_bytes` (refused while it streams; nothing kept); `quota_exceeded`: your uploads would hold more than `uploads.quota_bytes`"
);
problem_response!(
    /// 415 on uploads.
    UploadRefused, "`unsupported_media_type`: the type detected from the file's bytes is not in `uploads.allowed_types`"
);
problem_response!(
    /// 416.
    RangeNotSatisfiable, "`range_not_satisfiable`: the `Range` starts past the end of the file (`Content-Range: bytes */SIZE` gives its size)"
);
problem_response!(
    /// 422.
    ValidationFailed, "`validation_failed`: missing field, wrong type or value out of range; `errors` names each field"
);
problem_response!(
    /// 429.
    TooManyRequests, "`rate_limited`: over the rate limit; retry after `Retry-After` seconds (`RateLimit-Limit`, `RateLimit-Remaining` describe the bucket). On the WebSocket upgrade also `too_many_connections`: the user has `realtime.max_connections_per_user` sockets open"
);
problem_response!(
    /// 503.
    Unavailable, "`unavailable`: the database is unreachable or too slow (a statement ran past `database.statement_timeout_secs`), or password hashing is saturated (login, registration); retry after `Retry-After` seconds"
);
problem_response!(
    /// 500.
    Internal, "`internal`: unexpected failure (details are only logged)"
);
