//! Injected time: the core never reads a clock.

use core::ops::{Add, Sub};
use std::time::Duration;

/// A monotonic point in time: the duration since an arbitrary epoch chosen by the runtime.
///
/// The core only compares and offsets instants; it never asks for "now".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Instant(Duration);

impl Instant {
    /// The epoch of the runtime's clock.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// An instant `since` after the epoch.
    pub const fn from_duration(since: Duration) -> Self {
        Instant(since)
    }

    /// An instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(Duration::from_millis(ms))
    }

    /// The time since the epoch.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// `self - earlier`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}
