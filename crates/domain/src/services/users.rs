//! Registration, login and user look-ups.

use std::sync::Arc;

use crate::error::InfraError;
use crate::ids::UserId;
use crate::ports::{Clock, InsertUserError, PasswordHasher, UserRepository};
use crate::user::{Email, FullName, Password, User};

/// A validated registration request.
#[derive(Debug, Clone)]
pub struct Registration {
    /// The new user's address.
    pub email: Email,
    /// Their display name.
    pub full_name: FullName,
    /// Their password, already checked against the policy.
    pub password: Password,
}

/// Why [`UserService::register`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The address belongs to another user.
    #[error("email already taken")]
    EmailTaken,
    /// Storage or hashing failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Why [`UserService::login`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown address or wrong password — deliberately indistinguishable.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Storage or hashing failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// Why a user look-up failed.
#[derive(Debug, thiserror::Error)]
pub enum GetUserError {
    /// No such user.
    #[error("user not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Infra(#[from] InfraError),
}

/// The user-account use cases.
#[derive(Clone)]
pub struct UserService {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
}

impl UserService {
    /// Wires the service to its ports.
    pub fn new(
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            hasher,
            clock,
        }
    }

    /// Creates an account.
    ///
    /// # Errors
    /// [`RegisterError::EmailTaken`] when the address is in use (also when
    /// two registrations race: the repository's unique constraint decides).
    pub async fn register(&self, registration: Registration) -> Result<User, RegisterError> {
        let password_hash = self.hasher.hash(&registration.password).await?;
        let user = User {
            id: UserId::new(),
            email: registration.email,
            full_name: registration.full_name,
            created_at: self.clock.now(),
        };
        match self.users.insert(&user, &password_hash).await {
            Ok(()) => Ok(user),
            Err(InsertUserError::EmailTaken) => Err(RegisterError::EmailTaken),
            Err(InsertUserError::Infra(e)) => Err(e.into()),
        }
    }

    /// Checks an address and password. The address is normalised first; an
    /// address that does not even parse is treated like an unknown one.
    ///
    /// # Errors
    /// [`LoginError::InvalidCredentials`] for an unknown address or a wrong
    /// password alike; both cost one password verification.
    pub async fn login(&self, email: &str, password: &str) -> Result<User, LoginError> {
        let credentials = match Email::new(email) {
            Ok(email) => self.users.find_credentials_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = credentials.as_ref().map(|c| &c.password_hash);
        let matches = self.hasher.verify(password, hash).await?;
        match credentials {
            Some(credentials) if matches => Ok(credentials.user),
            _ => Err(LoginError::InvalidCredentials),
        }
    }

    /// The user with this id.
    ///
    /// # Errors
    /// [`GetUserError::NotFound`] when there is none.
    pub async fn get_user(&self, id: UserId) -> Result<User, GetUserError> {
        self.users
            .find_by_id(id)
            .await?
            .ok_or(GetUserError::NotFound)
    }

    /// The user with this address (exact match after normalisation).
    ///
    /// # Errors
    /// [`GetUserError::NotFound`] when there is none.
    pub async fn find_user_by_email(&self, email: &Email) -> Result<User, GetUserError> {
        self.users
            .find_by_email(email)
            .await?
            .ok_or(GetUserError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use futures_executor::block_on;
    use mockall::predicate::{always, eq};
    use time::macros::datetime;

    use super::*;
    use crate::ports::{MockClock, MockPasswordHasher, MockUserRepository};
    use crate::user::{PasswordHash, UserCredentials};

    const NOW: time::OffsetDateTime = datetime!(2026-11-22 10:00 UTC);

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        Arc::new(clock)
    }

    fn registration(email: &str) -> Registration {
        Registration {
            email: Email::new(email).expect("valid email"),
            full_name: FullName::new("Ada Lovelace").expect("valid name"),
            password: Password::new("correct horse").expect("valid password"),
        }
    }

    fn stored_user(email: &str) -> UserCredentials {
        UserCredentials {
            user: User {
                id: UserId::new(),
                email: Email::new(email).expect("valid email"),
                full_name: FullName::new("Ada").expect("valid name"),
                created_at: NOW,
            },
            password_hash: PasswordHash::new("$argon2id$stored"),
        }
    }

    #[test]
    fn register_stores_the_hash_never_the_password_and_returns_the_user() {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .withf(|p| p.expose() == "correct horse")
            .returning(|_| Ok(PasswordHash::new("$argon2id$hashed")));
        let mut users = MockUserRepository::new();
        users
            .expect_insert()
            .withf(|user, hash| {
                user.email.as_str() == "ada@example.org" && hash.as_str() == "$argon2id$hashed"
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let service = UserService::new(Arc::new(users), Arc::new(hasher), clock());

        let user =
            block_on(service.register(registration(" ADA@example.org "))).expect("registered");

        assert_eq!(user.email.as_str(), "ada@example.org");
        assert_eq!(user.created_at, NOW);
        assert_eq!(user.id.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn register_reports_a_taken_email_as_a_business_error() {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("h")));
        let mut users = MockUserRepository::new();
        users
            .expect_insert()
            .returning(|_, _| Err(InsertUserError::EmailTaken));
        let service = UserService::new(Arc::new(users), Arc::new(hasher), clock());

        let result = block_on(service.register(registration("ada@example.org")));

        assert!(matches!(result, Err(RegisterError::EmailTaken)));
    }

    #[test]
    fn login_with_the_right_password_returns_the_user() {
        let stored = stored_user("ada@example.org");
        let expected = stored.user.clone();
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials_by_email()
            .with(eq(Email::new("ada@example.org").expect("valid")))
            .returning(move |_| Ok(Some(stored.clone())));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .withf(|password, hash| {
                password == "correct horse"
                    && hash.map(PasswordHash::as_str) == Some("$argon2id$stored")
            })
            .returning(|_, _| Ok(true));
        let service = UserService::new(Arc::new(users), Arc::new(hasher), clock());

        let user =
            block_on(service.login("  Ada@Example.org", "correct horse")).expect("logged in");

        assert_eq!(user, expected);
    }

    #[test]
    fn wrong_password_and_unknown_email_are_indistinguishable_and_both_verify() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials_by_email().returning(|email| {
            Ok((email.as_str() == "ada@example.org").then(|| stored_user("ada@example.org")))
        });
        let mut hasher = MockPasswordHasher::new();
        // Both paths must pay for one verification, so timing reveals nothing.
        hasher
            .expect_verify()
            .with(always(), always())
            .times(3)
            .returning(|_, _| Ok(false));
        let service = UserService::new(Arc::new(users), Arc::new(hasher), clock());

        let wrong_password = block_on(service.login("ada@example.org", "wrong password"));
        let unknown_email = block_on(service.login("nobody@example.org", "correct horse"));
        let unparsable_email = block_on(service.login("not an email", "correct horse"));

        for result in [wrong_password, unknown_email, unparsable_email] {
            let error = result.expect_err("must fail");
            assert!(matches!(error, LoginError::InvalidCredentials));
            assert_eq!(error.to_string(), "invalid email or password");
        }
    }

    #[test]
    fn unknown_email_is_verified_against_no_hash() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(None));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .withf(|_, hash| hash.is_none())
            .times(1)
            .returning(|_, _| Ok(false));
        let service = UserService::new(Arc::new(users), Arc::new(hasher), clock());

        let result = block_on(service.login("nobody@example.org", "whatever1"));

        assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    }

    #[test]
    fn get_user_reports_a_missing_user_as_not_found() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_id().returning(|_| Ok(None));
        let service = UserService::new(
            Arc::new(users),
            Arc::new(MockPasswordHasher::new()),
            clock(),
        );

        let result = block_on(service.get_user(UserId::new()));

        assert!(matches!(result, Err(GetUserError::NotFound)));
    }

    #[test]
    fn find_user_by_email_looks_up_the_normalised_address() {
        let stored = stored_user("ada@example.org");
        let expected = stored.user.clone();
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_email()
            .withf(|email| email.as_str() == "ada@example.org")
            .returning(move |_| Ok(Some(stored.user.clone())));
        let service = UserService::new(
            Arc::new(users),
            Arc::new(MockPasswordHasher::new()),
            clock(),
        );

        let email = Email::new("ADA@example.org").expect("valid");
        let user = block_on(service.find_user_by_email(&email)).expect("found");

        assert_eq!(user, expected);
    }

    #[test]
    fn storage_failures_surface_as_infra_errors() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .returning(|_| Err(InfraError::Unavailable("db down".into())));
        let service = UserService::new(
            Arc::new(users),
            Arc::new(MockPasswordHasher::new()),
            clock(),
        );

        let result = block_on(service.get_user(UserId::new()));

        assert!(matches!(
            result,
            Err(GetUserError::Infra(InfraError::Unavailable(_)))
        ));
    }
}
