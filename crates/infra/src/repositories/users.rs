use async_trait::async_trait;
use missive_domain::InfraError;
use missive_domain::ids::UserId;
use missive_domain::ports::{InsertUserError, UserRepository};
use missive_domain::user::{Email, FullName, PasswordHash, User, UserCredentials};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
};

use super::corrupt;
use crate::Database;
use crate::db_error::{infra_error, is_unique_violation};
use crate::entity::users;

/// [`UserRepository`] on SeaORM.
#[derive(Debug, Clone)]
pub struct SeaUserRepository {
    conn: DatabaseConnection,
}

impl SeaUserRepository {
    /// A repository using `db`'s pool.
    pub fn new(db: &Database) -> Self {
        Self {
            conn: db.connection().clone(),
        }
    }
}

fn to_credentials(model: users::Model) -> Result<UserCredentials, InfraError> {
    Ok(UserCredentials {
        user: User {
            id: UserId::from_uuid(model.id),
            email: Email::new(&model.email).map_err(corrupt("email"))?,
            full_name: FullName::new(&model.full_name).map_err(corrupt("full name"))?,
            created_at: model.created_at,
        },
        password_hash: PasswordHash::new(model.password_hash),
    })
}

impl SeaUserRepository {
    async fn find_one(
        &self,
        filter: sea_orm::sea_query::SimpleExpr,
    ) -> Result<Option<UserCredentials>, InfraError> {
        users::Entity::find()
            .filter(filter)
            .one(&self.conn)
            .await
            .map_err(infra_error)?
            .map(to_credentials)
            .transpose()
    }
}

#[async_trait]
impl UserRepository for SeaUserRepository {
    async fn insert(
        &self,
        user: &User,
        password_hash: &PasswordHash,
    ) -> Result<(), InsertUserError> {
        let model = users::ActiveModel {
            id: Set(user.id.as_uuid()),
            email: Set(user.email.as_str().to_owned()),
            full_name: Set(user.full_name.as_str().to_owned()),
            password_hash: Set(password_hash.as_str().to_owned()),
            created_at: Set(user.created_at),
        };
        match users::Entity::insert(model)
            .exec_without_returning(&self.conn)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(InsertUserError::EmailTaken),
            Err(e) => Err(infra_error(e).into()),
        }
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, InfraError> {
        let found = self.find_one(users::Column::Id.eq(id.as_uuid())).await?;
        Ok(found.map(|c| c.user))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, InfraError> {
        Ok(self.find_credentials_by_email(email).await?.map(|c| c.user))
    }

    async fn find_credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<UserCredentials>, InfraError> {
        self.find_one(users::Column::Email.eq(email.as_str())).await
    }

    async fn find_existing(&self, ids: &[UserId]) -> Result<Vec<UserId>, InfraError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<uuid::Uuid> = users::Entity::find()
            .select_only()
            .column(users::Column::Id)
            .filter(users::Column::Id.is_in(ids.iter().map(UserId::as_uuid)))
            .into_tuple()
            .all(&self.conn)
            .await
            .map_err(infra_error)?;
        Ok(found.into_iter().map(UserId::from_uuid).collect())
    }
}
