//! Embedding the domain with adapters of your own: an in-memory user store,
//! a toy hasher and the system clock, driving registration and login.
//!
//! Run with `cargo run -p missive-domain --example embed`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::UserId;
use missive_domain::ports::{Clock, InsertUserError, PasswordHasher, UserRepository};
use missive_domain::services::users::{LoginError, Registration, UserService};
use missive_domain::user::{Email, FullName, Password, PasswordHash, User, UserCredentials};
use time::OffsetDateTime;

#[derive(Default)]
struct InMemoryUsers(Mutex<HashMap<String, UserCredentials>>);

#[async_trait]
impl UserRepository for InMemoryUsers {
    async fn insert(&self, user: &User, hash: &PasswordHash) -> Result<(), InsertUserError> {
        let mut users = self
            .0
            .lock()
            .map_err(|_| InfraError::unexpected("poisoned"))?;
        if users.contains_key(user.email.as_str()) {
            return Err(InsertUserError::EmailTaken);
        }
        let credentials = UserCredentials {
            user: user.clone(),
            password_hash: hash.clone(),
        };
        users.insert(user.email.as_str().to_owned(), credentials);
        Ok(())
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, InfraError> {
        let users = self
            .0
            .lock()
            .map_err(|_| InfraError::unexpected("poisoned"))?;
        Ok(users
            .values()
            .find(|c| c.user.id == id)
            .map(|c| c.user.clone()))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, InfraError> {
        Ok(self.find_credentials_by_email(email).await?.map(|c| c.user))
    }

    async fn find_credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, InfraError> {
        let users = self
            .0
            .lock()
            .map_err(|_| InfraError::unexpected("poisoned"))?;
        Ok(users.get(email.as_str()).cloned())
    }

    async fn find_existing(&self, ids: &[UserId]) -> Result<Vec<UserId>, InfraError> {
        let users = self
            .0
            .lock()
            .map_err(|_| InfraError::unexpected("poisoned"))?;
        Ok(ids
            .iter()
            .filter(|id| users.values().any(|c| c.user.id == **id))
            .copied()
            .collect())
    }
}

/// NOT for production: reverses the password. Use a real KDF (the
/// `missive-infra` crate ships argon2id).
struct ToyHasher;

#[async_trait]
impl PasswordHasher for ToyHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, InfraError> {
        Ok(PasswordHash::new(
            password.expose().chars().rev().collect::<String>(),
        ))
    }

    async fn verify<'a>(
        &self,
        password: &str,
        hash: Option<&'a PasswordHash>,
    ) -> Result<bool, InfraError> {
        Ok(hash.is_some_and(|h| h.as_str() == password.chars().rev().collect::<String>()))
    }
}

struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = UserService::new(
        Arc::new(InMemoryUsers::default()),
        Arc::new(ToyHasher),
        Arc::new(SystemClock),
    );

    futures_executor::block_on(async {
        let ada = service
            .register(Registration {
                email: Email::new("Ada@Example.org")?,
                full_name: FullName::new("Ada Lovelace")?,
                password: Password::new("analytical engine")?,
            })
            .await?;
        println!("registered {} as {}", ada.email, ada.id);

        let again = service
            .login("ada@example.org", "analytical engine")
            .await?;
        assert_eq!(again.id, ada.id);
        println!("logged in as {}", again.full_name.as_str());

        let refused = service.login("ada@example.org", "wrong").await;
        assert!(matches!(refused, Err(LoginError::InvalidCredentials)));
        println!("a wrong password is refused");
        Ok(())
    })
}
