//! What strategies carry between peers, independent of the relay protocol.
//!
//! Presence strategies (pub/sub relays) carry [`PeerMessage`]s as JSON on topics derived with
//! [`room_topic`]; tracker strategies use the tracker's own messages.
//!
//! Each SDP is sealed with the room key; the sealing context binds it to its sender (and, for
//! answers, to its recipient and offer), so a relay cannot replay it under another identity.
//! Presence announcements carry a proof sealed the same way, so strangers without the room key
//! cannot make a peer set up connections to made-up ids.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// An offer ready to publish: the offer id and the sealed SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedOffer {
    pub offer_id: String,
    pub sealed_sdp: String,
}

/// A message a strategy received from a relay and hands to the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalEvent {
    /// Peer `from` announced itself (presence strategies) with `proof`, a time stamp sealed
    /// under [`presence_context`]: once the proof opens, it is time to offer it a connection.
    Presence { from: String, proof: String },
    /// Peer `from` offers a connection.
    Offer { from: String, offer_id: String, sealed_sdp: String },
    /// Peer `from` answers our offer `offer_id`.
    Answer { from: String, offer_id: String, sealed_sdp: String },
    /// Peer `from` found an ICE candidate for the connection of offer `offer_id` (trickle ICE).
    Candidate { from: String, offer_id: String, sealed: String },
}

/// A message between peers on a pub/sub relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PeerMessage {
    /// "I am here", published on the room topic, with a proof that the sender holds the room key.
    Presence { from: String, proof: String },
    /// An offer, published on the recipient's topic.
    Offer { from: String, offer_id: String, sealed_sdp: String },
    /// An answer, published on the recipient's topic.
    Answer { from: String, offer_id: String, sealed_sdp: String },
    /// An ICE candidate (trickle ICE), published on the recipient's topic.
    Candidate { from: String, offer_id: String, sealed: String },
}

/// Longest peer message accepted, in bytes.
pub const MAX_PEER_MESSAGE_LEN: usize = 64 * 1024;

/// Why a peer message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMessageError {
    TooLong(usize),
    Invalid(String),
}

impl fmt::Display for PeerMessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong(n) => write!(f, "relay message of {n} bytes is too long"),
            Self::Invalid(e) => write!(f, "relay message is invalid: {e}"),
        }
    }
}

impl std::error::Error for PeerMessageError {}

impl PeerMessage {
    /// The JSON text of this message.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("peer messages always serialize")
    }

    /// Parses a message received from a relay.
    pub fn decode(bytes: &[u8]) -> Result<Self, PeerMessageError> {
        if bytes.len() > MAX_PEER_MESSAGE_LEN {
            return Err(PeerMessageError::TooLong(bytes.len()));
        }
        serde_json::from_slice(bytes).map_err(|e| PeerMessageError::Invalid(e.to_string()))
    }

    /// The peer that sent it.
    pub fn sender(&self) -> &str {
        match self {
            Self::Presence { from, .. }
            | Self::Offer { from, .. }
            | Self::Answer { from, .. }
            | Self::Candidate { from, .. } => from,
        }
    }
}

impl From<PeerMessage> for SignalEvent {
    fn from(message: PeerMessage) -> Self {
        match message {
            PeerMessage::Presence { from, proof } => Self::Presence { from, proof },
            PeerMessage::Offer { from, offer_id, sealed_sdp } => Self::Offer { from, offer_id, sealed_sdp },
            PeerMessage::Answer { from, offer_id, sealed_sdp } => Self::Answer { from, offer_id, sealed_sdp },
            PeerMessage::Candidate { from, offer_id, sealed } => Self::Candidate { from, offer_id, sealed },
        }
    }
}

/// Where a pub/sub message arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// The room topic every peer subscribes to.
    Room,
    /// Our own peer topic.
    Own,
}

impl PeerMessage {
    /// Whether the message belongs on `topic`: presence on the room topic, offers and answers on
    /// the recipient's own topic. Anything else is a confused or hostile relay.
    pub fn belongs_on(&self, topic: Topic) -> bool {
        match self {
            Self::Presence { .. } => topic == Topic::Room,
            Self::Offer { .. } | Self::Answer { .. } | Self::Candidate { .. } => topic == Topic::Own,
        }
    }
}

/// The topic of peer `peer_id` under `room_topic`.
pub fn peer_topic(room_topic: &str, peer_id: &str) -> String {
    format!("{room_topic}/{peer_id}")
}

/// The two topics a peer subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub room: String,
    pub own: String,
}

impl Topics {
    /// The room topic and `self_id`'s topic under it.
    pub fn new(room: String, self_id: &str) -> Self {
        let own = peer_topic(&room, self_id);
        Self { room, own }
    }

    /// Which of ours `topic` is, if any.
    pub fn classify(&self, topic: &str) -> Option<Topic> {
        if topic == self.room {
            Some(Topic::Room)
        } else if topic == self.own {
            Some(Topic::Own)
        } else {
            None
        }
    }
}

/// The room's topic on a pub/sub relay: 40 hex digits of SHA-256 over the strategy name, appId
/// and roomId, so the relay never sees the room name.
pub fn room_topic(strategy: &str, app_id: &str, room_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"rendez/topic/v2\0")
        .chain_update(strategy.as_bytes())
        .chain_update([0])
        .chain_update(app_id.as_bytes())
        .chain_update([0])
        .chain_update(room_id.as_bytes())
        .finalize();
    digest[..20].iter().map(|b| format!("{b:02x}")).collect()
}

/// Sealing context of an offer made by `from` for whoever the relay hands it to (trackers).
pub fn offer_context(from: &str) -> String {
    format!("offer\0{from}")
}

/// Sealing context of an offer made by `from` for peer `to` alone (presence strategies).
pub fn direct_offer_context(from: &str, to: &str) -> String {
    format!("direct-offer\0{from}\0{to}")
}

/// Sealing context of the proof `from` sends `to` over a shared connection to join the room there.
pub fn link_context(from: &str, to: &str) -> String {
    format!("link\0{from}\0{to}")
}

/// Sealing context of an ICE candidate `from` sends `to` for the connection of offer `offer_id`.
pub fn candidate_context(from: &str, to: &str, offer_id: &str) -> String {
    format!("candidate\0{from}\0{to}\0{offer_id}")
}

/// Sealing context of a description of the ICE restart `exchange` that `from` sends `to` over
/// the relays.
pub fn restart_context(from: &str, to: &str, exchange: &str) -> String {
    format!("restart\0{from}\0{to}\0{exchange}")
}

/// Sealing context of the presence proof of `from`.
pub fn presence_context(from: &str) -> String {
    format!("presence\0{from}")
}

/// Sealing context of the answer `from` sends to `to` for `offer_id`.
pub fn answer_context(from: &str, to: &str, offer_id: &str) -> String {
    format!("answer\0{from}\0{to}\0{offer_id}")
}

/// How far a sealed signaling message's time stamp may be from our clock, either way: wide enough
/// for clocks that are minutes off, narrow enough that a relay cannot keep replaying old ones.
pub const STAMP_TOLERANCE_SECS: u64 = 600;

/// The plaintext sealed for a signaling message: the sender's Unix time, a newline, `body`.
pub fn stamp(unix_secs: u64, body: &str) -> String {
    format!("{unix_secs}\n{body}")
}

/// What starts the signaling body of a passive peer.
const PASSIVE_MARK: &str = "passive\n";

/// `body` marked as a passive peer's when `passive`.
pub fn mark_passive(body: &str, passive: bool) -> String {
    if passive {
        format!("{PASSIVE_MARK}{body}")
    } else {
        body.to_owned()
    }
}

/// Whether `marked` is a passive peer's, and its body.
pub fn split_passive(marked: &str) -> (bool, &str) {
    match marked.strip_prefix(PASSIVE_MARK) {
        Some(body) => (true, body),
        None => (false, marked),
    }
}

/// Why a stamped plaintext was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StampError {
    /// No time stamp (e.g. a peer of an older version).
    Missing,
    /// The stamp is further than [`STAMP_TOLERANCE_SECS`] from our clock (a replay, or a clock far off).
    OutOfWindow { skew_secs: u64 },
}

impl fmt::Display for StampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("it carries no time stamp"),
            Self::OutOfWindow { skew_secs } => {
                write!(f, "its time stamp is {skew_secs} s from our clock (replayed, or a clock far off)")
            }
        }
    }
}

impl std::error::Error for StampError {}

/// The body of a stamped plaintext whose stamp is within [`STAMP_TOLERANCE_SECS`] of `unix_now`.
pub fn unstamp(plaintext: &str, unix_now: u64) -> Result<&str, StampError> {
    let (secs, body) = plaintext.split_once('\n').ok_or(StampError::Missing)?;
    let secs: u64 = secs.parse().map_err(|_| StampError::Missing)?;
    let skew_secs = secs.abs_diff(unix_now);
    if skew_secs > STAMP_TOLERANCE_SECS {
        return Err(StampError::OutOfWindow { skew_secs });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn peer_messages_roundtrip_as_tagged_json() {
        let offer = PeerMessage::Offer { from: "A".into(), offer_id: "o".into(), sealed_sdp: "S".into() };
        let text = offer.encode();
        assert!(text.contains(r#""type":"offer""#), "{text}");
        assert_eq!(PeerMessage::decode(text.as_bytes()), Ok(offer));
        let presence = PeerMessage::Presence { from: "B".into(), proof: "P".into() };
        assert_eq!(PeerMessage::decode(presence.encode().as_bytes()).unwrap().sender(), "B");
        assert_eq!(SignalEvent::from(presence), SignalEvent::Presence { from: "B".into(), proof: "P".into() });
        let unproven = br#"{"type":"presence","from":"B"}"#;
        assert!(matches!(PeerMessage::decode(unproven), Err(PeerMessageError::Invalid(_))));
    }

    #[test]
    fn presence_proofs_open_only_for_their_sender_and_room_key() {
        let key = crate::crypto::RoomKey::derive(None, "app", "room");
        let proof = key.seal(&mut crate::random::Random::os(), "", &presence_context("A"));
        assert_eq!(key.open(&proof, &presence_context("A")), Ok(String::new()));
        assert!(key.open(&proof, &presence_context("B")).is_err());
        assert!(key.open(&proof, &offer_context("A")).is_err());
        let other_room = crate::crypto::RoomKey::derive(None, "app", "room2");
        assert!(other_room.open(&proof, &presence_context("A")).is_err());
    }

    #[test]
    fn stamps_bound_messages_to_a_time_window() {
        let now = 1_700_000_000;
        assert_eq!(unstamp(&stamp(now, "v=0\nsdp"), now), Ok("v=0\nsdp"));
        assert_eq!(unstamp(&stamp(now - STAMP_TOLERANCE_SECS, ""), now), Ok(""));
        assert_eq!(unstamp(&stamp(now + STAMP_TOLERANCE_SECS, "x"), now), Ok("x"));
        let old = stamp(now - STAMP_TOLERANCE_SECS - 1, "x");
        assert_eq!(unstamp(&old, now), Err(StampError::OutOfWindow { skew_secs: STAMP_TOLERANCE_SECS + 1 }));
        assert_eq!(unstamp("v=0 no stamp", now), Err(StampError::Missing));
        assert_eq!(unstamp("-5\nx", now), Err(StampError::Missing));
        assert_eq!(unstamp("", now), Err(StampError::Missing));
    }

    #[test]
    fn direct_offers_are_bound_to_their_recipient() {
        assert_ne!(direct_offer_context("A", "B"), direct_offer_context("A", "C"));
        assert_ne!(direct_offer_context("A", "B"), offer_context("A"));
    }

    #[test]
    fn bad_peer_messages_are_errors() {
        assert!(matches!(PeerMessage::decode(b"{}"), Err(PeerMessageError::Invalid(_))));
        assert!(matches!(PeerMessage::decode(br#"{"type":"offer","from":"A"}"#), Err(PeerMessageError::Invalid(_))));
        assert!(matches!(PeerMessage::decode(&[0xff; 10]), Err(PeerMessageError::Invalid(_))));
        let long = vec![b' '; MAX_PEER_MESSAGE_LEN + 1];
        assert_eq!(PeerMessage::decode(&long), Err(PeerMessageError::TooLong(MAX_PEER_MESSAGE_LEN + 1)));
    }

    #[test]
    fn messages_belong_on_their_topics() {
        let presence = PeerMessage::Presence { from: "A".into(), proof: "P".into() };
        let answer = PeerMessage::Answer { from: "A".into(), offer_id: "o".into(), sealed_sdp: "S".into() };
        assert!(presence.belongs_on(Topic::Room) && !presence.belongs_on(Topic::Own));
        assert!(answer.belongs_on(Topic::Own) && !answer.belongs_on(Topic::Room));
        let topics = Topics::new("r".into(), "p");
        assert_eq!(topics.own, "r/p");
        assert_eq!(topics.classify("r"), Some(Topic::Room));
        assert_eq!(topics.classify("r/p"), Some(Topic::Own));
        assert_eq!(topics.classify("r/q"), None);
    }

    #[test]
    fn topics_are_hex_and_separate_rooms_apps_and_strategies() {
        let t = room_topic("mqtt", "app", "room");
        assert_eq!(t.len(), 40);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(t, room_topic("mqtt", "app", "room2"));
        assert_ne!(t, room_topic("nostr", "app", "room"));
        assert_ne!(room_topic("m", "ab", "c"), room_topic("m", "a", "bc"));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = PeerMessage::decode(&bytes);
        }
    }
}
