//! Liveness and readiness probes.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiError;
use crate::extract::Json;
use crate::openapi::Unavailable;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(live_alias))
        .routes(routes!(ready))
}

/// Probe result.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// 200 while the process runs.
#[utoipa::path(
    operation_id = "health_live",get, path = "/health/live", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
async fn live() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Same as `/health/live`.
#[utoipa::path(
    operation_id = "health_live_alias",get, path = "/health", tag = "health",
    responses((status = 200, description = "Alive", body = Health)))]
async fn live_alias() -> Json<Health> {
    live().await
}

/// 200 only when the database answers; 503 otherwise.
#[utoipa::path(
    operation_id = "health_ready",get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, response = Unavailable),
    ))]
async fn ready(State(app): State<AppState>) -> Result<Json<Health>, ApiError> {
    app.database
        .ping()
        .await
        .map_err(|_| ApiError::unavailable("the database does not answer"))?;
    Ok(Json(Health { status: "ok" }))
}
