//! In-memory adapters for every port of `missive-domain` (being built).
