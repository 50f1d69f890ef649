//! The AsyncAPI 3.1 document of the WebSocket protocol, served at
//! `/asyncapi.json` and rendered at `/docs/asyncapi`. Built from the Rust
//! types of the frames — the events from [`ServerEvent`] itself, the
//! commands from [`ClientFrame`], whose examples a test feeds to the real
//! parser — and the OpenAPI document's schemas, so it cannot drift from
//! what the server sends and reads.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use crate::commands::SendMessageRequest;
use crate::realtime::protocol::{ReadCommand, ServerEvent, TypingCommand};

/// Client → server: every frame is a JSON object with its `type` and an
/// optional `ref` (any JSON value), echoed by the `ack` or `error` that
/// answers it.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum ClientFrame {
    /// Sends a message: the fields of `POST /chats/{chat_id}/messages`
    /// beside `chat_id`. Answered by `ack` with the stored message (a
    /// repeated `client_id` answers the message stored first), or `error`.
    #[serde(rename = "message.send")]
    MessageSend {
        /// Echoed by the answer.
        #[serde(rename = "ref", default)]
        #[schema(value_type = Object)]
        reference: Option<Value>,
        /// The chat.
        chat_id: uuid::Uuid,
        /// The message.
        #[serde(flatten)]
        message: SendMessageRequest,
    },
    /// Moves your read position (as `POST /chats/{chat_id}/read`);
    /// answered by `ack`, and `chat.read` to the chat's members.
    #[serde(rename = "message.read")]
    MessageRead {
        /// Echoed by the answer.
        #[serde(rename = "ref", default)]
        #[schema(value_type = Object)]
        reference: Option<Value>,
        /// The chat and seq.
        #[serde(flatten)]
        read: ReadCommand,
    },
    /// Tells the chat's other members you are typing (at most one a
    /// second per chat is relayed; no answer unless refused).
    #[serde(rename = "typing")]
    Typing {
        /// Echoed by an `error`.
        #[serde(rename = "ref", default)]
        #[schema(value_type = Object)]
        reference: Option<Value>,
        /// The chat.
        #[serde(flatten)]
        typing: TypingCommand,
    },
    /// Keep-alive; answered by `pong`.
    #[serde(rename = "ping")]
    Ping {
        /// Echoed by `pong`.
        #[serde(rename = "ref", default)]
        #[schema(value_type = Object)]
        reference: Option<Value>,
    },
}

/// One example frame per command, in the order of [`ClientFrame`] (each
/// must parse with `protocol::parse`: see the tests).
pub const COMMAND_EXAMPLES: [&str; 4] = [
    r#"{"type":"message.send","ref":"r1","chat_id":"0199a1b2-0000-7000-8000-000000000001","content":"Hello!","client_id":"c-1"}"#,
    r#"{"type":"message.read","ref":"r2","chat_id":"0199a1b2-0000-7000-8000-000000000001","seq":42}"#,
    r#"{"type":"typing","chat_id":"0199a1b2-0000-7000-8000-000000000001"}"#,
    r#"{"type":"ping","ref":7}"#,
];

const DESCRIPTION: &str = "\
One WebSocket carries every chat of the user. Text frames are JSON objects with a `type` \
and the event's fields beside it at the top level.\n\n\
**Connect**: `GET /api/v1/ws` with `Authorization: Bearer …` or `X-API-Key: …`, or, from a \
browser, `?access_token=` / `?api_key=`. The first frame is `ready`.\n\n\
**Resume**: every event that is a change carries a `token`; reconnect with `?since=TOKEN` (the \
last token applied) and the server replays every missed change, in order, each with its \
token, then sends `synced` and goes live — no gap and no duplicate at the seam. Without \
`since`, `ready` carries the token from which changes reach this connection. Apply events \
idempotently (by message id and `seq`; reaction counts are set, not added).\n\n\
**Close codes**: 1000 normal; 1001 the server is shutting down (reconnect with `since`); \
1008 a frame broke the rules repeatedly; 1009 a frame over the size limit; 1011 the \
connection could not keep up (its queue overflowed: reconnect with `since`, nothing is lost); \
4001 the credentials expired or were revoked (sign in again); 4010 the `since` token is \
older than `sync.retention_days` (reload state over REST, then connect without `since`).\n\n\
**Limits**: commands share the user's REST rate buckets (`error` with `rate_limited` and \
`retry_after`); `typing` has its own. Errors are the REST problem documents.";

/// The document, with the schemas of `openapi` (which the events share
/// with REST).
pub fn document(openapi: &OpenApiDoc) -> Value {
    let mut schemas: Map<String, Value> = openapi
        .components
        .as_ref()
        .map(|c| serde_json::to_value(&c.schemas).unwrap_or_default())
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let mut extra: Vec<(String, RefOr<Schema>)> = Vec::new();
    <ServerEvent as ToSchema>::schemas(&mut extra);
    <ClientFrame as ToSchema>::schemas(&mut extra);
    for (name, schema) in extra {
        schemas
            .entry(name)
            .or_insert_with(|| serde_json::to_value(schema).unwrap_or_default());
    }
    let events = variants(&ServerEvent::schema());
    let commands = variants(&ClientFrame::schema());
    let mut messages = Map::new();
    let mut channel_messages = Map::new();
    let mut refs = |list: &[(String, Value)], prefix: &str| -> Vec<Value> {
        list.iter()
            .map(|(name, payload)| {
                let key = format!("{prefix}{}", name.replace('.', "_"));
                let summary = payload["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                messages.insert(
                    key.clone(),
                    json!({
                        "name": name,
                        "title": name,
                        "summary": summary,
                        "contentType": "application/json",
                        "payload": payload,
                    }),
                );
                channel_messages.insert(
                    key.clone(),
                    json!({"$ref": format!("#/components/messages/{key}")}),
                );
                json!({"$ref": format!("#/channels/ws/messages/{key}")})
            })
            .collect()
    };
    let sent = refs(&events, "event_");
    let received = refs(&commands, "command_");
    json!({
        "asyncapi": "3.1.0",
        "info": {
            "title": "Missive real-time protocol",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
            "license": {"name": "MIT OR Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8000",
                "protocol": "ws",
                "description": "A server run with `cargo run --release` (use wss behind TLS).",
            }
        },
        "channels": {
            "ws": {
                "address": "/api/v1/ws",
                "title": "The user's connection",
                "description": "Every event of every chat the user is in, and the user's commands.",
                "messages": channel_messages,
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "query": {
                            "type": "object",
                            "properties": {
                                "since": {"type": "string", "description": "Resume after this sync token (replay, then `synced`)."},
                                "access_token": {"type": "string", "description": "A bearer token, for browsers (which cannot set headers on a WebSocket)."},
                                "api_key": {"type": "string", "description": "An API key, for browsers."},
                            },
                        },
                        "headers": {
                            "type": "object",
                            "properties": {
                                "Authorization": {"type": "string", "description": "`Bearer <access_token>`"},
                                "X-API-Key": {"type": "string"},
                            },
                        },
                    }
                },
            }
        },
        "operations": {
            "sendEvents": {
                "action": "send",
                "title": "Events",
                "summary": "What the server sends: changes (each with its `token`), answers and presence.",
                "channel": {"$ref": "#/channels/ws"},
                "messages": sent,
            },
            "receiveCommands": {
                "action": "receive",
                "title": "Commands",
                "summary": "What clients may send.",
                "channel": {"$ref": "#/channels/ws"},
                "messages": received,
            },
        },
        "components": {
            "messages": messages,
            "schemas": schemas,
        },
    })
}

/// The variants of a `type`-tagged enum's schema: each frame type and
/// its payload schema (refs pointing at `#/components/schemas/`).
fn variants(schema: &RefOr<Schema>) -> Vec<(String, Value)> {
    // OpenAPI and AsyncAPI keep schemas at the same path
    // (`#/components/schemas/`): the refs stand as they are.
    let value = serde_json::to_value(schema).unwrap_or_default();
    value["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|variant| Some((frame_type(variant)?, variant.clone())))
        .collect()
}

/// The constant `type` of a variant (directly, or in one part of an
/// `allOf` when the variant flattens another struct).
fn frame_type(variant: &Value) -> Option<String> {
    let direct = variant["properties"]["type"]["enum"][0].as_str();
    direct
        .or_else(|| {
            variant["allOf"]
                .as_array()?
                .iter()
                .find_map(|part| part["properties"]["type"]["enum"][0].as_str())
        })
        .map(str::to_owned)
}

/// The document as a page: the protocol's rules, then every event and
/// command with its fields (every string escaped).
pub fn page(doc: &Value) -> String {
    let mut html = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Missive — WebSocket protocol (AsyncAPI)</title><style>\
         body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}\
         code,td:first-child{font-family:ui-monospace,monospace}table{border-collapse:collapse;width:100%}\
         td,th{border-bottom:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}\
         h3{margin-top:2rem}</style></head><body>",
    );
    html.push_str(&format!(
        "<h1>{}</h1><p>AsyncAPI {} document: <a href=\"/asyncapi.json\">/asyncapi.json</a> \
         · channel <code>{}</code> · REST: <a href=\"/docs\">/docs</a></p>",
        escape(doc["info"]["title"].as_str().unwrap_or_default()),
        escape(doc["asyncapi"].as_str().unwrap_or_default()),
        escape(
            doc["channels"]["ws"]["address"]
                .as_str()
                .unwrap_or_default()
        ),
    ));
    for paragraph in doc["info"]["description"]
        .as_str()
        .unwrap_or_default()
        .split("\n\n")
    {
        html.push_str(&format!("<p>{}</p>", escape(paragraph)));
    }
    for (title, operation) in [
        ("Events (server → client)", "sendEvents"),
        ("Commands (client → server)", "receiveCommands"),
    ] {
        html.push_str(&format!("<h2>{title}</h2>"));
        for reference in doc["operations"][operation]["messages"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let key = reference["$ref"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default();
            let message = &doc["components"]["messages"][key];
            html.push_str(&format!(
                "<h3 id=\"{}\"><code>{}</code></h3><p>{}</p><table><tr><th>field</th><th>type</th><th></th></tr>",
                escape(key),
                escape(message["name"].as_str().unwrap_or_default()),
                escape(message["summary"].as_str().unwrap_or_default()),
            ));
            for (field, schema) in fields(&message["payload"]) {
                html.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&field),
                    escape(&type_of(&schema)),
                    escape(schema["description"].as_str().unwrap_or_default()),
                ));
            }
            html.push_str("</table>");
        }
    }
    html.push_str("</body></html>");
    html
}

/// The fields of a payload, its `allOf` parts' too.
fn fields(payload: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = payload["properties"]
        .as_object()
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for part in payload["allOf"].as_array().into_iter().flatten() {
        out.extend(fields(part));
        if let Some(reference) = part["$ref"].as_str() {
            out.push((
                "…".to_owned(),
                json!({"$ref": reference, "description": "and the fields of this schema"}),
            ));
        }
    }
    out
}

/// A field's type in a word: a schema name, or its JSON type(s).
fn type_of(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return reference.rsplit('/').next().unwrap_or_default().to_owned();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            return options.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    match &schema["type"] {
        Value::String(t) if t == "array" => format!("[{}]", type_of(&schema["items"])),
        Value::String(t) => schema["enum"][0]
            .as_str()
            .map_or_else(|| t.clone(), |constant| format!("\"{constant}\"")),
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_owned(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        use utoipa::OpenApi;
        document(&crate::openapi::ApiDoc::openapi())
    }

    #[test]
    fn every_server_event_and_client_command_is_a_message() {
        let doc = doc();
        let messages = doc["components"]["messages"].as_object().expect("messages");
        for name in [
            "ready",
            "synced",
            "message.created",
            "message.updated",
            "message.deleted",
            "reaction.added",
            "reaction.removed",
            "thread.updated",
            "message.pinned",
            "message.unpinned",
            "chat.created",
            "chat.updated",
            "chat.deleted",
            "member.added",
            "member.removed",
            "chat.read",
            "typing",
            "ack",
            "error",
            "pong",
        ] {
            let key = format!("event_{}", name.replace('.', "_"));
            assert_eq!(messages[&key]["name"], name, "{key}");
            assert!(
                messages[&key]["summary"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{key} is described"
            );
        }
        for name in ["message.send", "message.read", "typing", "ping"] {
            let key = format!("command_{}", name.replace('.', "_"));
            assert_eq!(messages[&key]["name"], name, "{key}");
        }
        assert_eq!(
            doc["operations"]["sendEvents"]["messages"]
                .as_array()
                .map(Vec::len),
            Some(20)
        );
    }

    #[test]
    fn every_schema_a_message_refers_to_is_in_the_document() {
        let doc = doc();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.contains_key(&name), "schema {name} is missing");
        }
    }

    #[test]
    fn the_page_lists_every_message_with_its_fields() {
        let page = page(&doc());
        for needle in [
            "<code>message.created</code>",
            "<code>message.send</code>",
            "last_read_seq",
            "4010",
        ] {
            assert!(page.contains(needle), "{needle}");
        }
        assert!(!page.contains("<script"));
    }

    #[test]
    fn the_command_examples_parse_as_the_commands_they_document() {
        for (example, expected) in
            COMMAND_EXAMPLES
                .iter()
                .zip(["message.send", "message.read", "typing", "ping"])
        {
            let (_, parsed) = crate::realtime::protocol::parse(example);
            assert!(parsed.is_ok(), "{expected}: {example}");
            let value: Value = serde_json::from_str(example).expect("json");
            assert_eq!(value["type"], expected);
        }
    }
}
