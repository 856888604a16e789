//! Reconnection delays: exponential backoff with jitter.

/// First reconnection delay.
pub const BACKOFF_BASE_MS: u32 = 1_000;
/// Longest reconnection delay.
pub const BACKOFF_MAX_MS: u32 = 30_000;

/// Delay before reconnection attempt `failures` (0-based): `BACKOFF_BASE_MS * 2^failures`,
/// capped at [`BACKOFF_MAX_MS`], scaled by a jitter factor in `[0.5, 1.0]` taken from `random`
/// in `[0, 1]`, so that clients cut off together do not return together.
pub fn backoff_delay(failures: u32, random: f64) -> u32 {
    let exp = BACKOFF_BASE_MS.saturating_mul(1 << failures.min(16)).min(BACKOFF_MAX_MS);
    let random = if random.is_finite() { random.clamp(0.0, 1.0) } else { 0.0 };
    (f64::from(exp) * (0.5 + random / 2.0)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_then_cap_and_jitter_halves_at_most() {
        assert_eq!(backoff_delay(0, 1.0), 1_000);
        assert_eq!(backoff_delay(0, 0.0), 500);
        assert_eq!(backoff_delay(3, 1.0), 8_000);
        assert_eq!(backoff_delay(5, 1.0), BACKOFF_MAX_MS);
        assert_eq!(backoff_delay(u32::MAX, 0.0), BACKOFF_MAX_MS / 2);
        assert_eq!(backoff_delay(1, f64::NAN), 1_000);
    }
}
