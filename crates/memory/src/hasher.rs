//! **Stores passwords in plain text; it must never back a real user
//! store.** A password "hasher" for tests and demos only.

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ports::PasswordHasher;
use missive_domain::user::{Password, PasswordHash};

/// What its "hashes" start with, so nobody mistakes one for a real hash.
const MARK: &str = "$plaintext-not-for-production$";

/// **Stores passwords in plain text; it must never back a real user
/// store** (in memory or, worse, combined with a persistent
/// `UserRepository` such as `missive-infra`'s SQL one).
///
/// A [`PasswordHasher`] that does not hash at all: it keeps each password
/// as it is (behind the marker `$plaintext-not-for-production$`), so
/// tests and examples run fast and without a key-derivation function.
/// Anyone who can read the stored "hash" can read the password; it is
/// deterministic and unsalted, so equal passwords give equal "hashes";
/// and it is not in the PHC string format [`PasswordHash`] describes.
///
/// It keeps the port's other rules: it never blocks, a verification
/// against no hash (an unknown user) is `false` and as quick as any other
/// (that is: both are instant, so timing reveals nothing either way).
/// For real passwords use a slow, salted KDF — `missive-infra` ships
/// `Argon2Hasher` (argon2id).
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainTestHasher;

#[async_trait]
impl PasswordHasher for PlainTestHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, InfraError> {
        Ok(PasswordHash::new(format!("{MARK}{}", password.expose())))
    }

    async fn verify<'a>(
        &self,
        password: &str,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, InfraError> {
        let stored = hash.and_then(|h| h.as_str().strip_prefix(MARK));
        // Compared in full whatever the first difference, for what little
        // that is worth in a store that keeps plain text.
        let expected = stored.unwrap_or_default().as_bytes();
        let given = password.as_bytes();
        let differences = expected
            .iter()
            .zip(given)
            .fold(expected.len() ^ given.len(), |acc, (a, b)| {
                acc | usize::from(a ^ b)
            });
        Ok(stored.is_some() && differences == 0)
    }
}
