//! Splitting a payload into DataChannel-sized chunks.

use std::ops::Range;

/// Largest DataChannel message the sender emits, header included, when the connection allows
/// it. 256 KiB is Chromium's SCTP limit and moves bulk data fastest.
pub const MAX_FRAME_LEN: usize = 256 * 1024;
/// Frame length used when the connection does not tell its SCTP message limit; every current
/// browser accepts 64 KiB.
pub const FALLBACK_FRAME_LEN: usize = 64 * 1024;

/// The frame length to use given the remote's advertised SCTP `maxMessageSize` (`None` when
/// unknown; infinity or zero when unlimited).
pub fn frame_len(max_message_size: Option<f64>) -> usize {
    match max_message_size {
        Some(m) if m == 0.0 || m.is_infinite() => MAX_FRAME_LEN,
        Some(m) if m.is_finite() && m >= 1024.0 => (m as usize).min(MAX_FRAME_LEN),
        _ => FALLBACK_FRAME_LEN,
    }
}

/// Byte ranges of successive chunks of a `total`-byte payload whose chunks hold at most
/// `chunk_len` bytes. An empty payload still yields one (empty) chunk, so every transfer has a
/// first chunk to carry its header.
pub fn chunk_ranges(total: usize, chunk_len: usize) -> impl Iterator<Item = Range<usize>> {
    let chunk_len = chunk_len.max(1);
    let count = total.div_ceil(chunk_len).max(1);
    (0..count).map(move |i| i * chunk_len..((i + 1) * chunk_len).min(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frame_length_follows_the_advertised_limit() {
        assert_eq!(frame_len(Some(262_144.0)), MAX_FRAME_LEN);
        assert_eq!(frame_len(Some(f64::INFINITY)), MAX_FRAME_LEN);
        assert_eq!(frame_len(Some(0.0)), MAX_FRAME_LEN);
        assert_eq!(frame_len(Some(1_073_741_823.0)), MAX_FRAME_LEN);
        assert_eq!(frame_len(Some(65_536.0)), 65_536);
        assert_eq!(frame_len(Some(10.0)), FALLBACK_FRAME_LEN);
        assert_eq!(frame_len(Some(f64::NAN)), FALLBACK_FRAME_LEN);
        assert_eq!(frame_len(None), FALLBACK_FRAME_LEN);
    }

    #[test]
    fn empty_payload_has_one_empty_chunk() {
        assert_eq!(chunk_ranges(0, 10).collect::<Vec<_>>(), vec![0..0]);
    }

    #[test]
    fn last_chunk_holds_the_remainder() {
        assert_eq!(chunk_ranges(25, 10).collect::<Vec<_>>(), vec![0..10, 10..20, 20..25]);
    }

    proptest! {
        #[test]
        fn chunks_tile_the_payload(total in 0usize..100_000, chunk in 1usize..5_000) {
            let mut next = 0;
            for r in chunk_ranges(total, chunk) {
                prop_assert_eq!(r.start, next);
                prop_assert!(r.len() <= chunk);
                next = r.end;
            }
            prop_assert_eq!(next, total);
        }
    }
}
