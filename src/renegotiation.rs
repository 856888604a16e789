//! What renegotiation of an open connection sends over its data channel, and who yields when
//! both sides offer at once (the rules themselves live in the room's negotiation).

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
}
