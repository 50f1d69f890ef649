//! The system clock.

use missive_domain::ports::Clock;
use time::OffsetDateTime;

use crate::state::micros;

/// [`Clock`] reading the system time, cut to whole microseconds like the
/// SQL adapters' clock (the precision both databases keep), so values
/// compare the same whichever adapters stored them.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        micros(OffsetDateTime::now_utc())
    }
}
