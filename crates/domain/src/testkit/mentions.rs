//! Rules of the `mentions` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("mentions":);
