//! Paging: page sizes from the query, and opaque cursors (URL-safe base64
//! of a small text payload) that clients pass back verbatim — anything
//! else is a 400.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use missive_domain::chat::{ChatCursor, MemberCursor};
use missive_domain::ids::{ChatId, MessageId, UserId};
use missive_domain::reaction::Reactor;
use time::OffsetDateTime;

use crate::error::ApiError;

/// Turns a query limit into the domain's type; out-of-range values become
/// 0 so the use case answers 422.
pub(crate) fn limit(value: Option<i64>, default: u32) -> u32 {
    value.map_or(default, |v| u32::try_from(v).unwrap_or(0))
}

fn encode(payload: &str) -> String {
    URL_SAFE_NO_PAD.encode(payload)
}

fn decode(cursor: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::bad_request("invalid cursor: pass back a next_cursor unchanged");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// `<tag>:<time in µs>:<id>`: a position in a list ordered by a time,
/// ties broken by an id.
fn encode_timed(tag: &str, at: OffsetDateTime, id: impl std::fmt::Display) -> String {
    let micros = at.unix_timestamp_nanos() / 1_000;
    encode(&format!("{tag}:{micros}:{id}"))
}

fn decode_timed<T: std::str::FromStr>(
    tag: &str,
    cursor: &str,
) -> Result<(OffsetDateTime, T), ApiError> {
    let text = decode(cursor)?;
    let invalid = || ApiError::bad_request("invalid cursor: pass back a next_cursor unchanged");
    let mut parts = text.splitn(3, ':');
    let (Some(found), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    if found != tag {
        return Err(invalid());
    }
    let micros: i128 = micros.parse().map_err(|_| invalid())?;
    let nanos = micros.checked_mul(1_000).ok_or_else(invalid)?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| invalid())?;
    Ok((at, id.parse::<T>().map_err(|_| invalid())?))
}

/// `c1:<activity in µs>:<chat id>`.
pub fn encode_chat(cursor: &ChatCursor) -> String {
    encode_timed("c1", cursor.last_activity_at, cursor.chat_id)
}

/// Parses a chat-list cursor.
///
/// # Errors
/// 400 when it is not one of ours.
pub fn decode_chat(cursor: &str) -> Result<ChatCursor, ApiError> {
    let (last_activity_at, chat_id) = decode_timed::<ChatId>("c1", cursor)?;
    Ok(ChatCursor {
        last_activity_at,
        chat_id,
    })
}

/// `k1:<joined at, µs>:<user id>`.
pub fn encode_member(cursor: &MemberCursor) -> String {
    encode_timed("k1", cursor.joined_at, cursor.user_id)
}

/// Parses a member-list cursor.
///
/// # Errors
/// 400 when it is not one of ours.
pub fn decode_member(cursor: &str) -> Result<MemberCursor, ApiError> {
    let (joined_at, user_id) = decode_timed::<UserId>("k1", cursor)?;
    Ok(MemberCursor { joined_at, user_id })
}

/// `r1:<time in µs>:<user id>`.
pub fn encode_reactor(cursor: &Reactor) -> String {
    encode_timed("r1", cursor.at, cursor.user_id)
}

/// Parses a reactor-list cursor.
///
/// # Errors
/// 400 when it is not one of ours.
pub fn decode_reactor(cursor: &str) -> Result<Reactor, ApiError> {
    let (at, user_id) = decode_timed::<UserId>("r1", cursor)?;
    Ok(Reactor { user_id, at })
}

/// `m1:<message id>`.
pub fn encode_message(id: MessageId) -> String {
    encode(&format!("m1:{id}"))
}

/// Parses a search cursor.
///
/// # Errors
/// 400 when it is not one of ours.
pub fn decode_message(cursor: &str) -> Result<MessageId, ApiError> {
    decode(cursor)?
        .strip_prefix("m1:")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| ApiError::bad_request("invalid cursor: pass back a next_cursor unchanged"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_cursors_round_trip() {
        let cursor = ChatCursor {
            last_activity_at: OffsetDateTime::from_unix_timestamp_nanos(1_795_307_212_573_680_000)
                .expect("valid"),
            chat_id: ChatId::new(),
        };
        assert_eq!(decode_chat(&encode_chat(&cursor)).expect("valid"), cursor);
    }

    #[test]
    fn member_cursors_round_trip_and_are_not_chat_cursors() {
        let cursor = MemberCursor {
            joined_at: OffsetDateTime::from_unix_timestamp_nanos(1_795_307_212_573_680_000)
                .expect("valid"),
            user_id: UserId::new(),
        };
        let encoded = encode_member(&cursor);
        assert_eq!(decode_member(&encoded).expect("valid"), cursor);
        assert!(decode_chat(&encoded).is_err());
        assert!(
            decode_member(&encode_chat(&ChatCursor {
                last_activity_at: cursor.joined_at,
                chat_id: ChatId::new(),
            }))
            .is_err()
        );
    }

    #[test]
    fn message_cursors_round_trip() {
        let id = MessageId::new();
        assert_eq!(decode_message(&encode_message(id)).expect("valid"), id);
    }

    #[test]
    fn foreign_cursors_are_bad_requests() {
        for garbage in [
            "",
            "%%%",
            "bm90IGEgY3Vyc29y",
            &encode_message(MessageId::new()),
        ] {
            assert!(decode_chat(garbage).is_err(), "{garbage}");
        }
        assert!(decode_message(&encode("c1:1:x")).is_err());
    }
}
