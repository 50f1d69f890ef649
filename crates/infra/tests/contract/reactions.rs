//! Moved to missive_domain::testkit::reactions.
