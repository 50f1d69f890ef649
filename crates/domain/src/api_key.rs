//! API keys: long-lived secrets a user creates for scripts and services,
//! sent as `X-API-Key`.

use std::fmt;

use time::OffsetDateTime;

use crate::ids::{ApiKeyId, UserId};
use crate::value::{ValueError, check_chars};

/// An API key's metadata. The secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Stable identifier.
    pub id: ApiKeyId,
    /// The user the key acts as.
    pub owner_id: UserId,
    /// Human label chosen by the owner.
    pub name: ApiKeyName,
    /// The first characters of the secret, so owners can tell keys apart.
    pub prefix: String,
    /// When the key was created.
    pub created_at: OffsetDateTime,
    /// When the key was revoked; a revoked key authenticates nobody.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Whether the key still authenticates.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// An API key's label: 1–100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    /// Longest label accepted.
    pub const MAX_CHARS: usize = 100;

    /// Trims and validates a label.
    ///
    /// # Errors
    /// [`ValueError`] when the trimmed label is empty or too long.
    pub fn new(raw: &str) -> Result<Self, ValueError> {
        check_chars(raw, 0, Self::MAX_CHARS)?;
        let name = raw.trim();
        check_chars(name, 1, Self::MAX_CHARS)?;
        Ok(Self(name.to_owned()))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The plaintext of an API key, shown to its owner exactly once. Its
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// Wraps a freshly minted secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The plaintext, for the one-time display.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// The digest under which a key is stored and looked up (hex SHA-256 in the
/// shipped adapter).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    /// Wraps a digest.
    pub fn new(digest: impl Into<String>) -> Self {
        Self(digest.into())
    }

    /// The digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A newly generated key: the secret to show once, and what to store.
#[derive(Debug, Clone)]
pub struct MintedApiKey {
    /// The plaintext secret.
    pub secret: ApiKeySecret,
    /// Its displayable prefix.
    pub prefix: String,
    /// Its digest, the only form stored.
    pub hash: ApiKeyHash,
}

/// A key just created: its metadata and the one-time plaintext.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The stored metadata.
    pub key: ApiKey,
    /// The secret, never retrievable again.
    pub secret: ApiKeySecret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_name_is_trimmed_and_must_not_be_blank() {
        assert_eq!(ApiKeyName::new(" ci ").expect("valid").as_str(), "ci");
        assert!(ApiKeyName::new(" ").is_err());
        assert!(ApiKeyName::new(&"k".repeat(101)).is_err());
    }

    #[test]
    fn secret_never_shows_in_debug_output() {
        let secret = ApiKeySecret::new("msv_topsecret");
        assert!(!format!("{secret:?}").contains("topsecret"));
    }
}
