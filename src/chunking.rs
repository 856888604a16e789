//! Splitting a payload into DataChannel-sized chunks.

use std::ops::Range;

/// Largest DataChannel message the sender emits, header included. 64 KiB is well inside every
/// current browser's SCTP message limit and large enough to keep per-message overhead low.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

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
