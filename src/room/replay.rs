//! Replay protection for sealed signaling: a relay may deliver a message again (by accident, or
//! to make us set up connections to peers long gone). Sealed messages are stamped with the
//! sender's time ([`crate::signaling::stamp`]), so old ones are refused when opened; this
//! remembers the ones seen within that window, so a copy is recognised.

use crate::collections::Set;
use crate::signaling::STAMP_TOLERANCE_SECS;
use crate::time::Instant;
use std::collections::VecDeque;
use std::time::Duration;

/// Sealed messages remembered at most; the oldest are forgotten first.
const CAPACITY: usize = 4096;
/// How long one is remembered: as long as its stamp can still be within the window.
const MEMORY: Duration = Duration::from_secs(2 * STAMP_TOLERANCE_SECS);
/// Base64 characters of a sealed message that encode its random 96-bit nonce.
const NONCE_CHARS: usize = 16;

/// The nonces of sealed messages seen lately.
#[derive(Debug, Default)]
pub(super) struct ReplayGuard {
    seen: Set<String>,
    order: VecDeque<(Instant, String)>,
}

impl ReplayGuard {
    /// Whether `sealed` (a message that opened, so its nonce is authentic) is seen for the first
    /// time; remembers it.
    pub fn first_sighting(&mut self, sealed: &str, now: Instant) -> bool {
        while let Some((at, nonce)) = self.order.front() {
            if now - *at < MEMORY && self.order.len() < CAPACITY {
                break;
            }
            self.seen.remove(nonce);
            self.order.pop_front();
        }
        let nonce = sealed.get(..NONCE_CHARS).unwrap_or(sealed).to_owned();
        if !self.seen.insert(nonce.clone()) {
            return false;
        }
        self.order.push_back((now, nonce));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_recognised_while_remembered() {
        let mut guard = ReplayGuard::default();
        let t0 = Instant::ZERO;
        assert!(guard.first_sighting("AAAAAAAAAAAAAAAAxyz", t0));
        assert!(!guard.first_sighting("AAAAAAAAAAAAAAAAxyz", t0 + Duration::from_secs(60)));
        assert!(guard.first_sighting("BBBBBBBBBBBBBBBBxyz", t0));
        assert!(guard.first_sighting("AAAAAAAAAAAAAAAAxyz", t0 + MEMORY));
    }

    #[test]
    fn memory_is_bounded() {
        let mut guard = ReplayGuard::default();
        for i in 0..CAPACITY + 10 {
            assert!(guard.first_sighting(&format!("{i:016}"), Instant::ZERO));
        }
        assert!(guard.seen.len() <= CAPACITY);
        assert!(guard.first_sighting(&format!("{:016}", 0), Instant::ZERO), "the oldest was forgotten");
    }
}
