//! Random identifiers: peer ids and offer ids.

/// Length of a peer id. Twenty characters, so that it doubles as a BitTorrent `peer_id`.
pub const PEER_ID_LEN: usize = 20;

const ALPHABET: &[u8; 64] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/// Fills `buf` from the platform's cryptographic random source.
pub fn random_bytes(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the platform random source is unavailable");
}

/// A random id of `len` characters drawn uniformly from a URL-safe 64-character alphabet.
pub fn random_id(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    random_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(b & 63)] as char).collect()
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
        let id = random_id(PEER_ID_LEN);
        assert!(is_peer_id(&id), "{id}");
        assert_ne!(random_id(PEER_ID_LEN), id);
    }

    #[test]
    fn foreign_ids_are_recognised() {
        assert!(!is_peer_id("short"));
        assert!(!is_peer_id("with space 123456789"));
    }
}
