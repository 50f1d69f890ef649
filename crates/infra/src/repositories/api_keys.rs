use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::api_key::{ApiKey, ApiKeyHash, ApiKeyName};
use missive_domain::ids::{ApiKeyId, UserId};
use missive_domain::ports::ApiKeyRepository;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use time::OffsetDateTime;

use super::corrupt;
use crate::Database;
use crate::db_error::infra_error;
use crate::entity::api_keys;

/// [`ApiKeyRepository`] on SeaORM.
#[derive(Debug, Clone)]
pub struct SeaApiKeyRepository {
    conn: DatabaseConnection,
}

impl SeaApiKeyRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
        }
    }
}

fn to_domain(model: api_keys::Model) -> Result<ApiKey, InfraError> {
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(model.id),
        owner_id: UserId::from_uuid(model.owner_id),
        name: ApiKeyName::new(&model.name).map_err(corrupt("api key name"))?,
        prefix: model.prefix,
        created_at: model.created_at,
        revoked_at: model.revoked_at,
    })
}

#[async_trait]
impl ApiKeyRepository for SeaApiKeyRepository {
    async fn insert(&self, key: &ApiKey, hash: &ApiKeyHash) -> Result<(), InfraError> {
        let model = api_keys::ActiveModel {
            id: Set(key.id.as_uuid()),
            owner_id: Set(key.owner_id.as_uuid()),
            name: Set(key.name.as_str().to_owned()),
            prefix: Set(key.prefix.clone()),
            key_hash: Set(hash.as_str().to_owned()),
            created_at: Set(key.created_at),
            revoked_at: Set(key.revoked_at),
        };
        api_keys::Entity::insert(model)
            .exec_without_returning(&self.conn)
            .await
            .map_err(infra_error)?;
        Ok(())
    }

    async fn list_active(&self, owner_id: UserId) -> Result<Vec<ApiKey>, InfraError> {
        api_keys::Entity::find()
            .filter(api_keys::Column::OwnerId.eq(owner_id.as_uuid()))
            .filter(api_keys::Column::RevokedAt.is_null())
            .order_by_asc(api_keys::Column::Id)
            .all(&self.conn)
            .await
            .map_err(infra_error)?
            .into_iter()
            .map(to_domain)
            .collect()
    }

    async fn revoke(
        &self,
        owner_id: UserId,
        id: ApiKeyId,
        at: OffsetDateTime,
    ) -> Result<bool, InfraError> {
        let result = api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, Expr::value(at))
            .filter(api_keys::Column::Id.eq(id.as_uuid()))
            .filter(api_keys::Column::OwnerId.eq(owner_id.as_uuid()))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&self.conn)
            .await
            .map_err(infra_error)?;
        Ok(result.rows_affected == 1)
    }

    async fn find_by_hash(&self, hash: &ApiKeyHash) -> Result<Option<ApiKey>, InfraError> {
        api_keys::Entity::find()
            .filter(api_keys::Column::KeyHash.eq(hash.as_str()))
            .one(&self.conn)
            .await
            .map_err(infra_error)?
            .map(to_domain)
            .transpose()
    }

    async fn find_active_among(&self, ids: &[ApiKeyId]) -> Result<Vec<ApiKeyId>, InfraError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<uuid::Uuid> = api_keys::Entity::find()
            .select_only()
            .column(api_keys::Column::Id)
            .filter(api_keys::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .filter(api_keys::Column::RevokedAt.is_null())
            .into_tuple()
            .all(&self.conn)
            .await
            .map_err(infra_error)?;
        Ok(found.into_iter().map(ApiKeyId::from_uuid).collect())
    }
}
