//! Rules of the `api_keys` port(s): being moved here from `missive-infra`'s contract tests.

super::rules!("api_keys":);
