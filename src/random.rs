//! Randomness as an input: the core draws ids, nonces and jitter from a [`Random`] the driver
//! hands it, so simulations can replay a run exactly from a seed.

/// Length of a peer id. Twenty characters, so that it doubles as a BitTorrent `peer_id`.
pub const PEER_ID_LEN: usize = 20;

const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// A source of random bytes.
#[derive(Debug, Clone)]
pub struct Random(Source);

#[derive(Debug, Clone)]
enum Source {
    /// The platform's cryptographic source (`crypto.getRandomValues` in the browser).
    Os,
    /// A SplitMix64 sequence: deterministic, for simulations only (not secret).
    Seeded(u64),
}

impl Random {
    /// The platform's cryptographic random source.
    pub fn os() -> Self {
        Self(Source::Os)
    }

    /// A deterministic sequence from `seed`, for tests and simulations; never for real rooms.
    pub fn seeded(seed: u64) -> Self {
        Self(Source::Seeded(seed))
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        match &mut self.0 {
            Source::Os => getrandom::getrandom(buf).expect("the platform random source is unavailable"),
            Source::Seeded(state) => {
                for chunk in buf.chunks_mut(8) {
                    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = *state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    z ^= z >> 31;
                    chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
                }
            }
        }
    }

    /// A uniformly distributed number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        let mut bytes = [0u8; 8];
        self.fill(&mut bytes);
        (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random id of `len` characters drawn uniformly from a URL-safe 64-character alphabet.
    pub fn id(&mut self, len: usize) -> String {
        let mut bytes = vec![0u8; len];
        self.fill(&mut bytes);
        bytes.iter().map(|b| ALPHABET[usize::from(b & 63)] as char).collect()
    }
}

/// Whether `id` looks like a peer id this library issues.
pub fn is_peer_id(id: &str) -> bool {
    id.len() == PEER_ID_LEN && id.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_requested_length_and_alphabet() {
        let mut random = Random::os();
        let id = random.id(PEER_ID_LEN);
        assert!(is_peer_id(&id), "{id}");
        assert_ne!(random.id(PEER_ID_LEN), id);
    }

    #[test]
    fn foreign_ids_are_recognised() {
        assert!(!is_peer_id("short"));
        assert!(!is_peer_id("with space 123456789"));
    }

    #[test]
    fn seeded_sequences_repeat_and_differ_by_seed() {
        let draw = |seed| {
            let mut r = Random::seeded(seed);
            (r.id(13), r.unit())
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let unit = draw(7).1;
        assert!((0.0..1.0).contains(&unit));
    }
}
