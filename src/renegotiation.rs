//! Renegotiation of an open connection over its data channel, with the "perfect negotiation"
//! rules: when both sides offer at once, the impolite peer ignores the other's offer and the
//! polite peer rolls its own back. Roles are fixed by peer id, so both sides agree.

use serde::{Deserialize, Serialize};

/// A session description sent over the data channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    #[serde(rename = "type")]
    pub kind: DescriptionKind,
    pub sdp: String,
}

/// Offer or answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DescriptionKind {
    Offer,
    Answer,
}

impl Description {
    /// The JSON text sent to the peer.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("descriptions always serialize")
    }

    /// Parses a description received from the peer.
    pub fn decode(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid renegotiation message: {e}"))
    }
}

/// Whether we are the polite side towards `remote`: the peer with the greater id yields.
pub fn is_polite(self_id: &str, remote: &str) -> bool {
    self_id > remote
}

/// What to do with a description from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Drop it: a colliding offer and we are impolite.
    Ignore,
    /// Apply it (rolling back our own offer if one is pending); answer it if it is an offer.
    Apply { answer: bool },
}

/// Perfect-negotiation state of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiator {
    polite: bool,
    making_offer: bool,
}

impl Negotiator {
    pub fn new(polite: bool) -> Self {
        Self { polite, making_offer: false }
    }

    /// We started (`true`) or finished (`false`) making an offer.
    pub fn set_making_offer(&mut self, making: bool) {
        self.making_offer = making;
    }

    /// Decides about a remote description; `stable` is whether our signaling state is stable.
    pub fn on_remote(&self, kind: DescriptionKind, stable: bool) -> Reaction {
        let offer = kind == DescriptionKind::Offer;
        let collision = offer && (self.making_offer || !stable);
        if collision && !self.polite {
            Reaction::Ignore
        } else {
            Reaction::Apply { answer: offer }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_roundtrip() {
        let d = Description { kind: DescriptionKind::Offer, sdp: "v=0".into() };
        assert_eq!(d.encode(), r#"{"type":"offer","sdp":"v=0"}"#);
        assert_eq!(Description::decode(&d.encode()), Ok(d));
        assert!(Description::decode(r#"{"type":"pranswer","sdp":""}"#).is_err());
    }

    #[test]
    fn exactly_one_side_is_polite() {
        assert!(is_polite("b", "a"));
        assert!(!is_polite("a", "b"));
    }

    #[test]
    fn glare_is_resolved_by_politeness() {
        let mut impolite = Negotiator::new(false);
        let mut polite = Negotiator::new(true);
        impolite.set_making_offer(true);
        polite.set_making_offer(true);
        assert_eq!(impolite.on_remote(DescriptionKind::Offer, false), Reaction::Ignore);
        assert_eq!(polite.on_remote(DescriptionKind::Offer, false), Reaction::Apply { answer: true });
        assert_eq!(impolite.on_remote(DescriptionKind::Answer, false), Reaction::Apply { answer: false });
    }

    #[test]
    fn offers_without_collision_are_answered() {
        let n = Negotiator::new(false);
        assert_eq!(n.on_remote(DescriptionKind::Offer, true), Reaction::Apply { answer: true });
    }
}
