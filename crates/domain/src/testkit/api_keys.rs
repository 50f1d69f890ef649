//! API keys: found by their digest, listed and revoked by their owner only.

use super::Adapters;
use super::support::{now, users};
use crate::api_key::{ApiKey, ApiKeyHash, ApiKeyName};
use crate::ids::{ApiKeyId, UserId};

super::rules!("api_keys":
    a_stored_key_is_found_by_its_digest,
    listing_shows_only_the_owners_active_keys_oldest_first,
    revoking_works_once_and_only_for_the_owner,
    active_among_keeps_only_existing_unrevoked_ids,
);

fn key(owner_id: UserId, name: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        owner_id,
        name: ApiKeyName::new(name).expect("valid"),
        prefix: "msv_abcdefgh".into(),
        created_at: now(),
        revoked_at: None,
    }
}

/// A key reads back whole by its digest; another digest finds nothing.
pub async fn a_stored_key_is_found_by_its_digest(a: &Adapters) {
    let owner = users(a, 1).await[0];
    let ci = key(owner, "ci");
    let digest = ApiKeyHash::new("a".repeat(64));

    a.api_keys.insert(&ci, &digest).await.expect("insert");

    assert_eq!(
        a.api_keys.find_by_hash(&digest).await.expect("find"),
        Some(ci),
        "the key is found by its digest, exactly as written"
    );
    let other = ApiKeyHash::new("b".repeat(64));
    assert_eq!(
        a.api_keys.find_by_hash(&other).await.expect("find"),
        None,
        "an unknown digest finds no key"
    );
}

/// An owner's listing holds their active keys, oldest first: neither a
/// revoked key nor someone else's.
pub async fn listing_shows_only_the_owners_active_keys_oldest_first(a: &Adapters) {
    let people = users(a, 2).await;
    let (owner, stranger) = (people[0], people[1]);
    let first = key(owner, "first");
    let revoked = key(owner, "revoked");
    let second = key(owner, "second");
    let foreign = key(stranger, "foreign");
    for (i, k) in [&first, &revoked, &second, &foreign]
        .into_iter()
        .enumerate()
    {
        a.api_keys
            .insert(k, &ApiKeyHash::new(format!("{i:064}")))
            .await
            .expect("insert");
    }
    assert!(
        a.api_keys
            .revoke(owner, revoked.id, now())
            .await
            .expect("revoke"),
        "the owner revokes their active key"
    );

    let listed = a.api_keys.list_active(owner).await.expect("list");

    assert_eq!(
        listed,
        vec![first, second],
        "only the owner's active keys, oldest first"
    );
}

/// Only the owner revokes a key, once; the revoked key is kept, with the
/// time of its revocation.
pub async fn revoking_works_once_and_only_for_the_owner(a: &Adapters) {
    let people = users(a, 2).await;
    let (owner, stranger) = (people[0], people[1]);
    let ci = key(owner, "ci");
    let digest = ApiKeyHash::new("c".repeat(64));
    a.api_keys.insert(&ci, &digest).await.expect("insert");
    let at = now();

    assert!(
        !a.api_keys
            .revoke(stranger, ci.id, at)
            .await
            .expect("stranger"),
        "a stranger cannot revoke someone else's key"
    );
    assert!(
        a.api_keys.revoke(owner, ci.id, at).await.expect("owner"),
        "the owner revokes their key"
    );
    assert!(
        !a.api_keys.revoke(owner, ci.id, at).await.expect("again"),
        "a revoked key is not revoked again"
    );
    assert!(
        !a.api_keys
            .revoke(owner, ApiKeyId::new(), at)
            .await
            .expect("unknown"),
        "an unknown key is not revoked"
    );

    let found = a
        .api_keys
        .find_by_hash(&digest)
        .await
        .expect("find")
        .expect("a revoked key is kept");
    assert_eq!(
        found.revoked_at,
        Some(at),
        "the key keeps when it was revoked"
    );
    assert!(!found.is_active(), "a revoked key is not active");
}

/// `find_active_among` names the existing, unrevoked keys among the ids,
/// and only them.
pub async fn active_among_keeps_only_existing_unrevoked_ids(a: &Adapters) {
    let owner = users(a, 1).await[0];
    let active = key(owner, "active");
    let revoked = key(owner, "revoked");
    for (i, k) in [&active, &revoked].into_iter().enumerate() {
        a.api_keys
            .insert(k, &ApiKeyHash::new(format!("{i:064}")))
            .await
            .expect("insert");
    }
    assert!(
        a.api_keys
            .revoke(owner, revoked.id, now())
            .await
            .expect("revoke"),
        "the owner revokes their active key"
    );

    let found = a
        .api_keys
        .find_active_among(&[active.id, revoked.id, ApiKeyId::new()])
        .await
        .expect("query");

    assert_eq!(
        found,
        vec![active.id],
        "neither a revoked key nor an unknown id is active"
    );
    assert!(
        a.api_keys
            .find_active_among(&[])
            .await
            .expect("empty")
            .is_empty(),
        "no ids, no keys"
    );
}
