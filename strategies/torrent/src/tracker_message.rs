//! WebTorrent tracker messages (JSON over WebSocket), as spoken by `bittorrent-tracker`.
//!
//! Outgoing: `announce` with a pool of offers, `announce` carrying an answer to one peer, and
//! `announce` with `event: "stopped"`. Incoming: relayed offers and answers, the tracker's
//! announce response, failures and warnings.

use rendez_core::signaling::SealedOffer;
use serde::Deserialize;
use serde_json::json;
use std::fmt;

/// Longest tracker message accepted, in bytes.
pub const MAX_MESSAGE_LEN: usize = 256 * 1024;

/// The announce event field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnounceEvent {
    Started,
    Update,
}

/// A decoded tracker message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Offer {
        from: String,
        offer_id: String,
        sealed_sdp: String,
    },
    Answer {
        from: String,
        offer_id: String,
        sealed_sdp: String,
    },
    /// The tracker acknowledged an announce, with its re-announce periods (s) and the swarm's
    /// size (`complete` + `incomplete`) when given.
    Announced {
        interval: Option<u64>,
        min_interval: Option<u64>,
        swarm_size: Option<u64>,
    },
    Failure(String),
    Warning(String),
}

/// Why a tracker message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrackerError {
    TooLong(usize),
    NotJson(String),
    /// A message about another swarm (another room sharing the socket, or a confused relay).
    ForeignSwarm,
    /// Valid JSON, but not a message this client understands.
    Unrecognised,
}

impl fmt::Display for TrackerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong(n) => write!(f, "tracker message of {n} bytes is too long"),
            Self::NotJson(e) => write!(f, "tracker message is not valid JSON: {e}"),
            Self::ForeignSwarm => f.write_str("tracker message is for another swarm"),
            Self::Unrecognised => f.write_str("tracker message is not recognised"),
        }
    }
}

impl std::error::Error for TrackerError {}

/// An announce publishing `offers` (possibly none) to the swarm.
pub fn encode_announce(info_hash: &str, peer_id: &str, offers: &[SealedOffer], event: AnnounceEvent) -> String {
    let offers: Vec<_> = offers
        .iter()
        .map(|o| json!({"offer_id": o.offer_id, "offer": {"type": "offer", "sdp": o.sealed_sdp}}))
        .collect();
    let event = match event {
        AnnounceEvent::Started => "started",
        AnnounceEvent::Update => "update",
    };
    json!({
        "action": "announce", "info_hash": info_hash, "peer_id": peer_id,
        "numwant": offers.len(), "uploaded": 0, "downloaded": 0, "left": 1,
        "event": event, "offers": offers,
    })
    .to_string()
}

/// An announce carrying our answer to `to_peer_id`'s offer `offer_id`.
pub fn encode_answer(info_hash: &str, peer_id: &str, to_peer_id: &str, offer_id: &str, sealed_sdp: &str) -> String {
    json!({
        "action": "announce", "info_hash": info_hash, "peer_id": peer_id,
        "to_peer_id": to_peer_id, "offer_id": offer_id,
        "answer": {"type": "answer", "sdp": sealed_sdp},
    })
    .to_string()
}

/// The announce that leaves the swarm.
pub fn encode_stopped(info_hash: &str, peer_id: &str) -> String {
    json!({
        "action": "announce", "info_hash": info_hash, "peer_id": peer_id,
        "numwant": 0, "uploaded": 0, "downloaded": 0, "left": 1, "event": "stopped",
    })
    .to_string()
}

#[derive(Deserialize)]
struct Raw {
    action: Option<String>,
    info_hash: Option<String>,
    peer_id: Option<String>,
    offer_id: Option<String>,
    offer: Option<Description>,
    answer: Option<Description>,
    interval: Option<u64>,
    #[serde(rename = "min interval")]
    min_interval: Option<u64>,
    complete: Option<u64>,
    incomplete: Option<u64>,
    #[serde(rename = "failure reason")]
    failure: Option<String>,
    #[serde(rename = "warning message")]
    warning: Option<String>,
}

#[derive(Deserialize)]
struct Description {
    sdp: String,
}

/// Decodes a message received on a socket joined to the swarm `info_hash`.
pub fn decode(text: &str, info_hash: &str) -> Result<Incoming, TrackerError> {
    if text.len() > MAX_MESSAGE_LEN {
        return Err(TrackerError::TooLong(text.len()));
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| TrackerError::NotJson(e.to_string()))?;
    if let Some(reason) = raw.failure {
        return Ok(Incoming::Failure(reason));
    }
    if raw.info_hash.as_deref().is_some_and(|h| h != info_hash) {
        return Err(TrackerError::ForeignSwarm);
    }
    if let Some(warning) = raw.warning {
        return Ok(Incoming::Warning(warning));
    }
    if raw.action.as_deref() != Some("announce") {
        return Err(TrackerError::Unrecognised);
    }
    let relayed = |d: Description| -> Result<(String, String, String), TrackerError> {
        match (raw.peer_id.clone(), raw.offer_id.clone()) {
            (Some(from), Some(offer_id)) => Ok((from, offer_id, d.sdp)),
            _ => Err(TrackerError::Unrecognised),
        }
    };
    if let Some(offer) = raw.offer {
        let (from, offer_id, sealed_sdp) = relayed(offer)?;
        return Ok(Incoming::Offer { from, offer_id, sealed_sdp });
    }
    if let Some(answer) = raw.answer {
        let (from, offer_id, sealed_sdp) = relayed(answer)?;
        return Ok(Incoming::Answer { from, offer_id, sealed_sdp });
    }
    let swarm_size = match (raw.complete, raw.incomplete) {
        (None, None) => None,
        (complete, incomplete) => Some(complete.unwrap_or(0).saturating_add(incomplete.unwrap_or(0))),
    };
    Ok(Incoming::Announced { interval: raw.interval, min_interval: raw.min_interval, swarm_size })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    const HASH: &str = "\u{1}\u{ff}aaaaaaaaaaaaaaaaaa";

    #[test]
    fn announce_matches_the_tracker_protocol() {
        let offers = [SealedOffer { offer_id: "o1".into(), sealed_sdp: "S".into() }];
        let v: Value = serde_json::from_str(&encode_announce(HASH, "P", &offers, AnnounceEvent::Started)).unwrap();
        assert_eq!(v["action"], "announce");
        assert_eq!(v["info_hash"], HASH);
        assert_eq!(v["numwant"], 1);
        assert_eq!(v["event"], "started");
        assert_eq!(v["offers"][0]["offer"]["sdp"], "S");
        assert_eq!(v["offers"][0]["offer_id"], "o1");
    }

    #[test]
    fn answer_names_its_recipient() {
        let v: Value = serde_json::from_str(&encode_answer(HASH, "P", "Q", "o1", "S")).unwrap();
        assert_eq!(v["to_peer_id"], "Q");
        assert_eq!(v["answer"]["type"], "answer");
        let v: Value = serde_json::from_str(&encode_stopped(HASH, "P")).unwrap();
        assert_eq!(v["event"], "stopped");
    }

    #[test]
    fn relayed_offers_and_answers_decode() {
        let offer = json!({"action":"announce","info_hash":HASH,"peer_id":"A","offer_id":"o","offer":{"type":"offer","sdp":"S"}});
        assert_eq!(
            decode(&offer.to_string(), HASH),
            Ok(Incoming::Offer { from: "A".into(), offer_id: "o".into(), sealed_sdp: "S".into() })
        );
        let answer = json!({"action":"announce","info_hash":HASH,"peer_id":"B","offer_id":"o","answer":{"type":"answer","sdp":"T"}});
        assert_eq!(
            decode(&answer.to_string(), HASH),
            Ok(Incoming::Answer { from: "B".into(), offer_id: "o".into(), sealed_sdp: "T".into() })
        );
        let response = json!({"action":"announce","info_hash":HASH,"interval":120,"complete":0,"incomplete":2});
        let announced = Incoming::Announced { interval: Some(120), min_interval: None, swarm_size: Some(2) };
        assert_eq!(decode(&response.to_string(), HASH), Ok(announced));
        let bare = json!({"action":"announce","info_hash":HASH,"min interval":30});
        let announced = Incoming::Announced { interval: None, min_interval: Some(30), swarm_size: None };
        assert_eq!(decode(&bare.to_string(), HASH), Ok(announced));
    }

    #[test]
    fn failures_foreign_swarms_and_garbage_are_told_apart() {
        assert_eq!(decode(r#"{"failure reason":"bad"}"#, HASH), Ok(Incoming::Failure("bad".into())));
        let other = json!({"action":"announce","info_hash":"x","peer_id":"A","offer_id":"o","offer":{"sdp":"S"}});
        assert_eq!(decode(&other.to_string(), HASH), Err(TrackerError::ForeignSwarm));
        assert!(matches!(decode("{", HASH), Err(TrackerError::NotJson(_))));
        assert_eq!(decode(r#"{"action":"scrape"}"#, HASH), Err(TrackerError::Unrecognised));
        let no_peer = json!({"action":"announce","info_hash":HASH,"offer_id":"o","offer":{"sdp":"S"}});
        assert_eq!(decode(&no_peer.to_string(), HASH), Err(TrackerError::Unrecognised));
        assert!(matches!(decode(&" ".repeat(MAX_MESSAGE_LEN + 1), HASH), Err(TrackerError::TooLong(_))));
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = decode(&s, HASH);
        }
    }
}
