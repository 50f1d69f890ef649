//! Creating, listing, revoking and authenticating API keys.

use std::sync::Arc;

use crate::api_key::{ApiKey, ApiKeyName, CreatedApiKey};
use crate::error::InfraError;
use crate::ids::{ApiKeyId, UserId};
use crate::ports::{ApiKeyMinter, ApiKeyRepository, Clock};

/// Longest secret worth digesting; anything longer cannot be one of ours.
const MAX_SECRET_LEN: usize = 256;

/// Why [`ApiKeyService::revoke_api_key`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RevokeApiKeyError {
    /// No active key with this id belongs to the caller.
    #[error("api key not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Why [`ApiKeyService::authenticate_api_key`] failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateApiKeyError {
    /// Unknown, malformed or revoked key.
    #[error("invalid api key")]
    InvalidKey,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// The API-key use cases.
#[derive(Clone)]
pub struct ApiKeyService {
    keys: Arc<dyn ApiKeyRepository>,
    minter: Arc<dyn ApiKeyMinter>,
    clock: Arc<dyn Clock>,
}

impl ApiKeyService {
    /// Wires the service to its ports.
    pub fn new(
        keys: Arc<dyn ApiKeyRepository>,
        minter: Arc<dyn ApiKeyMinter>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            keys,
            minter,
            clock,
        }
    }

    /// Creates a key acting as `owner_id`. Only its digest is stored; the
    /// returned secret is the one chance to see it.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    pub async fn create_api_key(
        &self,
        owner_id: UserId,
        name: ApiKeyName,
    ) -> Result<CreatedApiKey, InfraError> {
        let minted = self.minter.mint();
        let key = ApiKey {
            id: ApiKeyId::new(),
            owner_id,
            name,
            prefix: minted.prefix,
            created_at: self.clock.now(),
            revoked_at: None,
        };
        self.keys.insert(&key, &minted.hash).await?;
        Ok(CreatedApiKey {
            key,
            secret: minted.secret,
        })
    }

    /// The caller's active keys, without secrets.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    pub async fn list_api_keys(&self, owner_id: UserId) -> Result<Vec<ApiKey>, InfraError> {
        self.keys.list_active(owner_id).await
    }

    /// Revokes one of the caller's keys; it stops authenticating at once.
    ///
    /// # Errors
    /// [`RevokeApiKeyError::NotFound`] when the key is unknown, someone
    /// else's, or already revoked.
    pub async fn revoke_api_key(
        &self,
        owner_id: UserId,
        id: ApiKeyId,
    ) -> Result<(), RevokeApiKeyError> {
        if self.keys.revoke(owner_id, id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(RevokeApiKeyError::NotFound)
        }
    }

    /// The active key a presented secret belongs to (its `owner_id` is the
    /// user it acts as; its `id` lets long-lived sessions notice its
    /// revocation, see [`revoked_among`](Self::revoked_among)).
    ///
    /// # Errors
    /// [`AuthenticateApiKeyError::InvalidKey`] when the secret is empty,
    /// oversized, unknown or revoked.
    pub async fn authenticate_api_key(
        &self,
        secret: &str,
    ) -> Result<ApiKey, AuthenticateApiKeyError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Err(AuthenticateApiKeyError::InvalidKey);
        }
        let hash = self.minter.digest(secret);
        match self.keys.find_by_hash(&hash).await? {
            Some(key) if key.is_active() => Ok(key),
            _ => Err(AuthenticateApiKeyError::InvalidKey),
        }
    }

    /// Which of `ids` no longer authenticate (revoked, or gone). Sessions
    /// that outlive a request (WebSockets) ask this periodically and end
    /// when their key is among the answer.
    ///
    /// # Errors
    /// [`InfraError`] when storage fails.
    pub async fn revoked_among(&self, ids: &[ApiKeyId]) -> Result<Vec<ApiKeyId>, InfraError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let active = self.keys.find_active_among(ids).await?;
        Ok(ids
            .iter()
            .filter(|id| !active.contains(id))
            .copied()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use time::macros::datetime;

    use super::*;
    use crate::api_key::{ApiKeyHash, ApiKeySecret, MintedApiKey};
    use crate::ports::{MockApiKeyMinter, MockApiKeyRepository, MockClock};

    const NOW: time::OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        Arc::new(clock)
    }

    fn minter() -> MockApiKeyMinter {
        let mut minter = MockApiKeyMinter::new();
        minter.expect_mint().returning(|| MintedApiKey {
            secret: ApiKeySecret::new("msv_secret"),
            prefix: "msv_secr".into(),
            hash: ApiKeyHash::new("digest-of-secret"),
        });
        minter
            .expect_digest()
            .returning(|secret| ApiKeyHash::new(format!("digest-of-{}", &secret[4..])));
        minter
    }

    fn stored_key(owner_id: UserId, revoked: bool) -> ApiKey {
        ApiKey {
            id: ApiKeyId::new(),
            owner_id,
            name: ApiKeyName::new("ci").expect("valid"),
            prefix: "msv_secr".into(),
            created_at: NOW,
            revoked_at: revoked.then_some(NOW),
        }
    }

    #[test]
    fn create_stores_only_the_digest_and_returns_the_secret_once() {
        let owner = UserId::new();
        let mut keys = MockApiKeyRepository::new();
        keys.expect_insert()
            .withf(move |key, hash| {
                key.owner_id == owner
                    && key.prefix == "msv_secr"
                    && key.is_active()
                    && hash.as_str() == "digest-of-secret"
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        let created =
            block_on(service.create_api_key(owner, ApiKeyName::new("ci").expect("valid")))
                .expect("created");

        assert_eq!(created.secret.expose(), "msv_secret");
        assert_eq!(created.key.created_at, NOW);
        assert_eq!(created.key.name.as_str(), "ci");
    }

    #[test]
    fn an_active_key_authenticates_its_owner() {
        let owner = UserId::new();
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_hash()
            .withf(|hash| hash.as_str() == "digest-of-secret")
            .returning(move |_| Ok(Some(stored_key(owner, false))));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        let key = block_on(service.authenticate_api_key("msv_secret")).expect("authenticated");

        assert_eq!(key.owner_id, owner);
    }

    #[test]
    fn revoked_among_names_the_ids_that_are_not_active_any_more() {
        let (active, revoked, gone) = (ApiKeyId::new(), ApiKeyId::new(), ApiKeyId::new());
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_active_among()
            .withf(move |ids| ids == [active, revoked, gone])
            .times(1)
            .returning(move |_| Ok(vec![active]));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        let ended = block_on(service.revoked_among(&[active, revoked, gone])).expect("answered");

        assert_eq!(ended, vec![revoked, gone]);
    }

    #[test]
    fn revoked_among_no_ids_asks_nothing() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_active_among().never();
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        assert!(
            block_on(service.revoked_among(&[]))
                .expect("answered")
                .is_empty()
        );
    }

    #[test]
    fn a_revoked_key_is_rejected() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_hash()
            .returning(|_| Ok(Some(stored_key(UserId::new(), true))));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        let result = block_on(service.authenticate_api_key("msv_secret"));

        assert!(matches!(result, Err(AuthenticateApiKeyError::InvalidKey)));
    }

    #[test]
    fn an_unknown_key_is_rejected() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_hash().returning(|_| Ok(None));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        let result = block_on(service.authenticate_api_key("msv_other"));

        assert!(matches!(result, Err(AuthenticateApiKeyError::InvalidKey)));
    }

    #[test]
    fn empty_and_oversized_keys_are_rejected_without_a_lookup() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_hash().never();
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        for secret in [String::new(), "m".repeat(MAX_SECRET_LEN + 1)] {
            let result = block_on(service.authenticate_api_key(&secret));
            assert!(matches!(result, Err(AuthenticateApiKeyError::InvalidKey)));
        }
    }

    #[test]
    fn revoking_someone_elses_or_a_revoked_key_is_not_found() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_revoke().returning(|_, _, _| Ok(false));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        let result = block_on(service.revoke_api_key(UserId::new(), ApiKeyId::new()));

        assert!(matches!(result, Err(RevokeApiKeyError::NotFound)));
    }

    #[test]
    fn revoking_an_own_active_key_stamps_the_current_time() {
        let owner = UserId::new();
        let id = ApiKeyId::new();
        let mut keys = MockApiKeyRepository::new();
        keys.expect_revoke()
            .withf(move |o, i, at| *o == owner && *i == id && *at == NOW)
            .times(1)
            .returning(|_, _, _| Ok(true));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        block_on(service.revoke_api_key(owner, id)).expect("revoked");
    }

    #[test]
    fn listing_returns_the_owners_active_keys() {
        let owner = UserId::new();
        let mut keys = MockApiKeyRepository::new();
        keys.expect_list_active()
            .withf(move |o| *o == owner)
            .returning(move |_| Ok(vec![stored_key(owner, false)]));
        let service = ApiKeyService::new(Arc::new(keys), Arc::new(minter()), clock());

        let listed = block_on(service.list_api_keys(owner)).expect("listed");

        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].owner_id, owner);
    }
}
