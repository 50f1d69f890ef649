//! Users, their API keys, and password hashing.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::api_key::{ApiKey, ApiKeyHash, MintedApiKey};
use crate::error::InfraError;
use crate::ids::{ApiKeyId, UserId};
use crate::user::{Email, Password, PasswordHash, User, UserCredentials};

/// Outcome of [`UserRepository::insert`] other than success.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another user already has this (normalised) e-mail address.
    #[error("email already taken")]
    EmailTaken,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Persistent storage of users.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user with their password hash.
    ///
    /// # Errors
    /// MUST return [`InsertUserError::EmailTaken`] when the e-mail address is
    /// already stored — decided by the store's unique constraint, so that
    /// concurrent registrations cannot both succeed.
    async fn insert(
        &self,
        user: &User,
        password_hash: &PasswordHash,
    ) -> Result<(), InsertUserError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, InfraError>;

    /// The user with this (normalised) e-mail address, if any.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, InfraError>;

    /// The user with this address together with their password hash.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, InfraError>;

    /// Which of `ids` belong to existing users (in any order).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_existing(&self, ids: &[UserId]) -> Result<Vec<UserId>, InfraError>;
}

/// Persistent storage of API keys.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Stores a new key's metadata under its digest.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn insert(&self, key: &ApiKey, hash: &ApiKeyHash) -> Result<(), InfraError>;

    /// The owner's keys that are not revoked, oldest first.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn list_active(&self, owner_id: UserId) -> Result<Vec<ApiKey>, InfraError>;

    /// Marks the owner's key revoked at `at`. MUST return `false` when the
    /// key does not exist, belongs to someone else or is already revoked.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn revoke(
        &self,
        owner_id: UserId,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<bool, InfraError>;

    /// The key stored under this digest, revoked or not.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, InfraError>;

    /// Which of `ids` exist and are not revoked, in any order. MUST cost
    /// one query whatever the number of ids (it is asked every second for
    /// every key with an open WebSocket).
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    async fn find_active_among(&self, ids: &[ApiKeyId]) -> Result<Vec<ApiKeyId>, InfraError>;
}

/// Slow, salted password hashing (argon2id in the shipped adapter). It MUST
/// NOT block the caller's async runtime.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with a fresh salt.
    ///
    /// # Errors
    /// [`InfraError`] when hashing cannot run.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, InfraError>;

    /// Whether `password` matches `hash`. With `hash: None` (unknown user) it
    /// MUST spend about as long as a real verification and return `false`,
    /// so response times do not reveal which e-mail addresses exist.
    ///
    /// # Errors
    /// [`InfraError`] when verification cannot run.
    async fn verify<'a>(
        &self,
        password: &str,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, InfraError>;
}

/// Generates API key secrets and digests them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait ApiKeyMinter: Send + Sync {
    /// A new secret from a cryptographically secure generator, with its
    /// prefix and digest.
    fn mint(&self) -> MintedApiKey;

    /// The digest of a presented secret; equal secrets give equal digests.
    fn digest(&self, secret: &str) -> ApiKeyHash;
}
