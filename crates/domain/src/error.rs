//! Errors shared by every port and use case.

/// A boxed error from an adapter, kept as the `source` of an [`InfraError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure of the outside world (database, hashing thread pool, …) that is
/// not a business outcome. Every port returns it for failures it cannot
/// translate into a business variant; every use-case error wraps it.
#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    /// A dependency (usually the database) is temporarily unreachable; the
    /// request may be retried. Maps to HTTP 503.
    #[error("a dependency is temporarily unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else that went wrong. Maps to an opaque HTTP 500.
    #[error("unexpected infrastructure failure")]
    Unexpected(#[source] BoxError),
}

impl InfraError {
    /// Wraps any error as [`InfraError::Unexpected`].
    pub fn unexpected(error: impl Into<BoxError>) -> Self {
        Self::Unexpected(error.into())
    }
}
