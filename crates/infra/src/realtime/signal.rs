use missive_domain::event::Event;
use missive_domain::ids::{ChatId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// A compact reference to something that happened, for fan-out.
///
/// Fields have readable names in Rust but one-letter keys on the wire
/// (`#[serde(rename)]`), so payloads stay small and instances running
/// either version understand each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Signal {
    /// Chat `chat_id` has messages up to `seq`: deliver what you have not.
    #[serde(rename = "s")]
    Seq {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The highest seq (`s` on the wire).
        #[serde(rename = "s")]
        seq: i64,
    },
    /// Message `message_id` of chat `chat_id` was edited/rated
    /// (`deleted: false`) or deleted (`deleted: true`).
    #[serde(rename = "m")]
    MessageChanged {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The message (`m` on the wire).
        #[serde(rename = "m")]
        message_id: MessageId,
        /// Whether it was deleted (`d` on the wire).
        #[serde(rename = "d")]
        deleted: bool,
    },
    /// Chat `chat_id` was created (`created: true`) or renamed.
    #[serde(rename = "c")]
    ChatChanged {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// Whether it was created (`n` on the wire).
        #[serde(rename = "n")]
        created: bool,
    },
    /// Chat `chat_id` was deleted; `members` were (some of) its members.
    #[serde(rename = "x")]
    ChatDeleted {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// Former members to tell (`u` on the wire).
        #[serde(rename = "u")]
        members: Vec<UserId>,
    },
    /// User `user_id` joined (`added: true`) or left chat `chat_id`.
    #[serde(rename = "j")]
    Membership {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The user (`u` on the wire).
        #[serde(rename = "u")]
        user_id: UserId,
        /// Whether the user was added (`a` on the wire).
        #[serde(rename = "a")]
        added: bool,
    },
    /// User `user_id` read chat `chat_id` up to `seq`.
    #[serde(rename = "r")]
    Read {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The reader (`u` on the wire).
        #[serde(rename = "u")]
        user_id: UserId,
        /// The position read up to (`s` on the wire).
        #[serde(rename = "s")]
        seq: i64,
    },
    /// User `user_id` is typing in chat `chat_id`.
    #[serde(rename = "y")]
    Typing {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The typist (`u` on the wire).
        #[serde(rename = "u")]
        user_id: UserId,
    },
    /// User `user_id` added (`added: true`) or removed `reaction` on
    /// message `message_id` of chat `chat_id`.
    #[serde(rename = "e")]
    Reaction {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The message (`m` on the wire).
        #[serde(rename = "m")]
        message_id: MessageId,
        /// The reaction (`r` on the wire).
        #[serde(rename = "r")]
        reaction: String,
        /// Who reacted (`u` on the wire).
        #[serde(rename = "u")]
        user_id: UserId,
        /// Whether it was added (`a` on the wire).
        #[serde(rename = "a")]
        added: bool,
    },
    /// Message `message_id` of chat `chat_id` was pinned (`pinned: true`)
    /// or unpinned.
    #[serde(rename = "p")]
    Pin {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The message (`m` on the wire).
        #[serde(rename = "m")]
        message_id: MessageId,
        /// Whether it is pinned now (`p` on the wire).
        #[serde(rename = "p")]
        pinned: bool,
    },
    /// The thread of root `root_id` in chat `chat_id` gained or lost a
    /// reply.
    #[serde(rename = "h")]
    Thread {
        /// The chat (`c` on the wire).
        #[serde(rename = "c")]
        chat_id: ChatId,
        /// The root (`r` on the wire).
        #[serde(rename = "r")]
        root_id: MessageId,
    },
    /// Signals may have been lost (the listener reconnected, or a local
    /// subscriber lagged): re-read state rather than trust what was seen.
    #[serde(rename = "z")]
    Resync,
}

impl From<Event> for Signal {
    /// The signal that announces `event`.
    fn from(event: Event) -> Self {
        match event {
            Event::MessageCreated(m) => Signal::Seq {
                chat_id: m.chat_id,
                seq: m.seq,
            },
            Event::MessageUpdated(m) => Signal::MessageChanged {
                chat_id: m.chat_id,
                message_id: m.id,
                deleted: false,
            },
            Event::MessageDeleted(m) => Signal::MessageChanged {
                chat_id: m.chat_id,
                message_id: m.id,
                deleted: true,
            },
            Event::ChatCreated(c) => Signal::ChatChanged {
                chat_id: c.chat.id,
                created: true,
            },
            Event::ChatUpdated(c) => Signal::ChatChanged {
                chat_id: c.chat.id,
                created: false,
            },
            Event::ChatDeleted {
                chat_id,
                member_ids,
            } => Signal::ChatDeleted {
                chat_id,
                members: member_ids,
            },
            Event::MemberAdded { chat_id, user_id } => Signal::Membership {
                chat_id,
                user_id,
                added: true,
            },
            Event::MemberRemoved { chat_id, user_id } => Signal::Membership {
                chat_id,
                user_id,
                added: false,
            },
            Event::ChatRead {
                chat_id,
                user_id,
                last_read_seq,
            } => Signal::Read {
                chat_id,
                user_id,
                seq: last_read_seq,
            },
            Event::Typing { chat_id, user_id } => Signal::Typing { chat_id, user_id },
            Event::Reaction {
                chat_id,
                message_id,
                reaction,
                user_id,
                added,
                ..
            } => Signal::Reaction {
                chat_id,
                message_id,
                reaction: reaction.as_str().to_owned(),
                user_id,
                added,
            },
            Event::ThreadUpdated { chat_id, root_id } => Signal::Thread { chat_id, root_id },
            Event::PinChanged(m) => Signal::Pin {
                chat_id: m.chat_id,
                message_id: m.id,
                pinned: m.pinned.is_some(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_seq_keeps_its_short_keys_on_the_wire() {
        let chat_id = ChatId::new();
        let json = serde_json::to_string(&Signal::Seq { chat_id, seq: 5 }).expect("json");
        assert_eq!(
            json,
            format!(r#"{{"t":"s","c":"{}","s":5}}"#, chat_id.as_uuid())
        );
        assert_eq!(
            serde_json::from_str::<Signal>(&json).expect("signal"),
            Signal::Seq { chat_id, seq: 5 }
        );
    }

    #[test]
    fn a_reaction_round_trips_with_short_keys() {
        let (chat_id, message_id, user_id) = (ChatId::new(), MessageId::new(), UserId::new());
        let signal = Signal::Reaction {
            chat_id,
            message_id,
            reaction: "👍".to_owned(),
            user_id,
            added: true,
        };
        let json = serde_json::to_string(&signal).expect("json");
        assert_eq!(
            serde_json::from_str::<Value>(&json).expect("value"),
            json!({
                "t": "e",
                "c": chat_id.as_uuid(),
                "m": message_id.as_uuid(),
                "r": "👍",
                "u": user_id.as_uuid(),
                "a": true,
            })
        );
        assert_eq!(
            serde_json::from_str::<Signal>(&json).expect("signal"),
            signal
        );
    }

    #[test]
    fn every_signal_keeps_its_short_keys_on_the_wire() {
        let (chat, message, user) = (ChatId::new(), MessageId::new(), UserId::new());
        let cases = [
            (
                Signal::MessageChanged {
                    chat_id: chat,
                    message_id: message,
                    deleted: true,
                },
                json!({"t": "m", "c": chat.as_uuid(), "m": message.as_uuid(), "d": true}),
            ),
            (
                Signal::ChatChanged {
                    chat_id: chat,
                    created: true,
                },
                json!({"t": "c", "c": chat.as_uuid(), "n": true}),
            ),
            (
                Signal::ChatDeleted {
                    chat_id: chat,
                    members: vec![user],
                },
                json!({"t": "x", "c": chat.as_uuid(), "u": [user.as_uuid()]}),
            ),
            (
                Signal::Membership {
                    chat_id: chat,
                    user_id: user,
                    added: false,
                },
                json!({"t": "j", "c": chat.as_uuid(), "u": user.as_uuid(), "a": false}),
            ),
            (
                Signal::Read {
                    chat_id: chat,
                    user_id: user,
                    seq: 9,
                },
                json!({"t": "r", "c": chat.as_uuid(), "u": user.as_uuid(), "s": 9}),
            ),
            (
                Signal::Typing {
                    chat_id: chat,
                    user_id: user,
                },
                json!({"t": "y", "c": chat.as_uuid(), "u": user.as_uuid()}),
            ),
            (
                Signal::Pin {
                    chat_id: chat,
                    message_id: message,
                    pinned: true,
                },
                json!({"t": "p", "c": chat.as_uuid(), "m": message.as_uuid(), "p": true}),
            ),
            (
                Signal::Thread {
                    chat_id: chat,
                    root_id: message,
                },
                json!({"t": "h", "c": chat.as_uuid(), "r": message.as_uuid()}),
            ),
            (Signal::Resync, json!({"t": "z"})),
        ];
        for (signal, wire) in cases {
            assert_eq!(serde_json::to_value(&signal).expect("json"), wire);
            assert_eq!(
                serde_json::from_value::<Signal>(wire).expect("signal"),
                signal
            );
        }
    }
}
