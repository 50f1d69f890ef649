//! Layered configuration: built-in defaults → `missive.toml` (or
//! `--config PATH`) → `MISSIVE__SECTION__KEY` environment variables, plus the
//! conventional `DATABASE_URL` and `PORT`.

use std::net::SocketAddr;
use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;

/// All settings. Every field has a default, so an empty environment works.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP listener.
    pub server: ServerSettings,
    /// Storage.
    pub database: DatabaseSettings,
    /// Tokens.
    pub auth: AuthSettings,
    /// Domain limits.
    pub limits: LimitSettings,
    /// WebSocket delivery.
    pub realtime: RealtimeSettings,
    /// Request rate limits.
    pub rate_limit: RateLimitSettings,
    /// Logging.
    pub log: LogSettings,
    /// The Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// The change log behind `GET /sync`.
    pub sync: SyncSettings,
    /// Uploads (attachments).
    pub uploads: UploadSettings,
    /// Where uploaded files live.
    pub storage: StorageSettings,
}

/// `[uploads]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// Largest upload in bytes (413 above, refused while streaming).
    pub max_bytes: u64,
    /// Most bytes one user's uploads may hold together (413
    /// `quota_exceeded` above).
    pub quota_bytes: u64,
    /// Accepted types, detected from the bytes: exact (`application/pdf`)
    /// or a family (`image/*`); anything else is 415.
    pub allowed_types: Vec<String>,
    /// Seconds an upload no message attaches is kept (never attached, or
    /// every attaching message deleted).
    pub unattached_ttl_secs: u64,
    /// Seconds between runs of the collection (expired uploads, then
    /// unreferenced blobs, then what crashes left).
    pub gc_every_secs: u64,
    /// Most items of each kind one run removes.
    pub gc_batch: u32,
    /// Most uploads one user streams at once (429 past it).
    pub max_in_flight_per_user: usize,
    /// Most uploads streaming at once on this instance (429 past it).
    pub max_in_flight: usize,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            max_bytes: 25 * 1024 * 1024,
            quota_bytes: 1024 * 1024 * 1024,
            allowed_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "image/avif",
                "application/pdf",
                "text/plain",
                "audio/*",
                "video/mp4",
                "video/webm",
                "application/zip",
            ]
            .map(str::to_owned)
            .to_vec(),
            unattached_ttl_secs: 24 * 3600,
            gc_every_secs: 300,
            gc_batch: 500,
            max_in_flight_per_user: 4,
            max_in_flight: 64,
        }
    }
}

/// `[storage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    /// `local` (files under `dir`) or `s3` (an S3-compatible bucket,
    /// `[storage.s3]`).
    pub backend: String,
    /// The directory of the local backend (created when missing).
    pub dir: String,
    /// The S3-compatible backend.
    pub s3: S3StorageSettings,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: "local".to_owned(),
            dir: "missive-data".to_owned(),
            s3: S3StorageSettings::default(),
        }
    }
}

/// `[storage.s3]`: any S3-compatible service (AWS S3, MinIO, Ceph, R2, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3StorageSettings {
    /// The bucket (must exist).
    pub bucket: String,
    /// The service's URL for anything but AWS (path-style requests), e.g.
    /// `http://minio:9000`; unset for AWS.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` for most non-AWS services).
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretString,
    /// Allow a plain-HTTP `endpoint` (a service on the same private
    /// network).
    pub allow_http: bool,
    /// A key prefix, to share a bucket (e.g. `missive/prod`).
    pub prefix: Option<String>,
}

impl Default for S3StorageSettings {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            endpoint: None,
            region: "us-east-1".to_owned(),
            access_key_id: String::new(),
            secret_access_key: SecretString::from(""),
            allow_http: false,
            prefix: None,
        }
    }
}

/// `[sync]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// Days a change is kept; a token older than that is answered 410
    /// `sync_expired`.
    pub retention_days: u32,
    /// Seconds between runs of the pruning job.
    pub prune_every_secs: u64,
    /// Changes deleted per short transaction by the pruning job.
    pub prune_batch: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            retention_days: 30,
            prune_every_secs: 60,
            prune_batch: 5000,
        }
    }
}

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, `/metrics` is served on this address only (say a port the
    /// load balancer does not expose), not on `server.bind`.
    pub bind: Option<SocketAddr>,
}

/// `[realtime]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeSettings {
    /// Seconds between server pings; a connection silent for two intervals
    /// is dropped.
    pub ping_interval_secs: u64,
    /// Events queued per connection before it is closed with 4008.
    pub outbound_queue: usize,
    /// Longest a single write may block before the connection is dropped.
    pub write_timeout_secs: u64,
    /// Largest accepted frame; larger ones close the connection with 1009.
    pub max_frame_bytes: usize,
    /// Most open WebSockets per user on one instance; more are refused
    /// with 429 at the upgrade.
    pub max_connections_per_user: usize,
    /// Frames a connection may send per second, on average…
    pub inbound_frames_per_sec: u32,
    /// …and at once. Frames beyond get an `error`; a client that keeps
    /// sending this many more while refused is closed with 1008.
    pub inbound_burst: u32,
}

impl Default for RealtimeSettings {
    fn default() -> Self {
        Self {
            ping_interval_secs: 30,
            outbound_queue: 2048,
            write_timeout_secs: 10,
            max_frame_bytes: 64 * 1024,
            max_connections_per_user: 16,
            inbound_frames_per_sec: 20,
            inbound_burst: 60,
        }
    }
}

/// `[rate_limit]`: token buckets per class.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Master switch.
    pub enabled: bool,
    /// Peers (IPs or CIDR ranges) whose `X-Forwarded-For` is believed;
    /// nobody's by default.
    pub trusted_proxies: Vec<String>,
    /// Register and login, per client IP.
    pub auth: BucketSettings,
    /// Sends, edits, deletions and other changes, per user (else IP).
    pub write: BucketSettings,
    /// Reads, per user (else IP).
    pub read: BucketSettings,
    /// WebSocket `typing`, per user and chat.
    pub typing: BucketSettings,
    /// Creating chats (`POST /chats`), per user: stricter than `write`.
    pub chat_create: BucketSettings,
}

/// One token bucket: `requests` every `per_secs` seconds on average, up to
/// `burst` at once.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSettings {
    /// Tokens added per period.
    pub requests: u32,
    /// The period, in seconds.
    pub per_secs: u32,
    /// Bucket size.
    pub burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            trusted_proxies: Vec::new(),
            auth: BucketSettings {
                requests: 10,
                per_secs: 60,
                burst: 10,
            },
            write: BucketSettings {
                requests: 20,
                per_secs: 1,
                burst: 50,
            },
            read: BucketSettings {
                requests: 50,
                per_secs: 1,
                burst: 100,
            },
            typing: BucketSettings {
                requests: 1,
                per_secs: 1,
                burst: 1,
            },
            chat_create: BucketSettings {
                requests: 60,
                per_secs: 60,
                burst: 20,
            },
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Longest a request may take before it is answered 503.
    pub request_timeout_secs: u64,
    /// Largest accepted request body (413 above).
    pub max_body_bytes: usize,
    /// Largest body of `POST /chats/{chat_id}/messages/batch` (413 above).
    pub max_batch_bytes: usize,
    /// Origins allowed to call the API from browsers (CORS); none by default.
    pub cors_origins: Vec<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            request_timeout_secs: 30,
            max_body_bytes: 64 * 1024,
            max_batch_bytes: 8 * 1024 * 1024,
            cors_origins: Vec::new(),
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…`. A secret: it may carry a password,
    /// so it never prints (`Debug` shows `[REDACTED]`; logs show it through
    /// [`crate::app::redact_url`]).
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// Seconds a request waits for a pooled connection before 503.
    pub acquire_timeout_secs: u64,
    /// Apply pending migrations when `serve` starts.
    pub auto_migrate: bool,
    /// PostgreSQL: longest a statement may run before the server cancels
    /// it (the request answers 503). Migrations are exempt.
    pub statement_timeout_secs: u64,
    /// Group commit of sends: how long (µs) the oldest waiting send may
    /// wait for its group to fill while another group is being written;
    /// 0 turns group commit off (one transaction per send). Only SQLite
    /// groups sends for now, one group at a time.
    pub group_commit_wait_us: u64,
    /// The most sends in one group (1..=1000).
    pub group_commit_max_batch: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("sqlite://missive.db?mode=rwc"),
            max_connections: 16,
            acquire_timeout_secs: 3,
            auto_migrate: true,
            statement_timeout_secs: 10,
            group_commit_wait_us: 1_000,
            group_commit_max_batch: 32,
        }
    }
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 signing secret (at least 32 bytes). When absent a random one is
    /// generated at start, and tokens die with the process.
    pub jwt_secret: Option<SecretString>,
    /// Lifetime of access tokens.
    pub access_token_ttl_secs: u64,
    /// Passwords hashed at once (each argon2id hash takes 19 MiB); 0 means
    /// one per CPU core.
    pub hash_concurrency: usize,
    /// Longest a login or registration waits for a hashing slot before it
    /// is answered 503 with `Retry-After`.
    pub hash_wait_secs: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl_secs: 3600,
            hash_concurrency: 0,
            hash_wait_secs: 3,
        }
    }
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Most members of a group chat.
    pub max_group_members: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_message_chars: 4000,
            max_group_members: 1000,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, coloured when on a terminal.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` or `json`.
    pub format: LogFormat,
    /// Default filter; `RUST_LOG` overrides it.
    pub level: String,
    /// When set, also write daily-rotated log files here.
    pub dir: Option<String>,
    /// Daily files kept in `dir`; older ones are deleted.
    pub max_files: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
            dir: None,
            max_files: 14,
        }
    }
}

/// Longest access-token lifetime accepted: a year. Longer-lived access
/// is what API keys are for (and they can be revoked).
const MAX_TOKEN_TTL_SECS: u64 = 365 * 24 * 3600;

/// A configuration problem, reported as one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

/// Where the environment comes from; a seam for tests.
pub type EnvVars = Vec<(String, String)>;

impl Settings {
    /// Loads settings from the process environment and `config_file`
    /// (default: `missive.toml` if it exists).
    ///
    /// # Errors
    /// [`ConfigError`] naming the offending key.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(config_file, std::env::vars().collect())
    }

    /// Like [`Settings::load`] with an explicit environment.
    ///
    /// # Errors
    /// [`ConfigError`] naming the offending key.
    pub fn load_from(config_file: Option<&Path>, env: EnvVars) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        // Buckets have per-class defaults, so a single key (say
        // MISSIVE__RATE_LIMIT__WRITE__BURST) can be overridden alone.
        let defaults = RateLimitSettings::default();
        for (class, bucket) in [
            ("auth", defaults.auth),
            ("write", defaults.write),
            ("read", defaults.read),
            ("typing", defaults.typing),
            ("chat_create", defaults.chat_create),
        ] {
            for (field, value) in [
                ("requests", bucket.requests),
                ("per_secs", bucket.per_secs),
                ("burst", bucket.burst),
            ] {
                builder = builder
                    .set_default(format!("rate_limit.{class}.{field}"), value)
                    .map_err(|e| ConfigError(e.to_string()))?;
            }
        }
        builder = match config_file {
            Some(path) => builder.add_source(config::File::from(path).required(true)),
            None => builder.add_source(config::File::with_name("missive").required(false)),
        };
        let missive_env: std::collections::HashMap<String, String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("MISSIVE__"))
            .cloned()
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("MISSIVE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("rate_limit.trusted_proxies")
                .with_list_parse_key("server.cors_origins")
                .with_list_parse_key("uploads.allowed_types")
                .source(Some(missive_env)),
        );
        let lookup = |key: &str| {
            env.iter()
                .find(|(k, v)| k == key && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        if lookup("MISSIVE__DATABASE__URL").is_none()
            && let Some(url) = lookup("DATABASE_URL")
        {
            builder = builder
                .set_override("database.url", url)
                .map_err(|e| ConfigError(e.to_string()))?;
        }
        let mut settings: Settings = builder
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| ConfigError(e.to_string()))?;
        if let Some(port) = lookup("PORT") {
            let port: u16 = port
                .parse()
                .map_err(|_| ConfigError(format!("PORT must be a port number, got {port:?}")))?;
            settings.server.bind.set_port(port);
        }
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        let fail = |key: &str, why: &str| Err(ConfigError(format!("{key} {why}")));
        let url = self.database.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return fail(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        if self.database.max_connections == 0 {
            return fail("database.max_connections", "must be at least 1");
        }
        if self.database.acquire_timeout_secs == 0 {
            return fail("database.acquire_timeout_secs", "must be at least 1");
        }
        if self.server.request_timeout_secs == 0 {
            return fail("server.request_timeout_secs", "must be at least 1");
        }
        if self.server.max_body_bytes < 1024 {
            return fail("server.max_body_bytes", "must be at least 1024");
        }
        if self.server.max_batch_bytes < self.server.max_body_bytes {
            return fail(
                "server.max_batch_bytes",
                "must be at least server.max_body_bytes",
            );
        }
        if self.auth.access_token_ttl_secs == 0
            || self.auth.access_token_ttl_secs > MAX_TOKEN_TTL_SECS
        {
            return fail(
                "auth.access_token_ttl_secs",
                "must be between 1 and 31536000 (a year)",
            );
        }
        if self.database.statement_timeout_secs == 0 {
            return fail("database.statement_timeout_secs", "must be at least 1");
        }
        if !(1..=1000).contains(&self.database.group_commit_max_batch) {
            return fail(
                "database.group_commit_max_batch",
                "must be between 1 and 1000",
            );
        }
        if let Some(secret) = &self.auth.jwt_secret {
            let secret = secret.expose_secret();
            if secret.len() < 32 {
                return fail("auth.jwt_secret", "must be at least 32 bytes long");
            }
            if crate::secrets::is_published(secret) {
                return fail(
                    "auth.jwt_secret",
                    "is an example published with Missive, so anyone could sign tokens with it: \
                     generate one, e.g. `openssl rand -base64 48`",
                );
            }
        }
        if self.auth.hash_wait_secs == 0 {
            return fail("auth.hash_wait_secs", "must be at least 1");
        }
        if self.limits.max_message_chars == 0 {
            return fail("limits.max_message_chars", "must be at least 1");
        }
        if self.limits.max_group_members < 2 {
            return fail("limits.max_group_members", "must be at least 2");
        }
        if self.sync.retention_days == 0 {
            return fail("sync.retention_days", "must be at least 1");
        }
        if self.sync.prune_every_secs == 0 || self.sync.prune_batch == 0 {
            return fail(
                "sync.prune_every_secs and sync.prune_batch",
                "must be at least 1",
            );
        }
        let realtime = &self.realtime;
        if realtime.ping_interval_secs == 0 {
            return fail("realtime.ping_interval_secs", "must be at least 1");
        }
        if realtime.outbound_queue == 0 {
            return fail("realtime.outbound_queue", "must be at least 1");
        }
        if realtime.write_timeout_secs == 0 {
            return fail("realtime.write_timeout_secs", "must be at least 1");
        }
        if realtime.max_frame_bytes < 1024 {
            return fail("realtime.max_frame_bytes", "must be at least 1024");
        }
        if realtime.max_connections_per_user == 0 {
            return fail("realtime.max_connections_per_user", "must be at least 1");
        }
        if realtime.inbound_frames_per_sec == 0 || realtime.inbound_burst == 0 {
            return fail(
                "realtime.inbound_frames_per_sec",
                "and realtime.inbound_burst must be at least 1",
            );
        }
        let limits = &self.rate_limit;
        for (name, bucket) in [
            ("rate_limit.auth", limits.auth),
            ("rate_limit.write", limits.write),
            ("rate_limit.read", limits.read),
            ("rate_limit.typing", limits.typing),
            ("rate_limit.chat_create", limits.chat_create),
        ] {
            if bucket.requests == 0 || bucket.per_secs == 0 || bucket.burst == 0 {
                return fail(name, "needs requests, per_secs and burst of at least 1");
            }
        }
        for proxy in &limits.trusted_proxies {
            if crate::rate_limit::parse_network(proxy).is_none() {
                return Err(ConfigError(format!(
                    "rate_limit.trusted_proxies: {proxy:?} is not an IP address or CIDR range"
                )));
            }
        }
        for origin in &self.server.cors_origins {
            if axum::http::HeaderValue::from_str(origin).is_err() || !origin.contains("://") {
                return Err(ConfigError(format!(
                    "server.cors_origins: {origin:?} is not an origin like https://app.example.org"
                )));
            }
        }
        if self.log.level.trim().is_empty() {
            return fail("log.level", "must not be empty");
        }
        if self.log.max_files == 0 {
            return fail("log.max_files", "must be at least 1");
        }
        if self.uploads.max_bytes == 0 || self.uploads.quota_bytes < self.uploads.max_bytes {
            return fail(
                "uploads.max_bytes and uploads.quota_bytes",
                "must be at least 1, and the quota at least max_bytes",
            );
        }
        if self.uploads.gc_every_secs == 0 || self.uploads.gc_batch == 0 {
            return fail(
                "uploads.gc_every_secs and uploads.gc_batch",
                "must be at least 1",
            );
        }
        for pattern in &self.uploads.allowed_types {
            let essence = pattern
                .strip_suffix("/*")
                .map_or(pattern.clone(), |f| format!("{f}/x"));
            if missive_domain::upload::ContentType::new(&essence).is_err() && pattern != "*/*" {
                return Err(ConfigError(format!(
                    "uploads.allowed_types: {pattern:?} is not a media type like image/png or image/*"
                )));
            }
        }
        match self.storage.backend.as_str() {
            "local" => {}
            "s3" => {
                use secrecy::ExposeSecret;
                let s3 = &self.storage.s3;
                if s3.bucket.trim().is_empty() {
                    return fail("storage.s3.bucket", "must be set for the s3 backend");
                }
                if s3.access_key_id.is_empty() || s3.secret_access_key.expose_secret().is_empty() {
                    return fail(
                        "storage.s3.access_key_id",
                        "and storage.s3.secret_access_key must be set for the s3 backend",
                    );
                }
            }
            _ => return fail("storage.backend", "must be \"local\" or \"s3\""),
        }
        if self.storage.dir.trim().is_empty() {
            return fail("storage.dir", "must not be empty");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_match_the_specification() {
        let settings = Settings::load_from(None, env(&[])).expect("defaults are valid");
        assert_eq!(settings.server.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(settings.server.request_timeout_secs, 30);
        assert_eq!(settings.server.max_body_bytes, 65536);
        assert_eq!(
            settings.database.url.expose_secret(),
            "sqlite://missive.db?mode=rwc"
        );
        assert_eq!(settings.database.statement_timeout_secs, 10);
        assert_eq!(settings.realtime.max_connections_per_user, 16);
        assert_eq!(settings.log.max_files, 14);
        assert!(settings.metrics.bind.is_none());
        assert_eq!(settings.database.max_connections, 16);
        assert!(settings.database.auto_migrate);
        assert_eq!(settings.database.group_commit_wait_us, 1000);
        assert_eq!(settings.database.group_commit_max_batch, 32);
        assert!(settings.auth.jwt_secret.is_none());
        assert_eq!(settings.auth.access_token_ttl_secs, 3600);
        assert_eq!(settings.limits.max_message_chars, 4000);
        assert_eq!(settings.limits.max_group_members, 1000);
        assert_eq!(settings.log.format, LogFormat::Pretty);
        assert_eq!(settings.log.level, "info");
    }

    #[test]
    fn s3_storage_is_configured_by_environment_and_needs_a_bucket_and_keys() {
        let s3 = [
            ("MISSIVE__STORAGE__BACKEND", "s3"),
            ("MISSIVE__STORAGE__S3__BUCKET", "files"),
            ("MISSIVE__STORAGE__S3__ENDPOINT", "http://minio:9000"),
            ("MISSIVE__STORAGE__S3__ACCESS_KEY_ID", "id"),
            ("MISSIVE__STORAGE__S3__SECRET_ACCESS_KEY", "secret"),
            ("MISSIVE__STORAGE__S3__ALLOW_HTTP", "true"),
        ];
        let settings = Settings::load_from(None, env(&s3)).expect("valid");
        assert_eq!(settings.storage.s3.bucket, "files");
        assert_eq!(
            settings.storage.s3.endpoint.as_deref(),
            Some("http://minio:9000")
        );
        assert!(settings.storage.s3.allow_http);
        assert!(!format!("{settings:?}").contains("secret\""));
        assert!(Settings::load_from(None, env(&s3[..1])).is_err());
        assert!(Settings::load_from(None, env(&s3[..3])).is_err());
        assert!(Settings::load_from(None, env(&[("MISSIVE__STORAGE__BACKEND", "gcs")])).is_err());
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("MISSIVE__SERVER__BIND", "0.0.0.0:9000"),
                ("MISSIVE__DATABASE__MAX_CONNECTIONS", "4"),
                ("MISSIVE__DATABASE__GROUP_COMMIT_WAIT_US", "0"),
                ("MISSIVE__LOG__FORMAT", "json"),
            ]),
        )
        .expect("valid");
        assert_eq!(settings.server.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(settings.database.max_connections, 4);
        assert_eq!(
            settings.database.group_commit_wait_us, 0,
            "group commit off"
        );
        assert_eq!(settings.log.format, LogFormat::Json);
    }

    #[test]
    fn list_settings_come_from_comma_separated_environment_variables() {
        let settings = Settings::load_from(
            None,
            env(&[
                (
                    "MISSIVE__RATE_LIMIT__TRUSTED_PROXIES",
                    "10.0.0.0/8,192.168.1.1",
                ),
                ("MISSIVE__SERVER__CORS_ORIGINS", "https://app.example.org"),
                ("MISSIVE__RATE_LIMIT__WRITE__BURST", "7"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            settings.rate_limit.trusted_proxies,
            ["10.0.0.0/8", "192.168.1.1"]
        );
        assert_eq!(settings.server.cors_origins, ["https://app.example.org"]);
        assert_eq!(settings.rate_limit.write.burst, 7);
    }

    #[test]
    fn plain_database_url_and_port_are_honoured() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://u:p@db/missive"),
                ("PORT", "8080"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            settings.database.url.expose_secret(),
            "postgres://u:p@db/missive"
        );
        assert_eq!(settings.server.bind.port(), 8080);
    }

    #[test]
    fn the_namespaced_database_url_wins_over_the_plain_one() {
        let settings = Settings::load_from(
            None,
            env(&[
                ("DATABASE_URL", "postgres://plain/db"),
                ("MISSIVE__DATABASE__URL", "postgres://namespaced/db"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            settings.database.url.expose_secret(),
            "postgres://namespaced/db"
        );
    }

    #[test]
    fn invalid_values_name_the_key() {
        for (key, value, needle) in [
            (
                "MISSIVE__SERVER__REQUEST_TIMEOUT_SECS",
                "soon",
                "request_timeout_secs",
            ),
            ("MISSIVE__DATABASE__URL", "mysql://x", "database.url"),
            ("MISSIVE__AUTH__JWT_SECRET", "short", "auth.jwt_secret"),
            (
                "MISSIVE__AUTH__ACCESS_TOKEN_TTL_SECS",
                "99999999999",
                "auth.access_token_ttl_secs",
            ),
            ("MISSIVE__SERVER__BIND", "nowhere", "bind"),
            (
                "MISSIVE__DATABASE__GROUP_COMMIT_MAX_BATCH",
                "0",
                "database.group_commit_max_batch",
            ),
            (
                "MISSIVE__DATABASE__GROUP_COMMIT_MAX_BATCH",
                "1001",
                "database.group_commit_max_batch",
            ),
            ("PORT", "eighty", "PORT"),
        ] {
            let error = Settings::load_from(None, env(&[(key, value)])).expect_err(key);
            let line = error.to_string();
            assert!(line.contains(needle), "{line:?} should name {needle}");
            assert!(!line.contains('\n'), "one line: {line:?}");
        }
    }

    #[test]
    fn a_config_file_is_layered_under_the_environment() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("custom.toml");
        std::fs::write(
            &file,
            "[server]\nbind = \"127.0.0.1:7000\"\n[limits]\nmax_message_chars = 10\n",
        )
        .expect("write");
        let settings = Settings::load_from(
            Some(&file),
            env(&[("MISSIVE__LIMITS__MAX_MESSAGE_CHARS", "20")]),
        )
        .expect("valid");
        assert_eq!(settings.server.bind.port(), 7000);
        assert_eq!(settings.limits.max_message_chars, 20);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("typo.toml");
        std::fs::write(&file, "[server]\nbnid = \"127.0.0.1:7000\"\n").expect("write");
        let error = Settings::load_from(Some(&file), env(&[])).expect_err("typo");
        assert!(error.to_string().contains("bnid"));
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn the_database_url_never_prints() {
        let settings = Settings::load_from(
            None,
            vec![(
                "DATABASE_URL".to_owned(),
                "postgres://missive:hunter2-password@db/missive".to_owned(),
            )],
        )
        .expect("valid");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn a_published_example_secret_is_refused() {
        for secret in crate::secrets::PUBLISHED {
            if secret.len() < 32 {
                continue;
            }
            let error = Settings::load_from(
                None,
                vec![("MISSIVE__AUTH__JWT_SECRET".to_owned(), (*secret).to_owned())],
            )
            .expect_err(secret);
            assert!(error.to_string().contains("auth.jwt_secret"), "{error}");
            assert!(
                !error.to_string().contains(secret),
                "the secret is not echoed"
            );
        }
    }
}
