//! Token-bucket rate limits per class (`auth`, `write`, `read`, `typing`),
//! keyed by the authenticated user where there is one, else by client IP.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use missive_domain::ports::ApiKeyMinter;
use missive_infra::Sha256KeyMinter;

use crate::config::{BucketSettings, RateLimitSettings};
use crate::error::ApiError;
use crate::state::AppState;

type Limiter =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Register and login.
    Auth,
    /// Changes.
    Write,
    /// Reads.
    Read,
    /// WebSocket typing notices.
    Typing,
}

struct Bucket {
    limiter: Limiter,
    burst: u32,
}

impl Bucket {
    fn new(settings: BucketSettings) -> Self {
        let period = Duration::from_secs(u64::from(settings.per_secs)) / settings.requests.max(1);
        let burst = NonZeroU32::new(settings.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            burst: settings.burst,
        }
    }
}

/// The outcome of drawing a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allowed {
        /// Bucket size.
        limit: u32,
        /// Tokens left.
        remaining: u32,
    },
    /// Over the limit.
    Limited {
        /// Bucket size.
        limit: u32,
        /// Seconds until a token is available (at least 1).
        retry_after_secs: u64,
    },
}

/// All buckets and the trusted-proxy list.
pub struct RateLimits {
    enabled: bool,
    trusted_proxies: Vec<IpNet>,
    auth: Bucket,
    write: Bucket,
    read: Bucket,
    typing: Bucket,
    clock: DefaultClock,
}

/// Parses `10.0.0.0/8` or a bare address.
pub fn parse_network(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

impl RateLimits {
    /// Buckets from the configuration.
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            enabled: settings.enabled,
            trusted_proxies: settings
                .trusted_proxies
                .iter()
                .filter_map(|p| parse_network(p))
                .collect(),
            auth: Bucket::new(settings.auth),
            write: Bucket::new(settings.write),
            read: Bucket::new(settings.read),
            typing: Bucket::new(settings.typing),
            clock: DefaultClock::default(),
        }
    }

    /// Whether limits apply at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Draws one token of `class` for `key`.
    pub fn check(&self, class: Class, key: &str) -> Decision {
        let bucket = match class {
            Class::Auth => &self.auth,
            Class::Write => &self.write,
            Class::Read => &self.read,
            Class::Typing => &self.typing,
        };
        if !self.enabled {
            return Decision::Allowed {
                limit: bucket.burst,
                remaining: bucket.burst,
            };
        }
        match bucket.limiter.check_key(&key.to_owned()) {
            Ok(snapshot) => Decision::Allowed {
                limit: bucket.burst,
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Decision::Limited {
                limit: bucket.burst,
                retry_after_secs: not_until.wait_time_from(self.clock.now()).as_secs() + 1,
            },
        }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy,
    /// in which case the nearest untrusted address of `X-Forwarded-For`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.is_trusted(*ip))
            .unwrap_or(peer)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// Forgets idle buckets; call periodically.
    pub fn sweep(&self) {
        for bucket in [&self.auth, &self.write, &self.read, &self.typing] {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
    }
}

/// The bucket key of a request: its authenticated user when the
/// credentials check out cheaply (a valid JWT; an API key's digest), else
/// the client IP.
fn key_of(app: &AppState, headers: &HeaderMap, query: Option<&str>, ip: IpAddr) -> String {
    if let Some(token) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' ').map(|(_, t)| t.trim()))
        .or_else(|| query_param(query, "access_token"))
        && let Ok(user) = app.jwt.verify(token)
    {
        return format!("user:{user}");
    }
    if let Some(key) = headers
        .get(crate::auth::API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .or_else(|| query_param(query, "api_key"))
        && key.len() <= 256
    {
        return format!("key:{}", Sha256KeyMinter.digest(key.trim()).as_str());
    }
    format!("ip:{ip}")
}

fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn class_of(method: &Method, route: &str) -> Option<Class> {
    if !route.starts_with("/api/v1/") {
        return None;
    }
    if route.starts_with("/api/v1/auth/") {
        return Some(Class::Auth);
    }
    Some(if method == Method::GET || method == Method::HEAD {
        Class::Read
    } else {
        Class::Write
    })
}

/// Middleware: draws a token for API routes and answers 429 when the bucket
/// is empty. Limited routes carry `RateLimit-Limit` and
/// `RateLimit-Remaining`; a 429 also `Retry-After`.
pub async fn limit(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let limits = &app.rate_limits;
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let Some(class) = route.as_deref().and_then(|r| class_of(request.method(), r)) else {
        return next.run(request).await;
    };
    if !limits.enabled() {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let ip = limits.client_ip(peer, request.headers());
    let key = if class == Class::Auth {
        format!("ip:{ip}")
    } else {
        key_of(&app, request.headers(), request.uri().query(), ip)
    };
    match limits.check(class, &key) {
        Decision::Allowed { limit, remaining } => {
            let mut response = next.run(request).await;
            set_headers(response.headers_mut(), limit, remaining);
            response
        }
        Decision::Limited {
            limit,
            retry_after_secs,
        } => {
            let mut response = ApiError::rate_limited(retry_after_secs).into_response();
            set_headers(response.headers_mut(), limit, 0);
            response
        }
    }
}

fn set_headers(headers: &mut HeaderMap, limit: u32, remaining: u32) {
    headers.insert("ratelimit-limit", HeaderValue::from(limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(remaining));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(burst: u32) -> RateLimitSettings {
        RateLimitSettings {
            write: BucketSettings {
                requests: 1,
                per_secs: 60,
                burst,
            },
            trusted_proxies: vec!["10.0.0.0/8".into()],
            ..RateLimitSettings::default()
        }
    }

    #[test]
    fn a_bucket_allows_its_burst_then_limits_that_key_only() {
        let limits = RateLimits::new(&settings(2));
        assert_eq!(
            limits.check(Class::Write, "a"),
            Decision::Allowed {
                limit: 2,
                remaining: 1
            }
        );
        assert_eq!(
            limits.check(Class::Write, "a"),
            Decision::Allowed {
                limit: 2,
                remaining: 0
            }
        );
        assert!(matches!(
            limits.check(Class::Write, "a"),
            Decision::Limited { limit: 2, retry_after_secs } if (1..=61).contains(&retry_after_secs)
        ));
        assert!(matches!(
            limits.check(Class::Write, "b"),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn disabled_limits_allow_everything() {
        let limits = RateLimits::new(&RateLimitSettings {
            enabled: false,
            ..settings(1)
        });
        for _ in 0..10 {
            assert!(matches!(
                limits.check(Class::Write, "a"),
                Decision::Allowed { .. }
            ));
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let limits = RateLimits::new(&settings(1));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9, 10.1.2.3"),
        );
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let stranger: IpAddr = "198.51.100.7".parse().expect("ip");
        assert_eq!(
            limits.client_ip(proxy, &headers),
            "203.0.113.9".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(limits.client_ip(stranger, &headers), stranger);
        assert_eq!(
            RateLimits::new(&RateLimitSettings::default()).client_ip(proxy, &headers),
            proxy
        );
    }

    #[test]
    fn routes_are_classified_by_prefix_and_method() {
        assert_eq!(
            class_of(&Method::POST, "/api/v1/auth/login"),
            Some(Class::Auth)
        );
        assert_eq!(
            class_of(&Method::POST, "/api/v1/chats/{id}/messages"),
            Some(Class::Write)
        );
        assert_eq!(
            class_of(&Method::DELETE, "/api/v1/messages/{id}"),
            Some(Class::Write)
        );
        assert_eq!(class_of(&Method::GET, "/api/v1/chats"), Some(Class::Read));
        assert_eq!(class_of(&Method::GET, "/health/ready"), None);
        assert_eq!(class_of(&Method::GET, "/metrics"), None);
    }
}
