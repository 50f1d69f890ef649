//! Token-bucket rate limits per class (`auth`, `write`, `read`, `typing`,
//! `chat_create`), keyed by the verified user where there is one, else by
//! client IP (SPEC §6.1). The middleware that applies them to HTTP
//! requests is [`crate::gate`]; the WebSocket gateway draws from the same
//! buckets for its commands.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use ipnet::IpNet;
use missive_domain::ids::{ChatId, UserId};

use crate::config::{BucketSettings, RateLimitSettings};
use crate::error::ApiError;

/// Whose bucket a token is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BucketKey {
    /// A verified user: all of their tokens and keys share it.
    User(UserId),
    /// A client address, before (or without) verified credentials.
    Ip(IpAddr),
    /// A user's typing notices in one chat.
    Typing(UserId, ChatId),
}

type Limiter = RateLimiter<
    BucketKey,
    DefaultKeyedStateStore<BucketKey>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Register and login, per IP.
    Auth,
    /// Changes.
    Write,
    /// Reads.
    Read,
    /// WebSocket typing notices, per user and chat.
    Typing,
    /// Creating chats.
    ChatCreate,
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

impl Decision {
    /// The 429 to answer, if limited.
    pub fn refusal(self) -> Option<ApiError> {
        match self {
            Self::Allowed { .. } => None,
            Self::Limited {
                retry_after_secs, ..
            } => Some(ApiError::rate_limited(retry_after_secs)),
        }
    }
}

/// All buckets and the trusted-proxy list.
pub struct RateLimits {
    enabled: bool,
    trusted_proxies: Vec<IpNet>,
    auth: Bucket,
    write: Bucket,
    read: Bucket,
    typing: Bucket,
    chat_create: Bucket,
    /// Addresses whose failed credentials emptied their bucket, until
    /// when: their API keys are not even looked up (a database query)
    /// until then, so a flood of made-up keys costs no more than the
    /// bucket allows.
    refused: Mutex<HashMap<IpAddr, Instant>>,
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
            chat_create: Bucket::new(settings.chat_create),
            refused: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    /// Whether limits apply at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn bucket(&self, class: Class) -> &Bucket {
        match class {
            Class::Auth => &self.auth,
            Class::Write => &self.write,
            Class::Read => &self.read,
            Class::Typing => &self.typing,
            Class::ChatCreate => &self.chat_create,
        }
    }

    /// Draws one token of `class` for `key`.
    pub fn check(&self, class: Class, key: BucketKey) -> Decision {
        let bucket = self.bucket(class);
        if !self.enabled {
            return Decision::Allowed {
                limit: bucket.burst,
                remaining: bucket.burst,
            };
        }
        match bucket.limiter.check_key(&key) {
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

    /// Remembers that `ip`'s failed credentials were refused for
    /// `retry_after_secs`.
    pub fn refuse_credentials_from(&self, ip: IpAddr, retry_after_secs: u64) {
        if !self.enabled {
            return;
        }
        let until = Instant::now() + Duration::from_secs(retry_after_secs);
        self.refused_map().insert(ip, until);
    }

    /// Seconds until `ip` may present credentials again, when it is
    /// refused.
    pub fn credentials_refused(&self, ip: IpAddr) -> Option<u64> {
        if !self.enabled {
            return None;
        }
        let now = Instant::now();
        let mut refused = self.refused_map();
        match refused.get(&ip) {
            Some(until) if *until > now => Some((*until - now).as_secs() + 1),
            Some(_) => {
                refused.remove(&ip);
                None
            }
            None => None,
        }
    }

    fn refused_map(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        // Every update is a single insert or remove: a panic elsewhere
        // cannot leave the map half-changed, so poison is ignored.
        self.refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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

    /// Forgets idle buckets and expired refusals; call periodically.
    pub fn sweep(&self) {
        for bucket in [
            &self.auth,
            &self.write,
            &self.read,
            &self.typing,
            &self.chat_create,
        ] {
            bucket.limiter.retain_recent();
            bucket.limiter.shrink_to_fit();
        }
        let now = Instant::now();
        let mut refused = self.refused_map();
        refused.retain(|_, until| *until > now);
        refused.shrink_to_fit();
    }
}

/// The class of an HTTP route, `None` for routes that are never limited
/// (probes, metrics, documentation).
pub fn class_of(method: &Method, route: &str) -> Option<Class> {
    if !route.starts_with("/api/v1/") {
        return None;
    }
    if route.starts_with("/api/v1/auth/") {
        return Some(Class::Auth);
    }
    if method == Method::POST && route.trim_end_matches('/') == "/api/v1/chats" {
        return Some(Class::ChatCreate);
    }
    Some(if method == Method::GET || method == Method::HEAD {
        Class::Read
    } else {
        Class::Write
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

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

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn a_bucket_allows_its_burst_then_limits_that_key_only() {
        let limits = RateLimits::new(&settings(2));
        let (a, b) = (
            BucketKey::User(UserId::new()),
            BucketKey::Ip(ip("192.0.2.1")),
        );
        assert_eq!(
            limits.check(Class::Write, a),
            Decision::Allowed {
                limit: 2,
                remaining: 1
            }
        );
        assert_eq!(
            limits.check(Class::Write, a),
            Decision::Allowed {
                limit: 2,
                remaining: 0
            }
        );
        assert!(matches!(
            limits.check(Class::Write, a),
            Decision::Limited { limit: 2, retry_after_secs } if (1..=61).contains(&retry_after_secs)
        ));
        assert!(matches!(
            limits.check(Class::Write, b),
            Decision::Allowed { .. }
        ));
    }

    #[test]
    fn refused_credentials_block_their_address_until_the_bucket_refills() {
        let limits = RateLimits::new(&settings(1));
        let (flooder, neighbour) = (ip("192.0.2.1"), ip("192.0.2.2"));
        assert_eq!(limits.credentials_refused(flooder), None);

        limits.refuse_credentials_from(flooder, 30);

        let wait = limits.credentials_refused(flooder).expect("refused");
        assert!((1..=31).contains(&wait), "{wait}");
        assert_eq!(limits.credentials_refused(neighbour), None);
        limits.refuse_credentials_from(neighbour, 0);
        std::thread::sleep(Duration::from_millis(5));
        limits.sweep();
        assert_eq!(limits.credentials_refused(neighbour), None, "expired");
        assert!(limits.credentials_refused(flooder).is_some(), "kept");
    }

    #[test]
    fn disabled_limits_allow_everything() {
        let limits = RateLimits::new(&RateLimitSettings {
            enabled: false,
            ..settings(1)
        });
        let a = BucketKey::Ip(ip("192.0.2.1"));
        for _ in 0..10 {
            assert!(matches!(
                limits.check(Class::Write, a),
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
            class_of(&Method::POST, "/api/v1/chats/{chat_id}/messages"),
            Some(Class::Write)
        );
        assert_eq!(
            class_of(&Method::DELETE, "/api/v1/messages/{message_id}"),
            Some(Class::Write)
        );
        assert_eq!(class_of(&Method::GET, "/api/v1/chats"), Some(Class::Read));
        assert_eq!(
            class_of(&Method::POST, "/api/v1/chats"),
            Some(Class::ChatCreate)
        );
        assert_eq!(
            class_of(&Method::POST, "/api/v1/chats/{chat_id}/members"),
            Some(Class::Write)
        );
        assert_eq!(class_of(&Method::GET, "/health/ready"), None);
        assert_eq!(class_of(&Method::GET, "/metrics"), None);
    }
}
