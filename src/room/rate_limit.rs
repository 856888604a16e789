//! A token bucket: what a hostile peer can make us log or send in answer is bounded in rate.

use crate::time::Instant;
use std::time::Duration;

/// Whether an action may happen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Allowed,
    /// Allowed, and the budget is now spent for the first time since it was last full: the
    /// moment to say that more will be held back.
    JustExhausted,
    Denied,
}

/// Up to `capacity` actions at once, then one per `period`.
#[derive(Debug, Clone)]
pub(super) struct RateLimit {
    capacity: u32,
    period: Duration,
    tokens: u32,
    refilled: Instant,
    /// Whether the budget ran out since it was last full.
    spent: bool,
}

impl RateLimit {
    pub fn new(capacity: u32, period: Duration, now: Instant) -> Self {
        Self { capacity, period, tokens: capacity, refilled: now, spent: false }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> Verdict {
        let periods = (now - self.refilled).as_micros() / self.period.as_micros().max(1);
        if periods > 0 {
            self.tokens = (u128::from(self.tokens) + periods).min(u128::from(self.capacity)) as u32;
            self.refilled = self.refilled + self.period * periods.min(u128::from(u32::MAX)) as u32;
        }
        if self.tokens == self.capacity {
            self.spent = false;
        }
        match self.tokens {
            0 => Verdict::Denied,
            1 => {
                self.tokens = 0;
                if std::mem::replace(&mut self.spent, true) {
                    Verdict::Allowed
                } else {
                    Verdict::JustExhausted
                }
            }
            _ => {
                self.tokens -= 1;
                Verdict::Allowed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_one_per_period() {
        let t0 = Instant::ZERO;
        let mut limit = RateLimit::new(3, Duration::from_secs(2), t0);
        assert_eq!(limit.take(t0), Verdict::Allowed);
        assert_eq!(limit.take(t0), Verdict::Allowed);
        assert_eq!(limit.take(t0), Verdict::JustExhausted);
        assert_eq!(limit.take(t0), Verdict::Denied);
        let t1 = t0 + Duration::from_secs(3);
        assert_eq!(limit.take(t1), Verdict::Allowed, "said once per spell");
        assert_eq!(limit.take(t1), Verdict::Denied);
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..2 {
            assert_eq!(limit.take(later), Verdict::Allowed);
        }
        assert_eq!(limit.take(later), Verdict::JustExhausted);
    }
}
