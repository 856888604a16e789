//! The swarm a room meets in.

use sha1::{Digest, Sha1};

/// The tracker `info_hash` of a room: SHA-1 over appId and roomId, as the 20-character
/// "binary string" (one char per byte, U+0000..=U+00FF) the WebTorrent tracker protocol uses.
/// The relay sees only this hash, never the room name.
pub fn info_hash(app_id: &str, room_id: &str) -> String {
    let digest = Sha1::new()
        .chain_update(b"rendez/torrent/v1\0")
        .chain_update(app_id.as_bytes())
        .chain_update([0])
        .chain_update(room_id.as_bytes())
        .finalize();
    digest.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_twenty_chars_and_room_specific() {
        let a = info_hash("app", "room");
        assert_eq!(a.chars().count(), 20);
        assert!(a.chars().all(|c| (c as u32) < 256));
        assert_eq!(a, info_hash("app", "room"));
        assert_ne!(a, info_hash("app", "room2"));
        assert_ne!(info_hash("ab", "c"), info_hash("a", "bc"));
    }
}
