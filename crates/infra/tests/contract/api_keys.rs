use missive_domain::api_key::{ApiKey, ApiKeyHash, ApiKeyName};
use missive_domain::ids::{ApiKeyId, UserId};
use missive_domain::ports::{ApiKeyRepository, UserRepository};
use missive_domain::user::{Email, FullName, PasswordHash, User};
use missive_infra::{Database, SeaApiKeyRepository, SeaUserRepository};

use crate::support::{now, on_each_backend};

async fn stored_user(db: &Database, email: &str) -> UserId {
    let user = User {
        id: UserId::new(),
        email: Email::new(email).expect("valid"),
        full_name: FullName::new("Owner").expect("valid"),
        created_at: now(),
    };
    SeaUserRepository::new(db)
        .insert(&user, &PasswordHash::new("h"))
        .await
        .expect("user");
    user.id
}

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

#[tokio::test]
async fn a_stored_key_is_found_by_its_digest() {
    on_each_backend(|db| async move {
        let owner = stored_user(&db, "owner@example.org").await;
        let repo = SeaApiKeyRepository::new(&db);
        let ci = key(owner, "ci");
        let digest = ApiKeyHash::new("a".repeat(64));

        repo.insert(&ci, &digest).await.expect("insert");

        assert_eq!(repo.find_by_hash(&digest).await.expect("find"), Some(ci));
        let other = ApiKeyHash::new("b".repeat(64));
        assert_eq!(repo.find_by_hash(&other).await.expect("find"), None);
    })
    .await;
}

#[tokio::test]
async fn listing_shows_only_the_owners_active_keys_oldest_first() {
    on_each_backend(|db| async move {
        let owner = stored_user(&db, "owner@example.org").await;
        let stranger = stored_user(&db, "stranger@example.org").await;
        let repo = SeaApiKeyRepository::new(&db);
        let first = key(owner, "first");
        let revoked = key(owner, "revoked");
        let second = key(owner, "second");
        let foreign = key(stranger, "foreign");
        for (i, k) in [&first, &revoked, &second, &foreign]
            .into_iter()
            .enumerate()
        {
            repo.insert(k, &ApiKeyHash::new(format!("{i:064}")))
                .await
                .expect("insert");
        }
        assert!(repo.revoke(owner, revoked.id, now()).await.expect("revoke"));

        let listed = repo.list_active(owner).await.expect("list");

        assert_eq!(listed, vec![first, second]);
    })
    .await;
}

#[tokio::test]
async fn revoking_works_once_and_only_for_the_owner() {
    on_each_backend(|db| async move {
        let owner = stored_user(&db, "owner@example.org").await;
        let stranger = stored_user(&db, "stranger@example.org").await;
        let repo = SeaApiKeyRepository::new(&db);
        let ci = key(owner, "ci");
        let digest = ApiKeyHash::new("c".repeat(64));
        repo.insert(&ci, &digest).await.expect("insert");
        let at = now();

        assert!(!repo.revoke(stranger, ci.id, at).await.expect("stranger"));
        assert!(repo.revoke(owner, ci.id, at).await.expect("owner"));
        assert!(!repo.revoke(owner, ci.id, at).await.expect("again"));
        assert!(
            !repo
                .revoke(owner, ApiKeyId::new(), at)
                .await
                .expect("unknown")
        );

        let found = repo
            .find_by_hash(&digest)
            .await
            .expect("find")
            .expect("kept");
        assert_eq!(found.revoked_at, Some(at));
        assert!(!found.is_active());
    })
    .await;
}

#[tokio::test]
async fn active_among_keeps_only_existing_unrevoked_ids() {
    on_each_backend(|db| async move {
        let owner = stored_user(&db, "owner@example.org").await;
        let repo = SeaApiKeyRepository::new(&db);
        let active = key(owner, "active");
        let revoked = key(owner, "revoked");
        for (i, k) in [&active, &revoked].into_iter().enumerate() {
            repo.insert(k, &ApiKeyHash::new(format!("{i:064}")))
                .await
                .expect("insert");
        }
        assert!(repo.revoke(owner, revoked.id, now()).await.expect("revoke"));

        let found = repo
            .find_active_among(&[active.id, revoked.id, ApiKeyId::new()])
            .await
            .expect("query");

        assert_eq!(found, vec![active.id]);
        assert!(repo.find_active_among(&[]).await.expect("empty").is_empty());
    })
    .await;
}
