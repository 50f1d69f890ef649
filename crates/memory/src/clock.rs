//! The system clock.

use missive_domain::ports::Clock;
use time::OffsetDateTime;

/// [`Clock`] reading the system time, cut to whole microseconds like the
/// SQL adapters' clock (the precision both databases keep), so values
/// compare the same whichever adapters stored them.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_microsecond(now.microsecond()).unwrap_or(now)
    }
}
