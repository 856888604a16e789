//! What a receiver keeps to pick up an incoming stream after its page reloads: the sender's peer
//! id, the stream's 16-byte id (the sender hands a stream to whoever names it, so the ticket is
//! a capability: keep it as private as the data) and how the stream was described. It travels
//! as a short JSON text the app stores (e.g. in `localStorage`) beside the bytes it staged.

use crate::frame::{PayloadKind, MAX_ACTION_NAME_LEN, MAX_METADATA_LEN};
use crate::random::is_peer_id;
use crate::stream_frame::STREAM_ID_LEN;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest ticket text read (JSON escaping may make metadata up to six times as long).
pub const MAX_TICKET_LEN: usize = 6 * MAX_METADATA_LEN + 1024;
const VERSION: u8 = 1;

/// An incoming stream, as its receiver needs it to resume it on a new page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTicket {
    /// The sender's peer id.
    pub peer: String,
    pub id: [u8; STREAM_ID_LEN],
    pub action: String,
    pub kind: PayloadKind,
    pub metadata: Option<String>,
    pub size: Option<u64>,
}

/// Why a ticket cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketError {
    TooLong(usize),
    Invalid(String),
}

impl fmt::Display for TicketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong(len) => write!(f, "a stream ticket of {len} bytes is too long"),
            Self::Invalid(reason) => write!(f, "not a stream ticket: {reason}"),
        }
    }
}

impl std::error::Error for TicketError {}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u8,
    peer: String,
    id: String,
    action: String,
    kind: u8,
    metadata: Option<String>,
    size: Option<u64>,
}

impl StreamTicket {
    /// The ticket's text.
    pub fn encode(&self) -> String {
        let id = self.id.iter().map(|b| format!("{b:02x}")).collect();
        let wire = Wire {
            v: VERSION,
            peer: self.peer.clone(),
            id,
            action: self.action.clone(),
            kind: self.kind as u8,
            metadata: self.metadata.clone(),
            size: self.size,
        };
        serde_json::to_string(&wire).expect("tickets always serialize")
    }

    /// Reads a ticket's text, checking every field as a peer's stream open is checked.
    pub fn decode(text: &str) -> Result<Self, TicketError> {
        if text.len() > MAX_TICKET_LEN {
            return Err(TicketError::TooLong(text.len()));
        }
        let invalid = |reason: &str| TicketError::Invalid(reason.to_owned());
        let wire: Wire = serde_json::from_str(text).map_err(|e| TicketError::Invalid(e.to_string()))?;
        if wire.v != VERSION {
            return Err(invalid("unknown version"));
        }
        if !is_peer_id(&wire.peer) {
            return Err(invalid("no peer id"));
        }
        if wire.action.is_empty() || wire.action.len() > MAX_ACTION_NAME_LEN {
            return Err(invalid("no action name"));
        }
        if wire.metadata.as_ref().is_some_and(|m| m.len() > MAX_METADATA_LEN) {
            return Err(invalid("metadata too long"));
        }
        let kind = PayloadKind::from_byte(wire.kind).map_err(|_| invalid("unknown payload kind"))?;
        let digits = wire.id.as_bytes();
        if digits.len() != 2 * STREAM_ID_LEN {
            return Err(invalid("no stream id"));
        }
        let mut id = [0; STREAM_ID_LEN];
        for (byte, pair) in id.iter_mut().zip(digits.chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| invalid("no stream id"))?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid("no stream id"))?;
        }
        Ok(Self { peer: wire.peer, id, action: wire.action, kind, metadata: wire.metadata, size: wire.size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ticket() -> StreamTicket {
        StreamTicket {
            peer: "abcdefghijklmnopqrst".into(),
            id: [7; STREAM_ID_LEN],
            action: "file".into(),
            kind: PayloadKind::Binary,
            metadata: Some(r#"{"name":"a.bin"}"#.into()),
            size: Some(u64::MAX - 1),
        }
    }

    #[test]
    fn tickets_roundtrip() {
        let t = ticket();
        assert_eq!(StreamTicket::decode(&t.encode()), Ok(t));
        let without_size = StreamTicket { metadata: None, size: None, ..ticket() };
        assert_eq!(StreamTicket::decode(&without_size.encode()), Ok(without_size));
    }

    #[test]
    fn bad_tickets_are_errors() {
        let text = ticket().encode();
        for bad in [
            text.replace("abcdefghijklmnopqrst", "short"),
            text.replace(r#""v":1"#, r#""v":2"#),
            text.replace(r#""kind":3"#, r#""kind":9"#),
            text.replace("0707", "07zz"),
            text.replace(r#""action":"file""#, r#""action":"""#),
            "{}".to_owned(),
            "not json".to_owned(),
        ] {
            assert!(matches!(StreamTicket::decode(&bad), Err(TicketError::Invalid(_))), "{bad}");
        }
        let long = "x".repeat(MAX_TICKET_LEN + 1);
        assert_eq!(StreamTicket::decode(&long), Err(TicketError::TooLong(MAX_TICKET_LEN + 1)));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,300}") {
            let _ = StreamTicket::decode(&text);
        }
    }
}
