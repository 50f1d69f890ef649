//! The real clock.

use missive_domain::ports::Clock;
use time::OffsetDateTime;

/// [`Clock`] backed by the system time, truncated to microseconds so a
/// value reads back from PostgreSQL exactly as it was written.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        let micros = now.microsecond();
        now.replace_microsecond(micros).unwrap_or(now)
    }
}
