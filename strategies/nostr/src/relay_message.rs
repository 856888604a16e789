//! NIP-01 client↔relay messages: `EVENT`, `REQ`, `CLOSE` out; `EVENT`, `OK`, `EOSE`, `CLOSED`,
//! `NOTICE` in.

use crate::event::Event;
use serde_json::{json, Value};
use std::fmt;

/// Longest relay message accepted, in bytes.
pub const MAX_MESSAGE_LEN: usize = 256 * 1024;

/// A message from a relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayMessage {
    Event {
        subscription: String,
        event: Event,
    },
    Ok {
        event_id: String,
        accepted: bool,
        message: String,
    },
    EndOfStoredEvents {
        subscription: String,
    },
    Closed {
        subscription: String,
        message: String,
    },
    Notice(String),
    /// A message type this client does not use (e.g. `AUTH`, `COUNT`).
    Other(String),
}

/// Why a relay message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelayError {
    TooLong(usize),
    Invalid(String),
}

impl fmt::Display for RelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong(n) => write!(f, "relay message of {n} bytes is too long"),
            Self::Invalid(e) => write!(f, "relay message is invalid: {e}"),
        }
    }
}

impl std::error::Error for RelayError {}

/// `["EVENT", event]`.
pub fn encode_event(event: &Event) -> String {
    json!(["EVENT", event]).to_string()
}

/// `["REQ", subscription, {"kinds": [kind], "#x": topics, "since": since}]`.
pub fn encode_req(subscription: &str, kind: u32, tag: char, topics: &[&str], since: u64) -> String {
    let mut filter = serde_json::Map::new();
    filter.insert("kinds".into(), json!([kind]));
    filter.insert(format!("#{tag}"), json!(topics));
    filter.insert("since".into(), json!(since));
    json!(["REQ", subscription, filter]).to_string()
}

/// `["CLOSE", subscription]`.
pub fn encode_close(subscription: &str) -> String {
    json!(["CLOSE", subscription]).to_string()
}

/// Decodes a relay message.
pub fn decode(text: &str) -> Result<RelayMessage, RelayError> {
    if text.len() > MAX_MESSAGE_LEN {
        return Err(RelayError::TooLong(text.len()));
    }
    let invalid = |why: &str| RelayError::Invalid(why.to_owned());
    let value: Value = serde_json::from_str(text).map_err(|e| RelayError::Invalid(e.to_string()))?;
    let items = value.as_array().ok_or_else(|| invalid("not an array"))?;
    let text_at = |i: usize| items.get(i).and_then(Value::as_str).map(str::to_owned);
    let kind = text_at(0).ok_or_else(|| invalid("no message type"))?;
    match kind.as_str() {
        "EVENT" => {
            let subscription = text_at(1).ok_or_else(|| invalid("EVENT without subscription"))?;
            let event = items.get(2).cloned().ok_or_else(|| invalid("EVENT without event"))?;
            let event = serde_json::from_value(event).map_err(|e| RelayError::Invalid(e.to_string()))?;
            Ok(RelayMessage::Event { subscription, event })
        }
        "OK" => Ok(RelayMessage::Ok {
            event_id: text_at(1).ok_or_else(|| invalid("OK without event id"))?,
            accepted: items.get(2).and_then(Value::as_bool).ok_or_else(|| invalid("OK without verdict"))?,
            message: text_at(3).unwrap_or_default(),
        }),
        "EOSE" => Ok(RelayMessage::EndOfStoredEvents {
            subscription: text_at(1).ok_or_else(|| invalid("EOSE without subscription"))?,
        }),
        "CLOSED" => Ok(RelayMessage::Closed {
            subscription: text_at(1).ok_or_else(|| invalid("CLOSED without subscription"))?,
            message: text_at(2).unwrap_or_default(),
        }),
        "NOTICE" => Ok(RelayMessage::Notice(text_at(1).unwrap_or_default())),
        other => Ok(RelayMessage::Other(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Keys;
    use proptest::prelude::*;
    use rendez_core::random::Random;

    #[test]
    fn requests_follow_nip01() {
        let req: Value = serde_json::from_str(&encode_req("s1", 29_371, 'x', &["a", "b"], 100)).unwrap();
        assert_eq!(req, json!(["REQ", "s1", {"kinds": [29_371], "#x": ["a", "b"], "since": 100}]));
        assert_eq!(encode_close("s1"), r#"["CLOSE","s1"]"#);
        let event = Keys::generate(&mut Random::os()).sign(&mut Random::os(), 5, 29_371, vec![], "hi".into());
        let sent: Value = serde_json::from_str(&encode_event(&event)).unwrap();
        assert_eq!(sent[0], "EVENT");
        assert_eq!(sent[1]["sig"], event.sig.as_str());
    }

    #[test]
    fn relay_messages_decode() {
        let event = Keys::generate(&mut Random::os()).sign(&mut Random::os(), 5, 29_371, vec![], "hi".into());
        let text = json!(["EVENT", "s1", event]).to_string();
        assert_eq!(decode(&text), Ok(RelayMessage::Event { subscription: "s1".into(), event }));
        assert_eq!(
            decode(r#"["OK","abc",false,"invalid: signature is wrong"]"#),
            Ok(RelayMessage::Ok {
                event_id: "abc".into(),
                accepted: false,
                message: "invalid: signature is wrong".into()
            })
        );
        assert_eq!(decode(r#"["EOSE","s1"]"#), Ok(RelayMessage::EndOfStoredEvents { subscription: "s1".into() }));
        assert_eq!(
            decode(r#"["CLOSED","s1","error: shutting down"]"#),
            Ok(RelayMessage::Closed { subscription: "s1".into(), message: "error: shutting down".into() })
        );
        assert_eq!(decode(r#"["NOTICE","slow down"]"#), Ok(RelayMessage::Notice("slow down".into())));
        assert_eq!(decode(r#"["AUTH","challenge"]"#), Ok(RelayMessage::Other("AUTH".into())));
    }

    #[test]
    fn malformed_messages_are_errors() {
        for text in
            ["", "{}", "[]", "[1]", r#"["EVENT","s"]"#, r#"["EVENT","s",{"id":1}]"#, r#"["OK","id"]"#, r#"["EOSE"]"#]
        {
            assert!(matches!(decode(text), Err(RelayError::Invalid(_))), "{text}");
        }
        assert!(matches!(decode(&" ".repeat(MAX_MESSAGE_LEN + 1)), Err(RelayError::TooLong(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = decode(&s);
        }
    }
}
