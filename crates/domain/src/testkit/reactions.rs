//! Rules of the `reactions` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("reactions":);
