//! Rules of the `changes` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("changes":);
