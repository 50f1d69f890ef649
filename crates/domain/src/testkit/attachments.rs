//! Rules of the `attachments` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("attachments":);
