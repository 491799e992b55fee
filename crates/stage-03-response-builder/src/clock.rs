//! Where the time in the `Date` header comes from.
//!
//! A server must send `Date` (RFC 9110, section 6.6.1), which makes its
//! bytes differ from second to second. Passing the clock in lets the tests
//! pin every byte with a fixed time while the server uses the real one.

use std::time::{Duration, SystemTime};

// ANCHOR: clock
/// A source of the current time.
pub trait Clock {
    /// The time to put in the next `Date` header.
    fn now(&self) -> SystemTime;
}

/// The system's real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
// ANCHOR_END: clock

/// A clock stopped at one instant, for tests and snapshots.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl FixedClock {
    /// The clock the book's snapshots use: Sun, 06 Nov 1994 08:49:37 GMT,
    /// the example date of the HTTP RFCs.
    pub fn rfc_example() -> FixedClock {
        FixedClock(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777))
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// A shared clock is a clock, so a server can choose one at run time.
impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}
