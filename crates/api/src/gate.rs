//! The front door of every API route: who is calling, and may they.
//!
//! For each request to `/api/v1/…` the gate
//!
//! 1. reads the credentials once ([`auth::presented`]) and verifies them
//!    once ([`auth::verify`]), leaving the [`auth::Verified`] caller in the
//!    request's extensions for the handlers;
//! 2. draws a token from the right bucket (SPEC §6.1): the verified
//!    user's (all of a user's tokens and keys share it), or the client
//!    IP's when there are no credentials or they do not verify — a failed
//!    request is answered 401 by the gate itself and still costs its
//!    address a token, so made-up credentials cannot buy fresh buckets;
//!    an address whose failures emptied its bucket has its API keys
//!    refused without a database lookup until the bucket refills;
//! 3. marks the answer `Cache-Control: no-store` (tokens, keys and
//!    private messages must not sit in shared caches).
//!
//! Registration and login are limited per IP and need no credentials;
//! probes, metrics and documentation pass untouched.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{self, Presented};
use crate::rate_limit::{BucketKey, Class, Decision, class_of};
use crate::state::AppState;

/// The route on which credentials may come in the query string.
const WEBSOCKET_ROUTE: &str = "/api/v1/ws";

/// Middleware: authenticates, rate-limits, and marks answers uncacheable.
pub async fn gate(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(route) = request.extensions().get::<MatchedPath>().cloned() else {
        return next.run(request).await;
    };
    let route = route.as_str();
    let Some(class) = class_of(request.method(), route) else {
        return next.run(request).await;
    };
    let ip = client_ip(&app, &request);
    let mut response = if class == Class::Auth {
        match app.rate_limits.check(Class::Auth, BucketKey::Ip(ip)) {
            Decision::Allowed { limit, remaining } => {
                with_limits(next.run(request).await, limit, remaining)
            }
            limited => refuse(limited),
        }
    } else {
        let query_allowed = route.trim_end_matches('/') == WEBSOCKET_ROUTE;
        match verified(
            &app,
            request.headers(),
            request.uri().query(),
            query_allowed,
            ip,
        )
        .await
        {
            Ok(verified) => match app.rate_limits.check(class, BucketKey::User(verified.user)) {
                Decision::Allowed { limit, remaining } => {
                    request.extensions_mut().insert(verified);
                    with_limits(next.run(request).await, limit, remaining)
                }
                limited => refuse(limited),
            },
            Err(response) => response,
        }
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The verified caller, or the answer for a request without one: 401 for
/// missing or bad credentials (charged to the address), 429 when the
/// address has no tokens left, 503 when credentials cannot be checked.
async fn verified(
    app: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    query_allowed: bool,
    ip: IpAddr,
) -> Result<auth::Verified, Response> {
    let presented = auth::presented(headers, query, query_allowed);
    let is_api_key = matches!(presented, Ok(Some(Presented::ApiKey(_))));
    if is_api_key && let Some(retry_after_secs) = app.rate_limits.credentials_refused(ip) {
        return Err(crate::error::ApiError::rate_limited(retry_after_secs).into_response());
    }
    let failure = match presented {
        Ok(Some(presented)) => match auth::verify(app, &presented).await {
            Ok(verified) => return Ok(verified),
            // The key store is down: nobody's fault, nothing to charge.
            Err(error) if error.status().is_server_error() => return Err(error.into_response()),
            Err(error) => error,
        },
        Ok(None) => crate::error::ApiError::unauthorized(
            "authentication required: send Authorization: Bearer <token> or X-API-Key",
        ),
        Err(error) => error,
    };
    // Credentials that do not verify are paid for by the address, from
    // the write bucket whatever the route: failures are never cheap.
    Err(
        match app.rate_limits.check(Class::Write, BucketKey::Ip(ip)) {
            Decision::Allowed { .. } => failure.into_response(),
            Decision::Limited {
                limit,
                retry_after_secs,
            } => {
                app.rate_limits
                    .refuse_credentials_from(ip, retry_after_secs);
                refuse(Decision::Limited {
                    limit,
                    retry_after_secs,
                })
            }
        },
    )
}

fn client_ip(app: &AppState, request: &Request) -> IpAddr {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    app.rate_limits.client_ip(peer, request.headers())
}

fn refuse(decision: Decision) -> Response {
    let Decision::Limited {
        limit,
        retry_after_secs,
    } = decision
    else {
        return crate::error::ApiError::rate_limited(1).into_response();
    };
    let response = crate::error::ApiError::rate_limited(retry_after_secs).into_response();
    with_limits(response, limit, 0)
}

fn with_limits(mut response: Response, limit: u32, remaining: u32) -> Response {
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
    response
}
