//! Prometheus metrics at `/metrics`.
//!
//! | series | type | labels |
//! |---|---|---|
//! | `http_requests_total` | counter | `method`, `route` (template), `status` |
//! | `http_request_duration_seconds` | histogram | `method`, `route` |
//! | `missive_websocket_connections` | gauge | |
//! | `missive_events_delivered_total` | counter | |
//! | `missive_events_dropped_total` | counter | |
//! | `missive_slow_consumers_closed_total` | counter | |
//! | `missive_credentials_ended_total` | counter | |
//! | `missive_messages_stored_total` | counter | |
//! | `missive_db_pool_connections` | gauge | `state` = `open` / `idle` / `max` |
//! | `missive_sync_changes_pruned_total` | counter | |
//! | `missive_sync_prune_runs_total` | counter | `outcome` = `ok` / `failed` |
//! | `missive_sync_oldest_change_age_seconds` | gauge | |
//! | `missive_uploads_collected_total` | counter | `kind` = `uploads` / `blobs` / `orphans` / `staged` / `failed` |
//! | `missive_upload_collections_total` | counter | `outcome` = `ok` / `failed` |
//! | `missive_build_info` | gauge | `version` |

use std::sync::OnceLock;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the process-wide recorder once (several apps in one process,
/// as in tests, share it) and returns its handle.
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    BUCKETS,
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    let upkeep = handle.clone();
                    // Histograms are drained into their buckets by upkeep.
                    std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(Duration::from_secs(5));
                                upkeep.run_upkeep();
                            }
                        })
                        .ok()?;
                    ::metrics::gauge!("missive_build_info", "version" => env!("CARGO_PKG_VERSION"))
                        .set(1.0);
                    describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed");
                    None
                }
            }
        })
        .clone()
}

fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency"
    );
    describe_gauge!(
        "missive_websocket_connections",
        "Open WebSocket connections"
    );
    describe_counter!(
        "missive_events_delivered_total",
        "Events queued to WebSocket connections"
    );
    describe_counter!(
        "missive_events_dropped_total",
        "Events dropped because a connection's queue was full"
    );
    describe_counter!(
        "missive_slow_consumers_closed_total",
        "Connections closed with 4008"
    );
    describe_counter!(
        "missive_credentials_ended_total",
        "WebSockets closed with 4001 (access token expired or API key revoked)"
    );
    describe_counter!(
        "missive_messages_stored_total",
        "Messages stored (idempotent repeats excluded)"
    );
    describe_gauge!(
        "missive_db_pool_connections",
        "Database pool connections by state"
    );
    describe_counter!(
        "missive_sync_changes_pruned_total",
        "Changes deleted from the sync log past sync.retention_days"
    );
    describe_counter!(
        "missive_uploads_collected_total",
        "What the upload collection removed: expired unattached uploads, unreferenced blobs, orphaned bytes, crashed staging files"
    );
    describe_counter!(
        "missive_upload_collections_total",
        "Runs of the upload collection by outcome"
    );
    describe_counter!(
        "missive_sync_prune_runs_total",
        "Runs of the sync log's pruning job by outcome"
    );
    describe_gauge!(
        "missive_sync_oldest_change_age_seconds",
        Unit::Seconds,
        "Age of the oldest change kept in the sync log (0 when empty)"
    );
    describe_gauge!("missive_build_info", "Build information");
}

/// Middleware: counts and times every request by its route template
/// (`/api/v1/chats/{chat_id}`), never the raw path.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    ::metrics::counter!("http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    ::metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The `method` label: one of a fixed set, so a client inventing methods
/// cannot create series without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts a stored message.
pub fn message_stored() {
    ::metrics::counter!("missive_messages_stored_total").increment(1);
}

/// Records a run of the sync log's pruning job.
pub fn sync_pruned(outcome: Result<u64, ()>, oldest_age_secs: Option<f64>) {
    match outcome {
        Ok(pruned) => {
            ::metrics::counter!("missive_sync_changes_pruned_total").increment(pruned);
            ::metrics::counter!("missive_sync_prune_runs_total", "outcome" => "ok").increment(1);
        }
        Err(()) => {
            ::metrics::counter!("missive_sync_prune_runs_total", "outcome" => "failed")
                .increment(1);
        }
    }
    if let Some(age) = oldest_age_secs {
        ::metrics::gauge!("missive_sync_oldest_change_age_seconds").set(age);
    }
}

/// Reports one run of the upload collection.
pub fn uploads_collected(outcome: Option<missive_domain::services::uploads::Collected>) {
    match outcome {
        Some(c) => {
            for (kind, n) in [
                ("uploads", c.uploads),
                ("blobs", c.blobs),
                ("orphans", c.orphans),
                ("staged", c.staged),
                ("failed", c.failed),
            ] {
                ::metrics::counter!("missive_uploads_collected_total", "kind" => kind).increment(n);
            }
            ::metrics::counter!("missive_upload_collections_total", "outcome" => "ok").increment(1);
        }
        None => {
            ::metrics::counter!("missive_upload_collections_total", "outcome" => "failed")
                .increment(1);
        }
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn render(State(app): State<AppState>) -> Response {
    let stats = &app.realtime.registry.stats;
    ::metrics::gauge!("missive_websocket_connections")
        .set(stats.open.load(Ordering::Relaxed) as f64);
    ::metrics::counter!("missive_events_delivered_total")
        .absolute(stats.delivered.load(Ordering::Relaxed));
    ::metrics::counter!("missive_events_dropped_total")
        .absolute(stats.dropped.load(Ordering::Relaxed));
    ::metrics::counter!("missive_slow_consumers_closed_total")
        .absolute(stats.slow_consumers_closed.load(Ordering::Relaxed));
    ::metrics::counter!("missive_credentials_ended_total")
        .absolute(stats.credentials_ended.load(Ordering::Relaxed));
    let pool = app.database.pool_stats();
    ::metrics::gauge!("missive_db_pool_connections", "state" => "open").set(f64::from(pool.open));
    ::metrics::gauge!("missive_db_pool_connections", "state" => "idle").set(pool.idle as f64);
    ::metrics::gauge!("missive_db_pool_connections", "state" => "max").set(f64::from(pool.max));
    let body = handle().map(|h| h.render()).unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::method_label;

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        let invented = Method::from_bytes(b"BREW").expect("method");
        assert_eq!(method_label(&invented), "OTHER");
    }
}
