//! Time as data: the core never reads a clock; drivers pass the current [`Instant`] in.

use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time, in microseconds since the driver's time origin (`performance.timeOrigin`
/// in the browser, the start of a simulation in tests). Monotonic: drivers never go back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The time origin.
    pub const ZERO: Self = Self(0);

    /// `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Self(micros)
    }

    /// `millis` (fractional) milliseconds after the origin, as `performance.now()` gives them;
    /// negative or non-finite values read as the origin.
    pub fn from_millis_f64(millis: f64) -> Self {
        Self(if millis.is_finite() && millis > 0.0 { (millis * 1000.0) as u64 } else { 0 })
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// `duration` before `self`, or the origin.
    pub fn saturating_sub(self, duration: Duration) -> Self {
        Self(self.0.saturating_sub(u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)))
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Self;

    fn add(self, rhs: Duration) -> Self {
        Self(self.0.saturating_add(u64::try_from(rhs.as_micros()).unwrap_or(u64::MAX)))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, rhs: Instant) -> Duration {
        self.since(rhs)
    }
}

/// Wall-clock time, for what peers on other machines compare (signaling time stamps): the Unix
/// time at the driver's time origin, so that `unix_secs(now)` needs no clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WallClock {
    /// Milliseconds since the Unix epoch at [`Instant::ZERO`].
    pub origin_unix_ms: u64,
}

impl WallClock {
    /// Whole seconds since the Unix epoch at `now`.
    pub fn unix_secs(self, now: Instant) -> u64 {
        (self.origin_unix_ms + now.as_micros() / 1000) / 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_add_and_subtract_without_overflow() {
        let t = Instant::from_millis_f64(1.5);
        assert_eq!(t.as_micros(), 1500);
        assert_eq!((t + Duration::from_millis(2)).as_micros(), 3500);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_micros(1500));
        assert_eq!(Instant::from_micros(u64::MAX) + Duration::from_secs(1), Instant::from_micros(u64::MAX));
        assert_eq!(Instant::from_millis_f64(f64::NAN), Instant::ZERO);
        assert_eq!(Instant::from_millis_f64(-3.0), Instant::ZERO);
    }

    #[test]
    fn wall_clock_counts_from_its_origin() {
        let clock = WallClock { origin_unix_ms: 1_700_000_000_500 };
        assert_eq!(clock.unix_secs(Instant::ZERO), 1_700_000_000);
        assert_eq!(clock.unix_secs(Instant::from_micros(600_000)), 1_700_000_001);
    }
}
