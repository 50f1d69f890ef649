//! `/api-keys`: the caller's long-lived keys for `X-API-Key`.

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::api_key::{ApiKey, ApiKeyName};
use missive_domain::ids::ApiKeyId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json, Path};
use crate::openapi::{
    BadRequest, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
}

/// Body of `POST /api-keys`.
#[derive(Deserialize, ToSchema)]
pub struct CreateApiKeyRequest {
    /// A label to recognise the key by, 1–100 characters.
    #[schema(example = "ci pipeline", min_length = 1, max_length = 100)]
    name: String,
}

/// An API key's metadata (never its secret).
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = ApiKey)]
pub struct ApiKeyView {
    /// Key id, for revocation.
    pub id: uuid::Uuid,
    /// The owner's label.
    pub name: String,
    /// The first characters of the secret, to tell keys apart.
    #[schema(example = "msv_Xk3v9QaZ")]
    pub prefix: String,
    /// When it was created.
    #[serde(with = "super::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<ApiKey> for ApiKeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id.as_uuid(),
            name: key.name.as_str().to_owned(),
            prefix: key.prefix,
            created_at: key.created_at,
        }
    }
}

/// A key just created, with its secret: the only time it is shown.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = CreatedApiKey)]
pub struct CreatedApiKeyView {
    /// Key id, for revocation.
    pub id: uuid::Uuid,
    /// The owner's label.
    pub name: String,
    /// The secret: send it as `X-API-Key`. Store it now; it cannot be
    /// retrieved again.
    #[schema(example = "msv_Xk3v9QaZ2b7Yc1Wd5Ue8Tf0Sg4Rh6Pi3Oj9Nk2Ml7Lm")]
    pub key: String,
    /// The first characters of the secret.
    pub prefix: String,
    /// When it was created.
    #[serde(with = "super::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// The caller's active keys.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApiKeyList {
    /// Oldest first.
    pub items: Vec<ApiKeyView>,
}

/// Creates an API key acting as the caller.
#[utoipa::path(
    post, path = "/api-keys", tag = "api-keys",
    request_body = CreateApiKeyRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Created; `key` is shown only now", body = CreatedApiKeyView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn create_api_key(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Json(body): Json<CreateApiKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKeyView>), ApiError> {
    let mut errors = FieldErrors::default();
    let name = errors
        .check("name", ApiKeyName::new(&body.name))
        .ok_or_else(|| errors.into_error())?;
    let created = app.api_keys.create_api_key(caller, name).await?;
    let view = CreatedApiKeyView {
        id: created.key.id.as_uuid(),
        name: created.key.name.as_str().to_owned(),
        key: created.secret.expose().to_owned(),
        prefix: created.key.prefix,
        created_at: created.key.created_at,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// Lists the caller's active keys, without secrets.
#[utoipa::path(
    get, path = "/api-keys", tag = "api-keys",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller's keys", body = ApiKeyList),
        (status = 401, response = Unauthorized),
    )
)]
async fn list_api_keys(
    State(app): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ApiKeyList>, ApiError> {
    let keys = app.api_keys.list_api_keys(caller).await?;
    Ok(Json(ApiKeyList {
        items: keys.into_iter().map(Into::into).collect(),
    }))
}

/// Revokes one of the caller's keys; it stops working at once.
#[utoipa::path(
    delete, path = "/api-keys/{key_id}", tag = "api-keys",
    params(("key_id" = uuid::Uuid, Path, description = "Key id")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
async fn revoke_api_key(
    State(app): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    app.api_keys
        .revoke_api_key(caller, ApiKeyId::from_uuid(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
