//! [`ApiKeyRepository`] in memory.

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::api_key::{ApiKey, ApiKeyHash};
use missive_domain::ids::{ApiKeyId, UserId};
use missive_domain::ports::ApiKeyRepository;
use time::OffsetDateTime;

use crate::MemoryStore;
use crate::state::micros;

/// [`ApiKeyRepository`] over a [`MemoryStore`]: keys by id and by digest.
#[derive(Debug, Clone)]
pub struct MemoryApiKeyRepository {
    store: MemoryStore,
}

impl MemoryApiKeyRepository {
    /// The repository over `store` (see [`MemoryStore::api_keys`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl ApiKeyRepository for MemoryApiKeyRepository {
    async fn insert(&self, key: &ApiKey, hash: &ApiKeyHash) -> Result<(), InfraError> {
        self.store.with(|state| {
            if state.api_keys.contains_key(&key.id) || state.key_hashes.contains_key(hash.as_str())
            {
                return Err(InfraError::unexpected("the key's id or digest is taken"));
            }
            state.user_exists(key.owner_id)?;
            state.key_hashes.insert(hash.as_str().to_owned(), key.id);
            let mut key = key.clone();
            key.created_at = micros(key.created_at);
            key.revoked_at = key.revoked_at.map(micros);
            state.api_keys.insert(key.id, (key, hash.clone()));
            Ok(())
        })?
    }

    async fn list_active(&self, owner_id: UserId) -> Result<Vec<ApiKey>, InfraError> {
        // Ids are time-ordered (v7): by id is oldest first.
        self.store.with(|state| {
            state
                .api_keys
                .values()
                .map(|(key, _)| key)
                .filter(|key| key.owner_id == owner_id && key.is_active())
                .cloned()
                .collect()
        })
    }

    async fn revoke(
        &self,
        owner_id: UserId,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<bool, InfraError> {
        self.store.with(|state| match state.api_keys.get_mut(&id) {
            Some((key, _)) if key.owner_id == owner_id && key.is_active() => {
                key.revoked_at = Some(micros(at));
                true
            }
            _ => false,
        })
    }

    async fn find_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, InfraError> {
        self.store.with(|state| {
            state
                .key_hashes
                .get(hash.as_str())
                .and_then(|id| state.api_keys.get(id))
                .map(|(key, _)| key.clone())
        })
    }

    async fn find_active_among(&self, ids: &[ApiKeyId]) -> Result<Vec<ApiKeyId>, InfraError> {
        self.store.with(|state| {
            let mut seen = std::collections::HashSet::new();
            ids.iter()
                .copied()
                .filter(|id| state.api_keys.get(id).is_some_and(|(k, _)| k.is_active()))
                .filter(|id| seen.insert(*id))
                .collect()
        })
    }
}
