//! `GET /api/v1/ws`: the WebSocket gateway.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::{Authenticated, Grant};
use crate::error::ApiError;
use crate::extract::Query;
use crate::openapi::{BadRequest, Gone, TooManyRequests, Unauthorized, ValidationFailed};
use crate::realtime::connection;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(websocket))
}

/// Credentials browsers can send (they cannot set headers on WebSocket
/// requests). Read by the gate with every other credential
/// ([`crate::auth::presented`]); declared here for the OpenAPI document.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documents the query; the gate reads it")]
pub struct WsCredentials {
    /// An access token, instead of `Authorization: Bearer`.
    access_token: Option<String>,
    /// An API key, instead of `X-API-Key`.
    api_key: Option<String>,
}

/// Resuming: `?since=` a token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsResume {
    /// Replay every change after this token (from an event's `token`,
    /// `ready`/`synced`, or `GET /sync`), then go live with no gap and no
    /// duplicate; `synced {token}` marks the seam. Expired → 410
    /// `sync_expired` before the upgrade.
    since: Option<String>,
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

/// Opens the real-time connection: one per device, carrying every chat of
/// the user. Authenticate with a header, or with `?access_token=` /
/// `?api_key=` from browsers. At most `realtime.max_connections_per_user`
/// (16) per user and instance: more are refused with 429. The connection
/// closes with 4001 when its credentials end — at the access token's
/// expiry, or within a second of its API key's revocation. The protocol
/// (events, commands, close codes) is described in the README; frames are
/// JSON text objects with a `type`.
#[utoipa::path(
    get, path = "/ws", tag = "realtime",
    params(WsCredentials, WsResume),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 410, response = Gone),
        (status = 422, response = ValidationFailed),
        (status = 429, response = TooManyRequests),
    )
)]
async fn websocket(
    State(app): State<AppState>,
    Authenticated(caller): Authenticated,
    Query(resume): Query<WsResume>,
    upgrade: Result<Upgrade, ApiError>,
) -> Result<Response, ApiError> {
    // Credentials first (the gate): a stranger learns nothing, not even
    // about upgrades.
    let Upgrade(upgrade) = upgrade?;
    let since = resume
        .since
        .as_deref()
        .map(|raw| super::sync::parse_token("since", raw))
        .transpose()?;
    if let Some(since) = since {
        // Answered before the upgrade, as a problem document.
        app.sync.check(since).await?;
    }
    let limits = &app.settings.realtime;
    let api_key = match caller.grant {
        Grant::ApiKey { id } => Some(id),
        Grant::Token { .. } => None,
    };
    // Registered now, before the handshake completes, so that the cap
    // holds for upgrades racing each other.
    let registration = app
        .realtime
        .registry
        .register(caller.user, api_key, limits.max_connections_per_user)
        .map_err(|_| ApiError::too_many_connections(limits.max_connections_per_user))?;
    let tracker = app.realtime.connections.clone();
    let connection_app = app.clone();
    Ok(upgrade
        .max_message_size(limits.max_frame_bytes)
        .max_frame_size(limits.max_frame_bytes)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| {
            tracker.track_future(connection::run(
                socket,
                registration,
                caller,
                connection_app,
                since,
            ))
        }))
}
