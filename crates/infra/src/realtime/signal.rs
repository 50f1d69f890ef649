use missive_domain::event::Event;
use missive_domain::ids::{ChatId, MessageId, UserId};
use serde::{Deserialize, Serialize};

/// A compact reference to something that happened, for fan-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Signal {
    /// Chat `c` has messages up to seq `s`: deliver what you have not.
    #[serde(rename = "s")]
    Seq {
        /// Chat.
        c: ChatId,
        /// Highest seq.
        s: i64,
    },
    /// Message `m` of chat `c` was edited/rated (`d: false`) or deleted
    /// (`d: true`).
    #[serde(rename = "m")]
    MessageChanged {
        /// Chat.
        c: ChatId,
        /// Message.
        m: MessageId,
        /// Deleted.
        d: bool,
    },
    /// Chat `c` was created (`n: true`) or renamed.
    #[serde(rename = "c")]
    ChatChanged {
        /// Chat.
        c: ChatId,
        /// Created.
        n: bool,
    },
    /// Chat `c` was deleted; `u` were (some of) its members.
    #[serde(rename = "x")]
    ChatDeleted {
        /// Chat.
        c: ChatId,
        /// Former members to tell.
        u: Vec<UserId>,
    },
    /// User `u` joined (`a: true`) or left chat `c`.
    #[serde(rename = "j")]
    Membership {
        /// Chat.
        c: ChatId,
        /// User.
        u: UserId,
        /// Added.
        a: bool,
    },
    /// User `u` read chat `c` up to seq `s`.
    #[serde(rename = "r")]
    Read {
        /// Chat.
        c: ChatId,
        /// Reader.
        u: UserId,
        /// Position.
        s: i64,
    },
    /// User `u` is typing in chat `c`.
    #[serde(rename = "y")]
    Typing {
        /// Chat.
        c: ChatId,
        /// Typist.
        u: UserId,
    },
    /// User `u` added (`a: true`) or removed reaction `r` on message `m`
    /// of chat `c`.
    #[serde(rename = "e")]
    Reaction {
        /// Chat.
        c: ChatId,
        /// Message.
        m: MessageId,
        /// The reaction.
        r: String,
        /// Who reacted.
        u: UserId,
        /// Added.
        a: bool,
    },
    /// Message `m` of chat `c` was pinned (`p: true`) or unpinned.
    #[serde(rename = "p")]
    Pin {
        /// Chat.
        c: ChatId,
        /// Message.
        m: MessageId,
        /// Pinned.
        p: bool,
    },
    /// The thread of root `r` in chat `c` gained or lost a reply.
    #[serde(rename = "h")]
    Thread {
        /// Chat.
        c: ChatId,
        /// The root.
        r: MessageId,
    },
    /// Signals may have been lost (the listener reconnected, or a local
    /// subscriber lagged): re-read state rather than trust what was seen.
    #[serde(rename = "z")]
    Resync,
}

impl Signal {
    /// The signals that announce `event`.
    pub fn from_event(event: Event) -> Vec<Signal> {
        let signal = match event {
            Event::MessageCreated(m) => Signal::Seq {
                c: m.chat_id,
                s: m.seq,
            },
            Event::MessageUpdated(m) => Signal::MessageChanged {
                c: m.chat_id,
                m: m.id,
                d: false,
            },
            Event::MessageDeleted(m) => Signal::MessageChanged {
                c: m.chat_id,
                m: m.id,
                d: true,
            },
            Event::ChatCreated(c) => Signal::ChatChanged {
                c: c.chat.id,
                n: true,
            },
            Event::ChatUpdated(c) => Signal::ChatChanged {
                c: c.chat.id,
                n: false,
            },
            Event::ChatDeleted {
                chat_id,
                member_ids,
            } => Signal::ChatDeleted {
                c: chat_id,
                u: member_ids,
            },
            Event::MemberAdded { chat_id, user_id } => Signal::Membership {
                c: chat_id,
                u: user_id,
                a: true,
            },
            Event::MemberRemoved { chat_id, user_id } => Signal::Membership {
                c: chat_id,
                u: user_id,
                a: false,
            },
            Event::ChatRead {
                chat_id,
                user_id,
                last_read_seq,
            } => Signal::Read {
                c: chat_id,
                u: user_id,
                s: last_read_seq,
            },
            Event::Typing { chat_id, user_id } => Signal::Typing {
                c: chat_id,
                u: user_id,
            },
            Event::Reaction {
                chat_id,
                message_id,
                reaction,
                user_id,
                added,
                ..
            } => Signal::Reaction {
                c: chat_id,
                m: message_id,
                r: reaction.as_str().to_owned(),
                u: user_id,
                a: added,
            },
            Event::ThreadUpdated { chat_id, root_id } => Signal::Thread {
                c: chat_id,
                r: root_id,
            },
            Event::PinChanged(m) => Signal::Pin {
                c: m.chat_id,
                m: m.id,
                p: m.pinned.is_some(),
            },
        };
        vec![signal]
    }
}
