//! SHA-256 of payloads the driver holds, computed incrementally through one fixed scratch buffer:
//! payload bytes pass through it slice by slice, so Wasm memory does not grow with payload size.

use crate::chunking::chunk_ranges;
use crate::payload::Payload;
use sha2::{Digest, Sha256};

/// Length of the scratch buffer bytes are hashed through.
pub const SCRATCH_LEN: usize = 64 * 1024;

/// A buffer payload bytes are copied through to be hashed, allocated on first use and reused.
#[derive(Default)]
pub struct Scratch(Vec<u8>);

/// The SHA-256 of the bytes seen so far.
#[derive(Clone, Default)]
pub struct PayloadDigest(Sha256);

impl PayloadDigest {
    /// Adds `bytes`, copied through `scratch` [`SCRATCH_LEN`] bytes at a time.
    pub fn update<P: Payload>(&mut self, bytes: &P, scratch: &mut Scratch) {
        if scratch.0.len() < SCRATCH_LEN {
            scratch.0.resize(SCRATCH_LEN, 0);
        }
        for range in chunk_ranges(bytes.len() as usize, SCRATCH_LEN) {
            let part = &mut scratch.0[..range.len()];
            bytes.slice(range.start as u64..range.end as u64).copy_into(part);
            self.0.update(&*part);
        }
    }

    /// The digest of everything added.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::SharedBytes;

    #[test]
    fn the_digest_of_parts_is_the_digest_of_the_whole() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole: [u8; 32] = Sha256::digest(&bytes).into();
        let mut scratch = Scratch::default();
        let mut digest = PayloadDigest::default();
        for part in bytes.chunks(70_001) {
            digest.update(&SharedBytes::from(part), &mut scratch);
        }
        assert_eq!(digest.finish(), whole);
        assert_eq!(scratch.0.len(), SCRATCH_LEN, "the scratch buffer stays one size");
    }
}
