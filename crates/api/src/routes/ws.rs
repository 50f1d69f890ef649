//! `GET /api/v1/ws`: the WebSocket gateway.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::Response;
use missive_domain::ids::UserId;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::extract::Query;
use crate::openapi::{BadRequest, Unauthorized};
use crate::realtime::connection;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(websocket))
}

/// Credentials browsers can send (they cannot set headers on WebSocket
/// requests).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsCredentials {
    /// An access token, instead of `Authorization: Bearer`.
    access_token: Option<String>,
    /// An API key, instead of `X-API-Key`.
    api_key: Option<String>,
}

/// The upgrade, or a 400 problem when the request is not one.
pub struct Upgrade(WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(Upgrade)
            .map_err(|rejection| {
                ApiError::bad_request(format!(
                    "expected a WebSocket upgrade: {}",
                    rejection.body_text()
                ))
            })
    }
}

async fn caller(
    headers: &HeaderMap,
    credentials: WsCredentials,
    app: &AppState,
) -> Result<UserId, ApiError> {
    let has_header = headers.contains_key(axum::http::header::AUTHORIZATION)
        || headers.contains_key(crate::auth::API_KEY_HEADER);
    if has_header {
        return authenticate(headers, app).await;
    }
    if let Some(token) = credentials.access_token {
        return app
            .jwt
            .verify(&token)
            .map_err(|_| ApiError::invalid_token("invalid or expired access token"));
    }
    if let Some(key) = credentials.api_key {
        return Ok(app.api_keys.authenticate_api_key(&key).await?);
    }
    authenticate(headers, app).await
}

/// Opens the real-time connection: one per device, carrying every chat of
/// the user. Authenticate with a header, or with `?access_token=` /
/// `?api_key=` from browsers. The protocol (events, commands, close codes)
/// is described in the README; frames are JSON text objects with a `type`.
#[utoipa::path(
    get, path = "/ws", tag = "realtime",
    params(WsCredentials),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
    )
)]
async fn websocket(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(credentials): Query<WsCredentials>,
    upgrade: Result<Upgrade, ApiError>,
) -> Result<Response, ApiError> {
    // Credentials first: a stranger learns nothing, not even about upgrades.
    let user = caller(&headers, credentials, &app).await?;
    let Upgrade(upgrade) = upgrade?;
    let limits = &app.settings.realtime;
    let tracker = app.realtime.connections.clone();
    let connection_app = app.clone();
    Ok(upgrade
        .max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| {
            tracker.track_future(connection::run(socket, user, connection_app))
        }))
}
