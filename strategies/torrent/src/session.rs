//! The tracker session: one WebTorrent tracker connection per relay, as a sans-IO state machine.
//!
//! Per connection: an announce with `event: "started"` and no offers; the tracker's response
//! makes the connection ready, and the room's announcements follow as `update`s carrying offers.
//! Relayed offers and answers go to the room; our answers go back through the tracker that
//! relayed the offer.

use crate::info_hash::info_hash;
use crate::tracker_message::{
    decode, encode_announce, encode_answer, encode_stopped, AnnounceEvent, Incoming, TrackerError,
};
use rendez_core::collections::Map;
use rendez_core::signaling::{SealedOffer, SignalEvent};
use rendez_core::strategy::{
    AnnounceHints, Context, Discovery, RelayData, RelayFault, RelayId, Strategy, StrategyConfig,
    MAX_SENT_RELAY_MESSAGE_LEN,
};
use std::time::Duration;

/// Offers published per announce, spread over the trackers announced to.
pub const OFFER_POOL_SIZE: usize = 10;
/// Longest announce period taken from a tracker (an hour); longer ones are read as this.
const MAX_INTERVAL_SECS: u64 = 3600;
/// Offer routes remembered for answering; older ones are forgotten past this many.
const MAX_ROUTES: usize = 256;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Tracker {
    #[default]
    Closed,
    /// Connected; our `started` announce is unanswered.
    Starting,
    /// The tracker answered: announcements reach the swarm.
    Ready,
}

/// Signaling through WebTorrent trackers.
pub struct TrackerSession {
    info_hash: String,
    self_id: String,
    trackers: Vec<Tracker>,
    /// Which tracker relayed each offer we may answer.
    routes: Map<String, RelayId>,
}

impl TrackerSession {
    pub fn new(config: &StrategyConfig) -> Self {
        Self {
            info_hash: info_hash(&config.app_id, &config.room_id),
            self_id: config.self_id.clone(),
            trackers: vec![Tracker::Closed; config.relay_count],
            routes: Map::default(),
        }
    }

    /// Update announces carrying `offers`, in order, as few as fit within
    /// [`MAX_SENT_RELAY_MESSAGE_LEN`] each; an offer too large for an announce of its own is left
    /// out, with a warning.
    fn announces(&self, offers: &[SealedOffer], cx: &mut Context<'_>) -> Vec<String> {
        let encode =
            |offers: &[SealedOffer]| encode_announce(&self.info_hash, &self.self_id, offers, AnnounceEvent::Update);
        let mut messages = Vec::new();
        let mut start = 0;
        while start < offers.len() {
            let mut fitting = None;
            let mut end = start;
            while end < offers.len() {
                let message = encode(&offers[start..=end]);
                if message.len() > MAX_SENT_RELAY_MESSAGE_LEN {
                    break;
                }
                fitting = Some(message);
                end += 1;
            }
            match fitting {
                Some(message) => messages.push(message),
                None => {
                    let len = encode(&offers[start..=start]).len();
                    cx.warn(format!(
                        "an offer makes a tracker message of {len} bytes, over the {MAX_SENT_RELAY_MESSAGE_LEN} trackers take; it was left out"
                    ));
                    end = start + 1;
                }
            }
            start = end;
        }
        if messages.is_empty() {
            messages.push(encode(&[]));
        }
        messages
    }

    fn open(&self) -> impl Iterator<Item = RelayId> + '_ {
        self.trackers.iter().enumerate().filter(|(_, t)| **t != Tracker::Closed).map(|(i, _)| RelayId(i))
    }
}

impl Strategy for TrackerSession {
    fn protocols(&self) -> &'static [&'static str] {
        &[]
    }

    fn discovery(&self) -> Discovery {
        Discovery::OfferPool { size: OFFER_POOL_SIZE }
    }

    fn on_open(&mut self, relay: RelayId, cx: &mut Context<'_>) {
        self.trackers[relay.0] = Tracker::Starting;
        let started = encode_announce(&self.info_hash, &self.self_id, &[], AnnounceEvent::Started);
        cx.send(relay, RelayData::Text(started));
    }

    fn on_close(&mut self, relay: RelayId) {
        self.trackers[relay.0] = Tracker::Closed;
    }

    fn on_message(&mut self, relay: RelayId, data: RelayData, cx: &mut Context<'_>) -> Result<(), RelayFault> {
        let RelayData::Text(text) = data else {
            cx.warn("tracker sent a binary message".to_owned());
            return Ok(());
        };
        match decode(&text, &self.info_hash) {
            Ok(Incoming::Offer { from, offer_id, sealed_sdp }) => {
                if self.routes.len() >= MAX_ROUTES {
                    self.routes.clear();
                }
                self.routes.insert(offer_id.clone(), relay);
                cx.signal(SignalEvent::Offer { from, offer_id, sealed_sdp });
            }
            Ok(Incoming::Answer { from, offer_id, sealed_sdp }) => {
                cx.signal(SignalEvent::Answer { from, offer_id, sealed_sdp });
            }
            Ok(Incoming::Announced { interval, min_interval, swarm_size }) => {
                let secs = |s: Option<u64>| s.map(|s| Duration::from_secs(s.min(MAX_INTERVAL_SECS)));
                cx.hints(
                    relay,
                    AnnounceHints { interval: secs(interval), min_interval: secs(min_interval), swarm_size },
                );
                if std::mem::replace(&mut self.trackers[relay.0], Tracker::Ready) == Tracker::Starting {
                    cx.ready(relay);
                }
            }
            Ok(Incoming::Failure(reason)) if self.trackers[relay.0] == Tracker::Starting => {
                return Err(RelayFault(format!("tracker refused us: {reason}")));
            }
            Ok(Incoming::Failure(reason)) => cx.warn(format!("tracker refused a request: {reason}")),
            Ok(Incoming::Warning(message)) => cx.warn(format!("tracker warning: {message}")),
            Err(TrackerError::ForeignSwarm) => {}
            Err(e) => cx.warn(e.to_string()),
        }
        Ok(())
    }

    fn announce(&mut self, relays: &[RelayId], offers: Vec<SealedOffer>, _proof: &str, cx: &mut Context<'_>) {
        if relays.is_empty() {
            return;
        }
        let per_tracker = offers.len().div_ceil(relays.len()).max(1);
        let mut batches = offers.chunks(per_tracker);
        for &relay in relays {
            for message in self.announces(batches.next().unwrap_or(&[]), cx) {
                cx.send(relay, RelayData::Text(message));
            }
        }
    }

    fn send_offer(&mut self, _to: &str, _offer: SealedOffer, _cx: &mut Context<'_>) {}

    fn send_answer(&mut self, to: &str, offer_id: &str, sealed_sdp: &str, cx: &mut Context<'_>) {
        let message = encode_answer(&self.info_hash, &self.self_id, to, offer_id, sealed_sdp);
        let route = self.routes.remove(offer_id).filter(|r| self.trackers[r.0] != Tracker::Closed);
        let relays: Vec<RelayId> = route.map_or_else(|| self.open().collect(), |r| vec![r]);
        for relay in relays {
            cx.send(relay, RelayData::Text(message.clone()));
        }
    }

    fn leave(&mut self, cx: &mut Context<'_>) {
        let message = encode_stopped(&self.info_hash, &self.self_id);
        let open: Vec<RelayId> = self.open().collect();
        for relay in open {
            cx.send(relay, RelayData::Text(message.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rendez_core::random::Random;
    use rendez_core::strategy::StrategyOutput;
    use rendez_core::time::{Instant, WallClock};
    use serde_json::{json, Value};
    use std::collections::VecDeque;

    fn session() -> TrackerSession {
        TrackerSession::new(&StrategyConfig {
            app_id: "app".into(),
            room_id: "room".into(),
            self_id: "P".repeat(20),
            relay_count: 2,
        })
    }

    fn run(
        f: impl FnOnce(&mut Context<'_>) -> Result<(), RelayFault>,
    ) -> (Result<(), RelayFault>, Vec<StrategyOutput>) {
        let (mut random, mut out) = (Random::seeded(1), VecDeque::new());
        let result = f(&mut Context::new(Instant::ZERO, WallClock::default(), &mut random, &mut out));
        (result, out.into())
    }

    fn sent_json(outputs: &[StrategyOutput]) -> Vec<(usize, Value)> {
        outputs
            .iter()
            .filter_map(|o| match o {
                StrategyOutput::Send { relay, data: RelayData::Text(t) } => {
                    Some((relay.0, serde_json::from_str(t).unwrap()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_tracker_is_ready_once_it_answers_the_started_announce() {
        let mut s = session();
        let hash = s.info_hash.clone();
        let (_, out) = run(|cx| {
            s.on_open(RelayId(1), cx);
            Ok(())
        });
        let sent = sent_json(&out);
        assert_eq!((sent[0].0, &sent[0].1["event"], &sent[0].1["numwant"]), (1, &json!("started"), &json!(0)));
        let response =
            json!({"action": "announce", "info_hash": hash, "interval": 120, "complete": 1, "incomplete": 2})
                .to_string();
        let hints = StrategyOutput::Hints(
            RelayId(1),
            AnnounceHints { interval: Some(Duration::from_secs(120)), min_interval: None, swarm_size: Some(3) },
        );
        let (_, out) = run(|cx| s.on_message(RelayId(1), RelayData::Text(response.clone()), cx));
        assert_eq!(out, vec![hints.clone(), StrategyOutput::Ready(RelayId(1))]);
        let (_, out) = run(|cx| s.on_message(RelayId(1), RelayData::Text(response), cx));
        assert_eq!(out, vec![hints], "ready once per connection; the hints with every response");
    }

    #[test]
    fn a_refusal_before_ready_ends_the_connection_and_after_is_a_warning() {
        let mut s = session();
        let refusal = RelayData::Text(json!({"failure reason": "swarm full"}).to_string());
        let (result, _) = run(|cx| {
            s.on_open(RelayId(0), cx);
            s.on_message(RelayId(0), refusal.clone(), cx)
        });
        assert_eq!(result, Err(RelayFault("tracker refused us: swarm full".into())));
        s.trackers[0] = Tracker::Ready;
        let (result, out) = run(|cx| s.on_message(RelayId(0), refusal, cx));
        assert_eq!(result, Ok(()));
        assert!(matches!(&out[..], [StrategyOutput::Warning(w)] if w.contains("swarm full")));
    }

    #[test]
    fn offers_are_spread_over_the_trackers_and_answers_follow_their_offer() {
        let mut s = session();
        s.trackers = vec![Tracker::Ready, Tracker::Ready];
        let offers: Vec<SealedOffer> =
            (0..3).map(|i| SealedOffer { offer_id: format!("o{i}"), sealed_sdp: "S".into() }).collect();
        let (_, out) = run(|cx| {
            s.announce(&[RelayId(0), RelayId(1)], offers, "", cx);
            Ok(())
        });
        let sent = sent_json(&out);
        assert_eq!(sent.iter().map(|(_, v)| v["offers"].as_array().unwrap().len()).collect::<Vec<_>>(), [2, 1]);
        assert!(sent.iter().all(|(_, v)| v["event"] == "update"));
        let offer =
            json!({"action":"announce","info_hash":s.info_hash,"peer_id":"A","offer_id":"x","offer":{"sdp":"S"}});
        assert_eq!(run(|cx| s.on_message(RelayId(1), RelayData::Text(offer.to_string()), cx)).0, Ok(()));
        let (_, out) = run(|cx| {
            s.send_answer("A", "x", "T", cx);
            Ok(())
        });
        assert_eq!(sent_json(&out).iter().map(|(r, _)| *r).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn announces_stay_within_what_trackers_take() {
        let mut s = session();
        let offer = |i: usize, len: usize| SealedOffer { offer_id: format!("o{i}"), sealed_sdp: "S".repeat(len) };
        // Ten offers of 3,000 bytes (many ICE candidates) to one tracker, and one no announce holds.
        let mut offers: Vec<SealedOffer> = (0..10).map(|i| offer(i, 3000)).collect();
        offers.insert(4, offer(99, MAX_SENT_RELAY_MESSAGE_LEN));
        let (_, out) = run(|cx| {
            s.announce(&[RelayId(0)], offers, "", cx);
            Ok(())
        });
        let lens: Vec<usize> = out
            .iter()
            .filter_map(|o| match o {
                StrategyOutput::Send { data: RelayData::Text(t), .. } => Some(t.len()),
                _ => None,
            })
            .collect();
        assert!(lens.len() > 1 && lens.iter().all(|&len| len <= MAX_SENT_RELAY_MESSAGE_LEN), "{lens:?}");
        let ids: Vec<String> = sent_json(&out)
            .iter()
            .flat_map(|(_, v)| {
                v["offers"].as_array().unwrap().iter().map(|o| o["offer_id"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(ids, (0..10).map(|i| format!("o{i}")).collect::<Vec<_>>(), "every offer that fits, in order");
        assert!(out.iter().any(|o| matches!(o, StrategyOutput::Warning(w) if w.contains("left out"))));
    }
}
