//! `/users`: the caller and look-ups of other users.

use axum::extract::State;
use missive_domain::ids::UserId;
use missive_domain::user::{Email, User};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Path, Query};
use crate::openapi::{BadRequest, NotFound, Unauthorized, ValidationFailed};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(find_by_email))
        .routes(routes!(get_user))
}

/// A user as anyone may see them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    /// Stable id (UUID v7).
    pub id: uuid::Uuid,
    /// Normalised e-mail address.
    #[schema(example = "ada@example.org")]
    pub email: String,
    /// Display name.
    #[schema(example = "Ada Lovelace")]
    pub full_name: String,
    /// When the account was created (RFC 3339, UTC).
    #[serde(with = "super::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id.as_uuid(),
            email: user.email.into(),
            full_name: user.full_name.into(),
            created_at: user.created_at,
        }
    }
}

/// The authenticated caller.
#[utoipa::path(
    operation_id = "get_me",
    get, path = "/users/me", tag = "users",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller", body = UserView),
        (status = 401, response = Unauthorized),
    )
)]
async fn me(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<UserView>, ApiError> {
    let user = app.users.get_user(caller).await.map_err(|e| match e {
        // A valid token for a user that no longer exists.
        missive_domain::services::users::GetUserError::NotFound => {
            ApiError::invalid_token("the token's user no longer exists")
        }
        other => other.into(),
    })?;
    Ok(Json(user.into()))
}

/// One user by id.
#[utoipa::path(
    get, path = "/users/{user_id}", tag = "users",
    params(("user_id" = uuid::Uuid, Path, description = "User id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn get_user(
    State(app): State<AppState>,
    _caller: Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<Json<UserView>, ApiError> {
    let user = app.users.get_user(UserId::from_uuid(id)).await?;
    Ok(Json(user.into()))
}

/// Query of `GET /users`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmailQuery {
    /// The address to look up (exact match after trimming and lower-casing).
    #[param(min_length = 3, max_length = 254)]
    email: String,
}

/// The one user with this e-mail address.
#[utoipa::path(
    operation_id = "find_user_by_email",
    get, path = "/users", tag = "users",
    params(EmailQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user with this address", body = UserView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = ValidationFailed),
    )
)]
async fn find_by_email(
    State(app): State<AppState>,
    _caller: Caller,
    Query(query): Query<EmailQuery>,
) -> Result<Json<UserView>, ApiError> {
    let mut errors = FieldErrors::default();
    let email = errors
        .check("email", Email::new(&query.email))
        .ok_or_else(|| errors.into_error())?;
    let user = app.users.find_user_by_email(&email).await?;
    Ok(Json(user.into()))
}
