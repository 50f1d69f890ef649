//! Rules of the `threads` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("threads":);
