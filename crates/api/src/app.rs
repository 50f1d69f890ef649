//! Building and running the HTTP server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::map_response;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::serve::ListenerExt;
use missive_domain::services::api_keys::ApiKeyService;
use missive_domain::services::chats::{ChatLimits, ChatService};
use missive_domain::services::messages::MessageService;
use missive_domain::services::pins::PinService;
use missive_domain::services::reactions::ReactionService;
use missive_domain::services::sync::SyncService;
use missive_domain::services::uploads::UploadService;
use missive_domain::services::users::UserService;
use missive_domain::upload::{AllowedTypes, UploadPolicy};
use missive_infra::{
    Argon2Hasher, Database, DatabaseOptions, GroupCommit, ImagePreviews, LocalBlobStore,
    MagicSniffer, S3BlobStore, S3Config, SeaApiKeyRepository, SeaChangeLog, SeaChatRepository,
    SeaMessageRepository, SeaPinRepository, SeaReactionRepository, SeaUploadRepository,
    SeaUserRepository, Sha256KeyMinter, SignalBus, SignalPublisher, SystemClock,
};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::JwtKeys;
use crate::config::Settings;
use crate::error::ApiError;
use crate::extract::problem_for_bare_errors;
use crate::openapi::{ApiDoc, document};
use crate::rate_limit::RateLimits;
use crate::realtime::Realtime as RealtimeTasks;
use crate::realtime::Realtime;
use crate::realtime::dispatcher::Dispatcher;
use crate::realtime::faults::Faults;
use crate::routes;
use crate::state::{App, AppState};
use crate::{gate, metrics};

/// Opens the database described by `settings`.
///
/// # Errors
/// When the URL is invalid or the database cannot be reached.
pub async fn connect(settings: &Settings) -> anyhow::Result<Database> {
    let options = DatabaseOptions {
        url: settings.database.url.expose_secret().to_owned(),
        max_connections: settings.database.max_connections,
        acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_secs),
        statement_timeout: Some(Duration::from_secs(
            settings.database.statement_timeout_secs,
        )),
    };
    Database::connect(&options)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(&options.url)))
}

/// Opens one connection for migrations: no statement timeout, since
/// building an index on a large table may take minutes.
///
/// # Errors
/// When the URL is invalid or the database cannot be reached.
pub async fn connect_for_migrations(settings: &Settings) -> anyhow::Result<Database> {
    let options = DatabaseOptions {
        url: settings.database.url.expose_secret().to_owned(),
        max_connections: 1,
        acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_secs),
        statement_timeout: None,
    };
    Database::connect(&options)
        .await
        .with_context(|| format!("cannot open the database at {}", redact_url(&options.url)))
}

/// `scheme://user:***@host/db` — never log a database password.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Wires adapters into services. Events go onto `bus`; the returned
/// dispatcher delivers them to this instance's WebSocket connections once
/// spawned (the command line does not need it).
///
/// # Errors
/// When the password hasher cannot be set up.
pub fn build_state(
    settings: Settings,
    database: Database,
    bus: &SignalBus,
) -> anyhow::Result<(AppState, Dispatcher)> {
    let clock = Arc::new(SystemClock);
    let user_repository = Arc::new(SeaUserRepository::new(&database));
    let chat_repository = Arc::new(SeaChatRepository::new(&database));
    let message_repository = Arc::new(SeaMessageRepository::new(&database).with_group_commit(
        GroupCommit {
            wait: Duration::from_micros(settings.database.group_commit_wait_us),
            max_batch: settings.database.group_commit_max_batch as usize,
        },
    ));
    let reaction_repository = Arc::new(SeaReactionRepository::new(&database));
    let events = Arc::new(SignalPublisher::new(bus.clone()));
    let users = UserService::new(
        user_repository.clone(),
        Arc::new(Argon2Hasher::new()?.bounded(
            settings.auth.hash_concurrency,
            Duration::from_secs(settings.auth.hash_wait_secs),
        )),
        clock.clone(),
    );
    let api_keys = ApiKeyService::new(
        Arc::new(SeaApiKeyRepository::new(&database)),
        Arc::new(Sha256KeyMinter),
        clock.clone(),
    );
    let chats = ChatService::new(
        chat_repository.clone(),
        user_repository,
        events.clone(),
        clock.clone(),
        ChatLimits {
            max_group_members: settings.limits.max_group_members,
        },
    );
    let upload_repository = Arc::new(SeaUploadRepository::new(&database));
    let messages = MessageService::new(
        message_repository.clone(),
        chat_repository.clone(),
        reaction_repository.clone(),
        upload_repository.clone(),
        events.clone(),
        clock.clone(),
    );
    let reactions = ReactionService::new(
        reaction_repository.clone(),
        message_repository.clone(),
        chat_repository.clone(),
        events.clone(),
        clock.clone(),
    );
    let pins = PinService::new(
        Arc::new(SeaPinRepository::new(&database)),
        reaction_repository.clone(),
        chat_repository.clone(),
        events,
        clock.clone(),
    );
    let uploads = UploadService::new(
        upload_repository,
        blob_store(&settings.storage)?,
        Arc::new(MagicSniffer),
        Arc::new(ImagePreviews::per_core()),
        clock.clone(),
        UploadPolicy {
            max_bytes: settings.uploads.max_bytes,
            quota_bytes: settings.uploads.quota_bytes,
            allowed: AllowedTypes::new(settings.uploads.allowed_types.iter().cloned()),
        },
    );
    let jwt = JwtKeys::new(&jwt_secret(&settings)?, settings.auth.access_token_ttl_secs);
    let realtime = Realtime::new(settings.realtime.outbound_queue);
    let rate_limits = RateLimits::new(&settings.rate_limit);
    let sync = SyncService::new(
        Arc::new(SeaChangeLog::new(&database)),
        message_repository,
        chat_repository.clone(),
        reaction_repository,
    );
    let dispatcher = Dispatcher::new(
        Arc::clone(&realtime.registry),
        chat_repository,
        sync.clone(),
    );
    let state = AppState(Arc::new(App {
        users,
        api_keys,
        chats,
        messages,
        reactions,
        pins,
        uploads,
        upload_slots: crate::upload_slots::UploadSlots::new(
            settings.uploads.max_in_flight_per_user.max(1),
            settings.uploads.max_in_flight.max(1),
        ),
        sync,
        rate_limits,
        realtime,
        jwt,
        database,
        settings,
    }));
    Ok((state, dispatcher))
}

fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &settings.auth.jwt_secret {
        return Ok(secret.expose_secret().as_bytes().to_vec());
    }
    let mut secret = vec![0u8; 64];
    getrandom::fill(&mut secret)
        .context("no random source for a JWT secret; set auth.jwt_secret")?;
    tracing::warn!(
        "auth.jwt_secret is not set: using a random secret, so access tokens will not survive a restart \
         and will not work across instances; set MISSIVE__AUTH__JWT_SECRET"
    );
    Ok(secret)
}

/// Room for a multipart upload's boundaries and part headers above
/// `uploads.max_bytes`.
const UPLOAD_FRAMING: usize = 64 * 1024;

/// The OpenAPI document and the router serving it, with the middleware
/// every request goes through.
pub fn router(state: AppState) -> Router {
    let settings = &state.settings;
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", routes::api_v1(settings))
        .merge(routes::health::router())
        .split_for_parts();
    let openapi = document(openapi);

    let cors = if settings.server.cors_origins.is_empty() {
        // No CORS headers at all: browsers on other origins are refused.
        CorsLayer::new()
    } else {
        let origins: Vec<HeaderValue> = settings
            .server
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-api-key"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                header::RETRY_AFTER,
                HeaderName::from_static("ratelimit-limit"),
                HeaderName::from_static("ratelimit-remaining"),
            ])
            .max_age(Duration::from_secs(600))
    };

    let mut router = Router::new().merge(api);
    if settings.metrics.bind.is_none() {
        router = router.route("/metrics", axum::routing::get(metrics::render));
    }
    // The WebSocket protocol's document, built once from the same types.
    let asyncapi = crate::asyncapi::document(&openapi);
    let asyncapi_page = axum::response::Html(crate::asyncapi::page(&asyncapi));
    let asyncapi = axum::Json(asyncapi);
    router = router
        .route(
            "/asyncapi.json",
            axum::routing::get(move || std::future::ready(asyncapi.clone())),
        )
        .route(
            "/docs/asyncapi",
            axum::routing::get(move || std::future::ready(asyncapi_page.clone())),
        );
    router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(routes::docs::router())
        .merge(routes::web::router())
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        // Innermost first: everything below sees the matched route.
        .layer(from_fn_with_state(state.clone(), gate::gate))
        .layer(DefaultBodyLimit::max(settings.server.max_body_bytes))
        // The outer cap; each body extractor enforces its route's own limit
        // (`server.max_body_bytes`, or `server.max_batch_bytes` for batches).
        .layer(RequestBodyLimitLayer::new(
            settings
                .server
                .max_body_bytes
                .max(settings.server.max_batch_bytes)
                // An upload streams; its own limit is checked as it arrives.
                .max(
                    usize::try_from(settings.uploads.max_bytes)
                        .unwrap_or(usize::MAX)
                        .saturating_add(UPLOAD_FRAMING),
                ),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(settings.server.request_timeout_secs),
        ))
        .layer(from_fn(metrics::track))
        .layer(map_response(problem_for_bare_errors))
        .layer(cors)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // A bug must still answer a problem document, not drop the connection.
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("a request handler panicked");
                axum::response::IntoResponse::into_response(ApiError::from_status(
                    StatusCode::INTERNAL_SERVER_ERROR,
                ))
            },
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let request_id = request
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The path only: query strings may carry credentials
                    // (`?access_token=` on WebSocket upgrades).
                    tracing::info_span!(
                        "http",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id = %request_id,
                    )
                })
                .on_request(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// A server bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// Stops the real-time background tasks.
    stop: tokio_util::sync::CancellationToken,
}

impl Application {
    /// Connects to the database, migrates it when `database.auto_migrate`
    /// is set, and binds `server.bind` (port 0 picks a free port).
    ///
    /// # Errors
    /// When the database cannot be opened or migrated, or the address
    /// cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_faults(settings, Faults::none()).await
    }

    /// [`Application::build`] with faults injected (tests of what survives
    /// lost or reordered signals).
    ///
    /// # Errors
    /// As [`Application::build`].
    pub async fn build_with_faults(settings: Settings, faults: Faults) -> anyhow::Result<Self> {
        if settings.database.auto_migrate {
            let migrations = connect_for_migrations(&settings).await?;
            migrations
                .migrate_up()
                .await
                .context("cannot apply database migrations")?;
            migrations
                .close()
                .await
                .context("cannot close the migration connection")?;
        }
        let database = connect(&settings).await?;
        let listener = TcpListener::bind(settings.server.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.server.bind))?;
        let metrics_listener = match settings.metrics.bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (metrics.bind)"))?,
            ),
            None => None,
        };
        let stop = tokio_util::sync::CancellationToken::new();
        // PostgreSQL: LISTEN/NOTIFY across instances; SQLite: in-process.
        let bus = SignalBus::for_database(&database, stop.clone());
        let signals = faults.apply(bus.subscribe(), stop.clone());
        let (state, dispatcher) = build_state(settings, database, &bus)?;
        tokio::spawn(dispatcher.run(signals, stop.clone()));
        tokio::spawn(RealtimeTasks::prune_sync_log(
            state.sync.clone(),
            Arc::new(SystemClock),
            time::Duration::days(i64::from(state.settings.sync.retention_days)),
            state.settings.sync.prune_batch,
            Duration::from_secs(state.settings.sync.prune_every_secs),
            stop.clone(),
        ));
        tokio::spawn(RealtimeTasks::collect_uploads(
            state.uploads.clone(),
            time::Duration::seconds(
                i64::try_from(state.settings.uploads.unattached_ttl_secs).unwrap_or(i64::MAX),
            ),
            state.settings.uploads.gc_batch,
            Duration::from_secs(state.settings.uploads.gc_every_secs),
            stop.clone(),
        ));
        tokio::spawn(RealtimeTasks::watch_api_keys(
            Arc::clone(&state.realtime.registry),
            state.api_keys.clone(),
            Duration::from_secs(1),
            stop.clone(),
        ));
        metrics::handle();
        if let Some(listener) = metrics_listener {
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "serving metrics on http://{addr}/metrics");
            let metrics_router = Router::new()
                .route("/metrics", axum::routing::get(metrics::render))
                .with_state(state.clone());
            let metrics_stop = stop.clone();
            tokio::spawn(async move {
                let serve = axum::serve(listener, metrics_router)
                    .with_graceful_shutdown(async move { metrics_stop.cancelled().await });
                if let Err(error) = serve.await {
                    tracing::error!(%error, "the metrics listener failed");
                }
            });
        }
        let sweeper = state.clone();
        let sweep_stop = stop.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    () = sweep_stop.cancelled() => return,
                    _ = every.tick() => sweeper.rate_limits.sweep(),
                }
            }
        });
        Ok(Self {
            router: router(state.clone()),
            listener,
            state,
            stop,
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, finishes
    /// in-flight requests, closes WebSockets with 1001 (waiting up to
    /// `server.shutdown_timeout_secs`), and closes the database pool.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(
            %addr,
            backend = ?self.state.database.backend(),
            "serving on http://{addr} (docs at http://{addr}/docs)"
        );
        let realtime_shutdown = self.state.realtime.shutdown.clone();
        let signal = async move {
            shutdown.await;
            // WebSockets are not HTTP requests in flight: tell them now.
            realtime_shutdown.cancel();
        };
        // TCP_NODELAY: WebSocket events and responses are small writes;
        // with Nagle's algorithm a write behind an unacknowledged one
        // waited for the peer's delayed ACK (up to 40 ms), which was most
        // of the fan-out latency (BENCHMARKS.md).
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        // Outside the router, so the trimmed path is the one routed.
        let service = tower::Layer::layer(
            &tower::util::MapRequestLayer::new(trim_trailing_slash),
            self.router,
        );
        axum::serve(
            listener,
            axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                SocketAddr,
            >(service),
        )
        .with_graceful_shutdown(signal)
        .await
        .context("server error")?;
        let connections = &self.state.realtime.connections;
        connections.close();
        let grace = Duration::from_secs(self.state.settings.server.request_timeout_secs);
        if tokio::time::timeout(grace, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSockets did not close in time");
        }
        self.stop.cancel();
        tracing::info!("stopped: in-flight requests finished, WebSockets closed");
        Ok(())
    }
}

/// Every route answers the same with or without a trailing slash
/// (`/api/v1/chats/` is `/api/v1/chats`). Swagger UI's pages are left
/// alone: they live under `/docs/`.
fn trim_trailing_slash(mut request: axum::extract::Request) -> axum::extract::Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rewritten = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(path_and_query) = rewritten.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = Some(path_and_query);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    request
}

/// The configured blob store: local files, or an S3-compatible bucket
/// (checked once in the background at start: a service that does not
/// answer yet is logged, not fatal — uploads fail until it does).
fn blob_store(
    storage: &crate::config::StorageSettings,
) -> anyhow::Result<Arc<dyn missive_domain::ports::BlobStore>> {
    if storage.backend == "s3" {
        let s3 = &storage.s3;
        let store = S3BlobStore::new(S3Config {
            bucket: s3.bucket.clone(),
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.expose_secret().to_owned(),
            allow_http: s3.allow_http,
            prefix: s3.prefix.clone(),
        })
        .map_err(|e| anyhow::anyhow!("storage.s3 cannot be used: {e}"))?;
        let store = Arc::new(store);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (probe, bucket) = (Arc::clone(&store), s3.bucket.clone());
            runtime.spawn(async move {
                match probe.check().await {
                    Ok(()) => tracing::info!(%bucket, "S3 storage answers"),
                    Err(error) => {
                        tracing::warn!(%error, %bucket, "the S3 bucket does not answer yet");
                    }
                }
            });
        }
        return Ok(store);
    }
    Ok(Arc::new(LocalBlobStore::new(&storage.dir).with_context(
        || format!("storage.dir {:?} cannot be used", storage.dir),
    )?))
}

#[cfg(test)]
mod tests {
    use super::{redact_url, trim_trailing_slash};

    #[test]
    fn trailing_slashes_are_trimmed_except_under_docs() {
        let path = |uri: &str| {
            let request = axum::extract::Request::builder()
                .uri(uri)
                .body(axum::body::Body::empty())
                .expect("request");
            trim_trailing_slash(request).uri().to_string()
        };
        assert_eq!(path("/api/v1/chats/"), "/api/v1/chats");
        assert_eq!(path("/api/v1/chats//?limit=2"), "/api/v1/chats?limit=2");
        assert_eq!(path("/api/v1/chats"), "/api/v1/chats");
        assert_eq!(path("/"), "/");
        assert_eq!(path("/docs/"), "/docs/");
    }

    #[test]
    fn database_passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://missive:s3cret@db:5432/missive"),
            "postgres://missive:***@db:5432/missive"
        );
        assert_eq!(
            redact_url("sqlite://missive.db?mode=rwc"),
            "sqlite://missive.db?mode=rwc"
        );
    }
}
