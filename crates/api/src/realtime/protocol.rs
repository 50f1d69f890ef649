//! The WebSocket protocol: JSON text frames with a `type` and the event's
//! fields beside it at the top level.

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use missive_domain::sync::{SyncEvent, SyncToken};

use crate::commands::SendMessageRequest;
use crate::error::{ApiError, Problem};
use crate::extract::parse_value;
use crate::views::{ChatView, MessageView, ThreadView};
use missive_domain::message::MessageContent;

/// Server → client. Its schema (`utoipa`) is what `/asyncapi.json`
/// documents, so the document cannot drift from the frames.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type")]
pub enum ServerEvent {
    /// Sent once, first, on every connection.
    #[serde(rename = "ready")]
    Ready {
        /// The authenticated user.
        user_id: uuid::Uuid,
        /// Without `?since=`: the position from which every change reaches
        /// this connection (keep it, as any event's `token`, to resume).
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// With `?since=`: every missed change was replayed (each with its
    /// `token`); live events follow with no gap and no duplicate.
    #[serde(rename = "synced")]
    Synced {
        /// Where the replay ended.
        token: String,
    },
    /// A message was stored.
    #[serde(rename = "message.created")]
    MessageCreated {
        /// The message.
        message: MessageView,
    },
    /// A message's content or rating changed.
    #[serde(rename = "message.updated")]
    MessageUpdated {
        /// The message as it is now.
        message: MessageView,
    },
    /// A message was deleted (the tombstone).
    #[serde(rename = "message.deleted")]
    MessageDeleted {
        /// The tombstone.
        message: MessageView,
    },
    /// A member added a reaction to a message.
    #[serde(rename = "reaction.added")]
    ReactionAdded {
        /// The message's chat.
        chat_id: uuid::Uuid,
        /// The message.
        message_id: uuid::Uuid,
        /// Its position in the chat.
        seq: i64,
        /// The reaction.
        reaction: String,
        /// Who reacted.
        user_id: uuid::Uuid,
        /// How many members have this reaction on the message now (set it,
        /// rather than adding one, so replays are harmless).
        #[serde(skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
    },
    /// A member took their reaction back.
    #[serde(rename = "reaction.removed")]
    ReactionRemoved {
        /// The message's chat.
        chat_id: uuid::Uuid,
        /// The message.
        message_id: uuid::Uuid,
        /// Its position in the chat.
        seq: i64,
        /// The reaction.
        reaction: String,
        /// Whose it was.
        user_id: uuid::Uuid,
        /// How many members have this reaction on the message now.
        #[serde(skip_serializing_if = "Option::is_none")]
        count: Option<u32>,
    },
    /// A thread gained or lost a reply (sent after the reply's
    /// `message.created` or `message.deleted`).
    #[serde(rename = "thread.updated")]
    ThreadUpdated {
        /// The chat.
        chat_id: uuid::Uuid,
        /// The thread's root.
        root_id: uuid::Uuid,
        /// The root's summary now (null when no live reply is left).
        thread: Option<ThreadView>,
    },
    /// A message was pinned (its `pinned` says by whom and when).
    #[serde(rename = "message.pinned")]
    MessagePinned {
        /// The message as it is now.
        message: MessageView,
    },
    /// A message was unpinned.
    #[serde(rename = "message.unpinned")]
    MessageUnpinned {
        /// The message as it is now.
        message: MessageView,
    },
    /// A chat you are in was created.
    #[serde(rename = "chat.created")]
    ChatCreated {
        /// The chat (`unread_count` and `mention_count` are not personalised
        /// in events).
        chat: ChatView,
    },
    /// A chat you are in was renamed.
    #[serde(rename = "chat.updated")]
    ChatUpdated {
        /// The chat (`unread_count` and `mention_count` are not personalised
        /// in events).
        chat: ChatView,
    },
    /// A chat you were in was deleted.
    #[serde(rename = "chat.deleted")]
    ChatDeleted {
        /// The chat.
        chat_id: uuid::Uuid,
    },
    /// Someone joined a chat you are in (or you joined).
    #[serde(rename = "member.added")]
    MemberAdded {
        /// The chat.
        chat_id: uuid::Uuid,
        /// Who joined.
        user_id: uuid::Uuid,
    },
    /// Someone left or was removed (you too, when it is you).
    #[serde(rename = "member.removed")]
    MemberRemoved {
        /// The chat.
        chat_id: uuid::Uuid,
        /// Who left.
        user_id: uuid::Uuid,
    },
    /// A member's read position moved.
    #[serde(rename = "chat.read")]
    ChatRead {
        /// The chat.
        chat_id: uuid::Uuid,
        /// The reader.
        user_id: uuid::Uuid,
        /// Their new position.
        last_read_seq: i64,
    },
    /// Another member is typing.
    #[serde(rename = "typing")]
    Typing {
        /// The chat.
        chat_id: uuid::Uuid,
        /// The typist.
        user_id: uuid::Uuid,
    },
    /// A command succeeded.
    #[serde(rename = "ack")]
    Ack {
        /// The command's `ref`.
        #[serde(rename = "ref")]
        #[schema(value_type = Object)]
        reference: Value,
        /// For `message.send`: the stored message.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<MessageView>,
    },
    /// A command or frame was refused.
    #[serde(rename = "error")]
    Error {
        /// The command's `ref` (null when it could not be read).
        #[serde(rename = "ref")]
        #[schema(value_type = Object)]
        reference: Value,
        /// The same problem document REST would answer.
        error: Problem,
        /// With `rate_limited` (and `unavailable`): seconds to wait before
        /// retrying, as REST's `Retry-After`.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Answer to `ping`.
    #[serde(rename = "pong")]
    Pong {
        /// The ping's `ref`, if any.
        #[serde(rename = "ref", skip_serializing_if = "Value::is_null")]
        #[schema(value_type = Object)]
        reference: Value,
    },
}

impl ServerEvent {
    /// The frame, serialised once (then shared by every recipient).
    pub fn frame(&self) -> Utf8Bytes {
        // Serialising these plain structs cannot fail.
        Utf8Bytes::from(serde_json::to_string(self).unwrap_or_default())
    }

    /// The frame with the change's `token` beside the event's fields.
    pub fn frame_with_token(&self, token: SyncToken) -> Utf8Bytes {
        #[derive(Serialize)]
        struct WithToken<'a> {
            #[serde(flatten)]
            event: &'a ServerEvent,
            token: String,
        }
        Utf8Bytes::from(
            serde_json::to_string(&WithToken {
                event: self,
                token: token.to_string(),
            })
            .unwrap_or_default(),
        )
    }

    /// An `error` event for `error`.
    pub fn error(reference: Value, error: &ApiError) -> Self {
        Self::Error {
            reference,
            error: error.problem(),
            retry_after: error.retry_after_secs(),
        }
    }
}

/// Client → server, after the frame's `type` has been read.
#[derive(Debug)]
pub enum ClientCommand {
    /// Send a message (same rules as REST).
    Send(SendCommand),
    /// Move the read position.
    Read(ReadCommand),
    /// Tell the others you are typing.
    Typing(TypingCommand),
    /// Keep-alive.
    Ping,
}

/// `message.send`.
#[derive(Debug)]
pub struct SendCommand {
    /// Target chat.
    pub chat_id: uuid::Uuid,
    /// The message, as for `POST /chats/{chat_id}/messages` (its fields sit
    /// beside `chat_id` in the frame).
    pub message: SendMessageRequest,
}

/// The `chat_id` of a `message.send`, parsed apart from the message so
/// that every field error keeps its own name (serde loses the names of
/// errors inside a flattened struct).
#[derive(Debug, Deserialize)]
struct ChatIdField {
    chat_id: uuid::Uuid,
}

impl SendCommand {
    fn parse(mut fields: serde_json::Map<String, Value>) -> Result<Self, ApiError> {
        let chat_id: serde_json::Map<String, Value> = fields
            .remove("chat_id")
            .map(|value| ("chat_id".to_owned(), value))
            .into_iter()
            .collect();
        let chat = parse_value::<ChatIdField>(Value::Object(chat_id));
        let message = parse_value::<SendMessageRequest>(Value::Object(fields));
        match (chat, message) {
            (Ok(chat), Ok(message)) => Ok(Self {
                chat_id: chat.chat_id,
                message,
            }),
            (chat, message) => {
                // A well-formed message still names what it lacks (the
                // length is checked once the command is whole).
                let blank = message.as_ref().ok().and_then(|m| {
                    let attached = m.attachments.as_ref().is_some_and(|ids| !ids.is_empty());
                    MessageContent::for_message(m.content.as_str(), usize::MAX, attached)
                        .err()
                        .map(|e| crate::error::FieldError::new("content", e.to_string()))
                });
                let errors = [chat.err(), message.err()]
                    .into_iter()
                    .flatten()
                    .flat_map(|error| error.problem().errors)
                    .chain(blank)
                    .collect();
                Err(ApiError::validation(errors))
            }
        }
    }
}

/// `message.read`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReadCommand {
    /// The chat.
    pub chat_id: uuid::Uuid,
    /// Read up to here.
    pub seq: i64,
}

/// `typing`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TypingCommand {
    /// The chat.
    pub chat_id: uuid::Uuid,
}

/// Parses a text frame into its `ref` and command. The `ref` is returned
/// even when the command is invalid, so the error can carry it.
pub fn parse(text: &str) -> (Value, Result<ClientCommand, ApiError>) {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return (
            Value::Null,
            Err(ApiError::bad_request("the frame is not valid JSON")),
        );
    };
    let Value::Object(mut fields) = value else {
        return (
            Value::Null,
            Err(ApiError::bad_request("the frame must be a JSON object")),
        );
    };
    let reference = fields.remove("ref").unwrap_or(Value::Null);
    let kind = match fields.remove("type") {
        Some(Value::String(kind)) => kind,
        _ => {
            return (
                reference,
                Err(ApiError::validation(vec![crate::error::FieldError::new(
                    "type",
                    "is required: message.send, message.read, typing or ping",
                )])),
            );
        }
    };
    let command = match kind.as_str() {
        "message.send" => SendCommand::parse(fields).map(ClientCommand::Send),
        "message.read" => parse_value(Value::Object(fields)).map(ClientCommand::Read),
        "typing" => parse_value(Value::Object(fields)).map(ClientCommand::Typing),
        "ping" => Ok(ClientCommand::Ping),
        other => Err(ApiError::validation(vec![crate::error::FieldError::new(
            "type",
            format!("unknown command {other:?}: use message.send, message.read, typing or ping"),
        )])),
    };
    (reference, command)
}

impl From<SyncEvent> for ServerEvent {
    /// The WebSocket shape of a rendered change (the same for `GET /sync`).
    fn from(event: SyncEvent) -> Self {
        match event {
            SyncEvent::MessageCreated(m) => Self::MessageCreated { message: m.into() },
            SyncEvent::MessageUpdated(m) => Self::MessageUpdated { message: m.into() },
            SyncEvent::MessageDeleted(m) => Self::MessageDeleted { message: m.into() },
            SyncEvent::MessagePinned(m) => Self::MessagePinned { message: m.into() },
            SyncEvent::MessageUnpinned(m) => Self::MessageUnpinned { message: m.into() },
            SyncEvent::ThreadUpdated(root) => Self::ThreadUpdated {
                chat_id: root.chat_id.as_uuid(),
                root_id: root.id.as_uuid(),
                thread: root.thread.map(Into::into),
            },
            SyncEvent::Reaction {
                chat_id,
                message_id,
                seq,
                reaction,
                user_id,
                added,
                count,
            } => {
                let (chat_id, message_id, user_id) =
                    (chat_id.as_uuid(), message_id.as_uuid(), user_id.as_uuid());
                let reaction = reaction.as_str().to_owned();
                if added {
                    Self::ReactionAdded {
                        chat_id,
                        message_id,
                        seq,
                        reaction,
                        user_id,
                        count: Some(count),
                    }
                } else {
                    Self::ReactionRemoved {
                        chat_id,
                        message_id,
                        seq,
                        reaction,
                        user_id,
                        count: Some(count),
                    }
                }
            }
            SyncEvent::ChatRead {
                chat_id,
                user_id,
                last_read_seq,
            } => Self::ChatRead {
                chat_id: chat_id.as_uuid(),
                user_id: user_id.as_uuid(),
                last_read_seq,
            },
            SyncEvent::MemberAdded { chat_id, user_id } => Self::MemberAdded {
                chat_id: chat_id.as_uuid(),
                user_id: user_id.as_uuid(),
            },
            SyncEvent::MemberRemoved { chat_id, user_id } => Self::MemberRemoved {
                chat_id: chat_id.as_uuid(),
                user_id: user_id.as_uuid(),
            },
            SyncEvent::ChatCreated(details) => Self::ChatCreated {
                chat: details.into(),
            },
            SyncEvent::ChatUpdated(details) => Self::ChatUpdated {
                chat: details.into(),
            },
            SyncEvent::ChatDeleted { chat_id } => Self::ChatDeleted {
                chat_id: chat_id.as_uuid(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_put_their_fields_at_the_top_level() {
        let id = uuid::Uuid::now_v7();
        let frame = ServerEvent::ChatDeleted { chat_id: id }.frame();
        let value: Value = serde_json::from_str(frame.as_str()).expect("json");
        assert_eq!(
            value,
            serde_json::json!({"type": "chat.deleted", "chat_id": id})
        );
        let pong = ServerEvent::Pong {
            reference: Value::Null,
        }
        .frame();
        assert_eq!(pong.as_str(), r#"{"type":"pong"}"#);
    }

    #[test]
    fn commands_keep_their_ref_even_when_invalid() {
        let (reference, command) = parse(r#"{"type": "message.send", "ref": 7, "content": "x"}"#);
        assert_eq!(reference, serde_json::json!(7));
        let error = command.expect_err("chat_id missing");
        assert_eq!(error.problem().errors[0].field, "chat_id");

        let (reference, command) = parse(r#"{"type": "teleport", "ref": "a"}"#);
        assert_eq!(reference, serde_json::json!("a"));
        assert_eq!(
            command.expect_err("unknown").problem().errors[0].field,
            "type"
        );

        let (reference, command) = parse("not json");
        assert!(reference.is_null() && command.is_err());
    }

    #[test]
    fn a_send_command_names_every_bad_field_with_its_own_name() {
        let (_, command) = parse(
            r#"{"type": "message.send", "ref": 1, "chat_id": 5, "content": 7, "role": "boss"}"#,
        );
        let mut fields: Vec<String> = command
            .expect_err("invalid")
            .problem()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        assert_eq!(fields, ["chat_id", "content", "role"]);
    }

    #[test]
    fn a_send_command_reads_the_rest_message_fields() {
        let chat = uuid::Uuid::now_v7();
        let (_, command) = parse(&format!(
            r#"{{"type": "message.send", "ref": "r1", "chat_id": "{chat}", "content": "hi", "client_id": "c1", "role": "assistant"}}"#
        ));
        match command.expect("valid") {
            ClientCommand::Send(send) => {
                assert_eq!(send.chat_id, chat);
                assert_eq!(send.message.content, "hi");
                assert_eq!(send.message.client_id.as_deref(), Some("c1"));
            }
            other => panic!("{other:?}"),
        }
    }
}
