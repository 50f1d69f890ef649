//! Users: stored exactly as written, one per e-mail address.

use futures_util::future::join_all;

use super::Adapters;
use super::support::now;
use crate::ids::UserId;
use crate::ports::InsertUserError;
use crate::user::{Email, FullName, PasswordHash, User};

super::rules!("users":
    a_stored_user_is_found_by_id_and_email_exactly_as_written,
    unknown_users_are_none_not_errors,
    a_second_user_with_the_same_email_is_email_taken,
    concurrent_registrations_of_one_email_store_exactly_one_user,
    find_existing_names_only_stored_users,
);

fn user(email: &str) -> User {
    User {
        id: UserId::new(),
        email: Email::new(email).expect("valid"),
        full_name: FullName::new("Ada Lovelace — 数学者").expect("valid"),
        created_at: now(),
    }
}

/// A user reads back whole — by id, by e-mail, and with their password
/// hash — including text outside ASCII.
pub async fn a_stored_user_is_found_by_id_and_email_exactly_as_written(a: &Adapters) {
    let ada = user("ada@example.org");
    let hash = PasswordHash::new("$argon2id$v=19$stored");

    a.users.insert(&ada, &hash).await.expect("insert");

    assert_eq!(
        a.users.find_by_id(ada.id).await.expect("find"),
        Some(ada.clone())
    );
    assert_eq!(
        a.users.find_by_email(&ada.email).await.expect("find"),
        Some(ada.clone())
    );
    let credentials = a
        .users
        .find_credentials_by_email(&ada.email)
        .await
        .expect("find")
        .expect("present");
    assert_eq!(credentials.user, ada);
    assert_eq!(credentials.password_hash, hash);
}

/// Looking up someone who does not exist is `None`, not an error.
pub async fn unknown_users_are_none_not_errors(a: &Adapters) {
    assert_eq!(
        a.users.find_by_id(UserId::new()).await.expect("query"),
        None
    );
    let email = Email::new("nobody@example.org").expect("valid");
    assert_eq!(a.users.find_by_email(&email).await.expect("query"), None);
    assert!(
        a.users
            .find_credentials_by_email(&email)
            .await
            .expect("query")
            .is_none()
    );
}

/// A second registration of an address (in any case) is `EmailTaken`.
pub async fn a_second_user_with_the_same_email_is_email_taken(a: &Adapters) {
    let hash = PasswordHash::new("h");
    a.users
        .insert(&user("ada@example.org"), &hash)
        .await
        .expect("first");

    let second = a.users.insert(&user("ADA@example.org"), &hash).await;

    assert!(
        matches!(second, Err(InsertUserError::EmailTaken)),
        "{second:?}"
    );
}

/// Eight registrations of one address at once store exactly one user.
pub async fn concurrent_registrations_of_one_email_store_exactly_one_user(a: &Adapters) {
    let hash = PasswordHash::new("h");
    let attempts: Vec<_> = (0..8).map(|_| user("race@example.org")).collect();
    let outcomes = join_all(attempts.iter().map(|u| a.users.insert(u, &hash))).await;

    let mut stored = 0;
    let mut taken = 0;
    for outcome in outcomes {
        match outcome {
            Ok(()) => stored += 1,
            Err(InsertUserError::EmailTaken) => taken += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((stored, taken), (1, 7));
}

/// `find_existing` names the stored users among the ids, and only them.
pub async fn find_existing_names_only_stored_users(a: &Adapters) {
    let ada = user("ada@example.org");
    a.users
        .insert(&ada, &PasswordHash::new("h"))
        .await
        .expect("insert");

    let found = a
        .users
        .find_existing(&[UserId::new(), ada.id])
        .await
        .expect("query");

    assert_eq!(found, vec![ada.id]);
    assert!(a.users.find_existing(&[]).await.expect("query").is_empty());
}
