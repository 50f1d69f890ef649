//! Rules of the `chats` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("chats":);
