//! Sealing of everything that crosses a relay: AES-256-GCM under a key stretched with
//! PBKDF2-HMAC-SHA256 from the room password (or from appId and roomId when there is none).

use crate::random::Random;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;

/// PBKDF2 iteration count used for every room key.
pub const PBKDF2_ITERATIONS: u32 = 100_000;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Upper bound on a sealed message accepted by [`RoomKey::open`] (base64 characters).
pub const MAX_SEALED_LEN: usize = 256 * 1024;

/// Why a sealed message could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// Not base64, too short or too long to be a sealed message.
    Malformed,
    /// Authentication failed: wrong password, tampering, or a message meant for another context.
    Unauthentic,
    /// The plaintext is not UTF-8.
    NotText,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "sealed message is malformed",
            Self::Unauthentic => "sealed message failed authentication (wrong password?)",
            Self::NotText => "sealed message does not hold text",
        })
    }
}

impl std::error::Error for CryptoError {}

/// What PBKDF2 stretches into a room key.
pub struct StretchInput {
    /// The password, or `app_id` and `room_id` when the room has none.
    pub secret: String,
    /// Bound to `app_id` and `room_id`.
    pub salt: [u8; 32],
}

impl StretchInput {
    /// The secret and salt of the room `room_id` of `app_id` with `password`.
    pub fn new(password: Option<&str>, app_id: &str, room_id: &str) -> Self {
        let salt = Sha256::new()
            .chain_update(b"rendez/salt/v1\0")
            .chain_update(app_id.as_bytes())
            .chain_update([0])
            .chain_update(room_id.as_bytes())
            .finalize()
            .into();
        let secret = match password {
            Some(password) => password.to_owned(),
            None => format!("{app_id}\0{room_id}"),
        };
        Self { secret, salt }
    }
}

/// Length of a room's [`RoomKey::tag`].
pub const ROOM_TAG_LEN: usize = 8;

/// The symmetric key of one room.
#[derive(Clone)]
pub struct RoomKey {
    cipher: Aes256Gcm,
    tag: [u8; ROOM_TAG_LEN],
}

impl RoomKey {
    /// Derives the room key. The salt is bound to `app_id` and `room_id`; the secret is the
    /// password, or `app_id` and `room_id` again when the room has no password.
    pub fn derive(password: Option<&str>, app_id: &str, room_id: &str) -> Self {
        Self::stretch(&StretchInput::new(password, app_id, room_id))
    }

    /// The room key stretched out of `input` here, with the `pbkdf2` crate.
    pub fn stretch(input: &StretchInput) -> Self {
        let mut stretched = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(input.secret.as_bytes(), &input.salt, PBKDF2_ITERATIONS, &mut stretched);
        Self::from_stretched(&stretched)
    }

    /// The room key from the 32 bytes PBKDF2-HMAC-SHA256 stretched out of a [`StretchInput`] in
    /// [`PBKDF2_ITERATIONS`] rounds (a browser runs them with WebCrypto, off the main thread).
    pub fn from_stretched(stretched: &[u8; 32]) -> Self {
        let digest = Sha256::new().chain_update(b"rendez/room-tag/v1\0").chain_update(stretched).finalize();
        let mut tag = [0u8; ROOM_TAG_LEN];
        tag.copy_from_slice(&digest[..ROOM_TAG_LEN]);
        Self { cipher: Aes256Gcm::new(stretched.into()), tag }
    }

    /// A short name of the room that only holders of its key can compute: pages that share a
    /// connection tag each room's frames with it. Never zero (zero names the connection itself).
    pub fn tag(&self) -> [u8; ROOM_TAG_LEN] {
        let mut tag = self.tag;
        if tag == [0; ROOM_TAG_LEN] {
            tag[0] = 1;
        }
        tag
    }

    /// Encrypts `plaintext` under a fresh nonce from `random`, authenticating `context` with it,
    /// and returns base64 of `nonce || ciphertext || tag`.
    pub fn seal(&self, random: &mut Random, plaintext: &str, context: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .expect("AES-GCM encryption cannot fail for messages under 64 GiB");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        BASE64.encode(out)
    }

    /// Decrypts a message made by [`RoomKey::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, CryptoError> {
        if sealed.len() > MAX_SEALED_LEN {
            return Err(CryptoError::Malformed);
        }
        let bytes = BASE64.decode(sealed).map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload { msg: ciphertext, aad: context.as_bytes() };
        let plaintext = self.cipher.decrypt(Nonce::from_slice(nonce), payload).map_err(|_| CryptoError::Unauthentic)?;
        String::from_utf8(plaintext).map_err(|_| CryptoError::NotText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(password: Option<&str>) -> RoomKey {
        RoomKey::derive(password, "app", "room")
    }

    fn seal(key: &RoomKey, plaintext: &str, context: &str) -> String {
        key.seal(&mut Random::os(), plaintext, context)
    }

    #[test]
    fn sealed_text_opens_with_the_same_key_and_context() {
        let k = key(Some("pw"));
        let sealed = seal(&k, "v=0 sdp", "offer:A");
        assert_eq!(k.open(&sealed, "offer:A").unwrap(), "v=0 sdp");
        assert!(!sealed.contains("sdp"));
    }

    #[test]
    fn tags_name_the_room_and_password() {
        assert_eq!(key(Some("pw")).tag(), key(Some("pw")).tag());
        assert_ne!(key(Some("pw")).tag(), key(Some("other")).tag());
        assert_ne!(key(None).tag(), RoomKey::derive(None, "app", "room2").tag());
        assert_ne!(key(None).tag(), [0; ROOM_TAG_LEN]);
    }

    /// Pinned (computed with Python's hashlib): keys must not change between versions, or pages
    /// of two versions could not meet.
    #[test]
    fn the_derivation_is_pinned() {
        assert_eq!(key(Some("pw")).tag(), [0x8c, 0x68, 0x4a, 0xf8, 0x61, 0x77, 0xc1, 0x76]);
    }

    #[test]
    fn nonces_are_fresh() {
        let k = key(None);
        assert_ne!(seal(&k, "x", "c"), seal(&k, "x", "c"));
    }

    #[test]
    fn wrong_password_room_or_context_is_unauthentic() {
        let sealed = seal(&key(Some("pw")), "secret", "offer:A");
        assert_eq!(key(Some("other")).open(&sealed, "offer:A"), Err(CryptoError::Unauthentic));
        assert_eq!(key(None).open(&sealed, "offer:A"), Err(CryptoError::Unauthentic));
        let other_room = RoomKey::derive(Some("pw"), "app", "room2");
        assert_eq!(other_room.open(&sealed, "offer:A"), Err(CryptoError::Unauthentic));
        assert_eq!(key(Some("pw")).open(&sealed, "offer:B"), Err(CryptoError::Unauthentic));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let k = key(None);
        for input in ["", "!!!", "AAAA", &"A".repeat(MAX_SEALED_LEN + 4)] {
            assert_eq!(k.open(input, "c"), Err(CryptoError::Malformed), "{input:.10}");
        }
    }

    #[test]
    fn tampering_is_detected() {
        let k = key(None);
        let mut bytes = BASE64.decode(seal(&k, "hello", "c")).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(k.open(&BASE64.encode(bytes), "c"), Err(CryptoError::Unauthentic));
    }
}
