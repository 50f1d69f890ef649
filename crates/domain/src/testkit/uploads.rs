//! Rules of the `uploads` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("uploads":);
