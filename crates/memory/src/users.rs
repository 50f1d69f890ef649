//! [`UserRepository`] in memory: one user per (normalised) e-mail address.

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::UserId;
use missive_domain::ports::{InsertUserError, UserRepository};
use missive_domain::user::{Email, PasswordHash, User, UserCredentials};

use crate::MemoryStore;
use crate::state::micros;

/// [`UserRepository`] over a [`MemoryStore`]: the e-mail address is a
/// unique key checked and taken in one step, so of concurrent
/// registrations of one address exactly one succeeds.
#[derive(Debug, Clone)]
pub struct MemoryUserRepository {
    store: MemoryStore,
}

impl MemoryUserRepository {
    /// The repository over `store` (see [`MemoryStore::users`]).
    #[must_use]
    pub fn new(store: MemoryStore) -> Self {
        Self { store }
    }
}

#[async_trait]
impl UserRepository for MemoryUserRepository {
    async fn insert(
        &self,
        user: &User,
        password_hash: &PasswordHash,
    ) -> Result<(), InsertUserError> {
        self.store.with(|state| {
            if state.emails.contains_key(user.email.as_str()) {
                return Err(InsertUserError::EmailTaken);
            }
            if state.users.contains_key(&user.id) {
                return Err(InfraError::unexpected("the user id is taken").into());
            }
            state.emails.insert(user.email.as_str().to_owned(), user.id);
            let mut user = user.clone();
            user.created_at = micros(user.created_at);
            let credentials = UserCredentials {
                user,
                password_hash: password_hash.clone(),
            };
            state.users.insert(credentials.user.id, credentials);
            Ok(())
        })?
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, InfraError> {
        self.store
            .with(|state| state.users.get(&id).map(|c| c.user.clone()))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, InfraError> {
        Ok(self.find_credentials_by_email(email).await?.map(|c| c.user))
    }

    async fn find_credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, InfraError> {
        self.store.with(|state| {
            state
                .emails
                .get(email.as_str())
                .and_then(|id| state.users.get(id))
                .cloned()
        })
    }

    async fn find_existing(&self, ids: &[UserId]) -> Result<Vec<UserId>, InfraError> {
        self.store.with(|state| {
            let mut seen = std::collections::HashSet::new();
            ids.iter()
                .copied()
                .filter(|id| state.users.contains_key(id) && seen.insert(*id))
                .collect()
        })
    }
}
