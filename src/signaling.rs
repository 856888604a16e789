//! What strategies carry between peers, independent of the relay protocol.
//!
//! Each SDP is sealed with the room key; the sealing context binds it to its sender (and, for
//! answers, to its recipient and offer), so a relay cannot replay it under another identity.

/// An offer ready to publish: the offer id and the sealed SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedOffer {
    pub offer_id: String,
    pub sealed_sdp: String,
}

/// A message a strategy received from a relay and hands to the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalEvent {
    /// A relay connection opened (or reopened): time to announce.
    RelayReady,
    /// Peer `from` offers a connection.
    Offer { from: String, offer_id: String, sealed_sdp: String },
    /// Peer `from` answers our offer `offer_id`.
    Answer { from: String, offer_id: String, sealed_sdp: String },
}

/// Sealing context of an offer made by `from`.
pub fn offer_context(from: &str) -> String {
    format!("offer\0{from}")
}

/// Sealing context of the answer `from` sends to `to` for `offer_id`.
pub fn answer_context(from: &str, to: &str, offer_id: &str) -> String {
    format!("answer\0{from}\0{to}\0{offer_id}")
}
