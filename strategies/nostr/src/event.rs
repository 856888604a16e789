//! NIP-01 events: canonical id, BIP-340 Schnorr signatures over secp256k1, verification.

use k256::schnorr::signature::hazmat::PrehashVerifier;
use k256::schnorr::{Signature, SigningKey, VerifyingKey};
use rendez_core::random::Random;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::fmt;

/// A signed Nostr event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub pubkey: String,
    pub created_at: u64,
    pub kind: u32,
    pub tags: Vec<Vec<String>>,
    pub content: String,
    pub sig: String,
}

/// Why an event is not authentic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// `id` is not the SHA-256 of the event's canonical serialization.
    WrongId,
    /// `pubkey` or `sig` is not valid hex of the right length, or not a curve point.
    Malformed,
    /// The signature does not verify under `pubkey`.
    BadSignature,
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WrongId => "event id does not match its content",
            Self::Malformed => "event key or signature is malformed",
            Self::BadSignature => "event signature is invalid",
        })
    }
}

impl std::error::Error for EventError {}

/// A session key pair. A fresh one per room, so events of different sessions are unlinkable.
pub struct Keys {
    secret: SigningKey,
    pubkey: String,
}

impl Keys {
    /// A new random key pair.
    pub fn generate(random: &mut Random) -> Self {
        loop {
            let mut bytes = [0u8; 32];
            random.fill(&mut bytes);
            if let Ok(keys) = Self::from_secret(&bytes) {
                return keys;
            }
        }
    }

    /// The key pair of a 32-byte secret key (fails for zero or out-of-range values).
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, EventError> {
        let secret = SigningKey::from_bytes(secret).map_err(|_| EventError::Malformed)?;
        let pubkey = hex(&secret.verifying_key().to_bytes());
        Ok(Self { secret, pubkey })
    }

    /// The x-only public key as 64 hex digits.
    pub fn pubkey(&self) -> &str {
        &self.pubkey
    }

    /// Builds and signs an event, with auxiliary randomness from `random`.
    pub fn sign(
        &self,
        random: &mut Random,
        created_at: u64,
        kind: u32,
        tags: Vec<Vec<String>>,
        content: String,
    ) -> Event {
        let id = event_id(&self.pubkey, created_at, kind, &tags, &content);
        let mut aux = [0u8; 32];
        random.fill(&mut aux);
        let sig =
            self.secret.sign_prehash_with_aux_rand(&id, &aux).expect("BIP-340 signing of a 32-byte digest cannot fail");
        Event { id: hex(&id), pubkey: self.pubkey.clone(), created_at, kind, tags, content, sig: hex(&sig.to_bytes()) }
    }
}

/// SHA-256 of `[0, pubkey, created_at, kind, tags, content]` serialized as NIP-01 prescribes
/// (no whitespace, UTF-8, minimal escapes — what `serde_json` writes).
pub fn event_id(pubkey: &str, created_at: u64, kind: u32, tags: &[Vec<String>], content: &str) -> [u8; 32] {
    let canonical = json!([0, pubkey, created_at, kind, tags, content]).to_string();
    Sha256::digest(canonical.as_bytes()).into()
}

impl Event {
    /// Checks the id and the signature.
    pub fn verify(&self) -> Result<(), EventError> {
        let id = event_id(&self.pubkey, self.created_at, self.kind, &self.tags, &self.content);
        if hex(&id) != self.id {
            return Err(EventError::WrongId);
        }
        let pubkey = unhex::<32>(&self.pubkey).ok_or(EventError::Malformed)?;
        let sig = unhex::<64>(&self.sig).ok_or(EventError::Malformed)?;
        let key = VerifyingKey::from_bytes(&pubkey).map_err(|_| EventError::Malformed)?;
        let sig = Signature::try_from(&sig[..]).map_err(|_| EventError::Malformed)?;
        key.verify_prehash(&id, &sig).map_err(|_| EventError::BadSignature)
    }

    /// The first value of tag `name`.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.first().map(String::as_str) == Some(name))
            .and_then(|t| t.get(1))
            .map(String::as_str)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real event signed by another implementation.
    fn known_event() -> Event {
        Event {
            id: "54ffbfbb8a4f76991c9f2401943b9b4d4f10084863ec7ea538bad2ded3d56892".into(),
            pubkey: "2e7b0e5aae374d0ed1fab6cc877a969716ea48a710176a035398635e5d660dc1".into(),
            created_at: 0,
            kind: 96024,
            tags: vec![],
            content: "0".repeat(64),
            sig: "a35749d6174451de16fb286096858cb33d7b66c9583024fd2a5cd7b57a763ec85d99ddb0711044498c362be7c82e524a9845e09f634bbf11d87fccc2bcfe2202".into(),
        }
    }

    #[test]
    fn a_known_event_has_the_expected_id_and_verifies() {
        let event = known_event();
        assert_eq!(hex(&event_id(&event.pubkey, 0, 96024, &[], &event.content)), event.id);
        assert_eq!(event.verify(), Ok(()));
    }

    #[test]
    fn bip340_vector_0_public_key() {
        // BIP-340 test vector 0: secret key 3.
        let mut secret = [0u8; 32];
        secret[31] = 3;
        let keys = Keys::from_secret(&secret).unwrap();
        assert_eq!(keys.pubkey(), "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9");
    }

    #[test]
    fn tampering_is_detected() {
        let mut event = known_event();
        event.content.push('1');
        assert_eq!(event.verify(), Err(EventError::WrongId));
        let mut event = known_event();
        event.sig.replace_range(0..2, "a4");
        assert_eq!(event.verify(), Err(EventError::BadSignature));
        let mut event = known_event();
        event.pubkey = "zz".into();
        assert!(event.verify().is_err());
        let mut event = known_event();
        event.sig.truncate(10);
        assert_eq!(event.verify(), Err(EventError::Malformed));
    }

    #[test]
    fn our_events_verify_and_escape_canonically() {
        let mut random = Random::os();
        let keys = Keys::generate(&mut random);
        let content = "line\n\"quote\" \\ tab\t ünï 🚀 </script>".to_owned();
        let event =
            keys.sign(&mut random, 1_700_000_000, 29_371, vec![vec!["x".into(), "topic".into()]], content.clone());
        assert_eq!(event.verify(), Ok(()));
        assert_eq!(event.tag("x"), Some("topic"));
        assert_eq!(event.pubkey, keys.pubkey());
        let canonical = json!([0, event.pubkey, 1_700_000_000u64, 29_371, [["x", "topic"]], content]).to_string();
        assert!(canonical.contains(r#"line\n\"quote\" \\ tab\t ünï 🚀 </script>"#), "{canonical}");
        let other = Keys::generate(&mut random);
        let mut forged = event.clone();
        forged.pubkey = other.pubkey().to_owned();
        assert!(forged.verify().is_err());
    }
}
