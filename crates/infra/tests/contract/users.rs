use std::sync::Arc;

use missive_domain::ids::UserId;
use missive_domain::ports::{InsertUserError, UserRepository};
use missive_domain::user::{Email, FullName, PasswordHash, User};
use missive_infra::SeaUserRepository;

use crate::support::{now, on_each_backend};

fn user(email: &str) -> User {
    User {
        id: UserId::new(),
        email: Email::new(email).expect("valid"),
        full_name: FullName::new("Ada Lovelace — 数学者").expect("valid"),
        created_at: now(),
    }
}

#[tokio::test]
async fn a_stored_user_is_found_by_id_and_email_exactly_as_written() {
    on_each_backend(|db| async move {
        let repo = SeaUserRepository::new(&db);
        let ada = user("ada@example.org");
        let hash = PasswordHash::new("$argon2id$v=19$stored");

        repo.insert(&ada, &hash).await.expect("insert");

        assert_eq!(
            repo.find_by_id(ada.id).await.expect("find"),
            Some(ada.clone())
        );
        assert_eq!(
            repo.find_by_email(&ada.email).await.expect("find"),
            Some(ada.clone())
        );
        let credentials = repo
            .find_credentials_by_email(&ada.email)
            .await
            .expect("find")
            .expect("present");
        assert_eq!(credentials.user, ada);
        assert_eq!(credentials.password_hash, hash);
    })
    .await;
}

#[tokio::test]
async fn unknown_users_are_none_not_errors() {
    on_each_backend(|db| async move {
        let repo = SeaUserRepository::new(&db);
        assert_eq!(repo.find_by_id(UserId::new()).await.expect("query"), None);
        let email = Email::new("nobody@example.org").expect("valid");
        assert_eq!(repo.find_by_email(&email).await.expect("query"), None);
        assert!(
            repo.find_credentials_by_email(&email)
                .await
                .expect("query")
                .is_none()
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_user_with_the_same_email_is_email_taken() {
    on_each_backend(|db| async move {
        let repo = SeaUserRepository::new(&db);
        let hash = PasswordHash::new("h");
        repo.insert(&user("ada@example.org"), &hash)
            .await
            .expect("first");

        let second = repo.insert(&user("ADA@example.org"), &hash).await;

        assert!(matches!(second, Err(InsertUserError::EmailTaken)));
    })
    .await;
}

#[tokio::test]
async fn concurrent_registrations_of_one_email_store_exactly_one_user() {
    on_each_backend(|db| async move {
        let repo = Arc::new(SeaUserRepository::new(&db));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let repo = Arc::clone(&repo);
                tokio::spawn(async move {
                    repo.insert(&user("race@example.org"), &PasswordHash::new("h"))
                        .await
                })
            })
            .collect();

        let mut stored = 0;
        let mut taken = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(()) => stored += 1,
                Err(InsertUserError::EmailTaken) => taken += 1,
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }

        assert_eq!((stored, taken), (1, 7));
    })
    .await;
}
