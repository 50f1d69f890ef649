//! Rules of the `messages` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("messages":);
