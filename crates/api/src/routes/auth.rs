//! `/auth`: registration and login, both answering an access token.

use axum::extract::State;
use axum::http::StatusCode;
use missive_domain::services::users::Registration;
use missive_domain::user::{Email, FullName, Password, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::users::UserView;
use crate::error::ApiError;
use crate::extract::{FieldErrors, Json};
use crate::openapi::{
    BadRequest, Conflict, InvalidCredentials, PayloadTooLarge, UnsupportedMediaType,
    ValidationFailed,
};
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
}

/// Body of `POST /auth/register`.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// Trimmed and lower-cased; must look like an e-mail address.
    #[schema(example = "ada@example.org", format = Email, max_length = 254)]
    email: String,
    /// 8–128 characters.
    #[schema(example = "correct horse battery", min_length = 8, max_length = 128)]
    password: String,
    /// 1–100 characters after trimming.
    #[schema(example = "Ada Lovelace", min_length = 1, max_length = 100)]
    full_name: String,
}

impl RegisterRequest {
    fn try_into_domain(self) -> Result<Registration, ApiError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::new(&self.email));
        let password = errors.check("password", Password::new(self.password));
        let full_name = errors.check("full_name", FullName::new(&self.full_name));
        match (email, password, full_name) {
            (Some(email), Some(password), Some(full_name)) => Ok(Registration {
                email,
                full_name,
                password,
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// Body of `POST /auth/login`.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The account's address (any case, surrounding spaces ignored).
    #[schema(example = "ada@example.org")]
    email: String,
    /// The account's password.
    #[schema(example = "correct horse battery")]
    password: String,
}

/// An access token and the user it belongs to.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// JWT (HS256) to send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `bearer`.
    #[schema(example = "bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    #[schema(example = 3600)]
    pub expires_in: u64,
    /// The authenticated user.
    pub user: UserView,
}

fn token_response(app: &AppState, user: User) -> Result<TokenResponse, ApiError> {
    let token = app.jwt.issue(user.id).map_err(|e| ApiError::internal(&e))?;
    Ok(TokenResponse {
        access_token: token.token,
        token_type: "bearer".into(),
        expires_in: token.expires_in,
        user: user.into(),
    })
}

/// Creates an account and signs it in.
#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; an access token for it", body = TokenResponse),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn register(
    State(app): State<AppState>,
    Json(body): Json<RegisterRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let registration = body.try_into_domain()?;
    let user = app.users.register(registration).await?;
    Ok((StatusCode::CREATED, Json(token_response(&app, user)?)))
}

/// Exchanges an e-mail address and password for an access token. An
/// unknown address and a wrong password get the same answer.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, response = BadRequest),
        (status = 401, response = InvalidCredentials),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
async fn login(
    State(app): State<AppState>,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let user = app.users.login(&body.email, &body.password).await?;
    Ok(Json(token_response(&app, user)?))
}
