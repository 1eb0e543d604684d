//! Monotonic time as the sans-IO core sees it: an opaque instant the shell passes in.
//!
//! The core never reads a clock (docs/ARCHITECTURE.md, "sans-IO"). `Instant` counts microseconds
//! from an origin chosen by whoever drives the core: the shell uses process start, tests
//! use zero. RFC 3261 §17 timers and RFC 7701 §6.1 chunk timers are computed with it.

pub use core::time::Duration;

/// A point on the driver's monotonic clock, in microseconds since its origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The driver's origin.
    pub const ZERO: Instant = Instant(0);

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_since() {
        let t = Instant::from_micros(1_000);
        let u = t + Duration::from_millis(2);
        assert_eq!(u.as_micros(), 3_000);
        assert_eq!(u.saturating_since(t), Duration::from_millis(2));
        assert_eq!(t.saturating_since(u), Duration::ZERO);
        assert!(u > t);
    }

    #[test]
    fn add_saturates() {
        let t = Instant::from_micros(u64::MAX - 1);
        assert_eq!((t + Duration::from_secs(10)).as_micros(), u64::MAX);
    }
}
