//! The Nostr session: one NIP-01 subscription per relay, as a sans-IO state machine.
//!
//! Per connection: REQ for our event kind tagged with the room topic or our peer topic; EOSE
//! makes the connection ready. Events we publish are ephemeral (kind 20000–29999), signed with
//! the session key, so relays forward them without storing them. Incoming events are verified
//! (id and signature) before use. A relay that closes our subscription ends the connection.
//! Events go out paced ([`PACE`]: a burst, then a few per second per relay, under the rate limits
//! public relays apply). A relay that refuses an event (`OK false`, e.g. `rate-limited:`) or
//! sends a `NOTICE` gets nothing from us for [`FIRST_QUIET`], doubling with each further refusal
//! up to [`MAX_QUIET`], until it accepts one again (warned once per spell; refusals of events sent
//! before the pause began do not lengthen it; the pause outlives reconnections): the other relays
//! carry the room meanwhile, and while none can, what is published waits for the pause to end
//! (see [`Pacer`]), and an event refused as `rate-limited:` is sent again after the pause, first
//! (we keep the last [`MAX_RETAINED`] events for this), so signaling is delayed, not lost.

use crate::event::Keys;
use crate::relay_message::{decode, encode_close, encode_event, encode_req, RelayMessage};
use crate::{EVENT_KIND, TOPIC_TAG};
use rendez_core::pacer::{Pace, Pacer};
use rendez_core::pubsub::PubSubTransport;
use rendez_core::random::Random;
use rendez_core::signaling::{Topic, Topics};
use rendez_core::strategy::{Context, RelayData, RelayFault, RelayId};
use rendez_core::time::Instant;
use std::collections::VecDeque;
use std::time::Duration;

/// How long a relay that refused us first gets no events.
pub const FIRST_QUIET: Duration = Duration::from_secs(2);
/// The longest pause after refusals.
pub const MAX_QUIET: Duration = Duration::from_secs(5 * 60);
/// How fast events go to one relay.
pub const PACE: Pace = Pace { burst: 5, per_second: 4 };
/// Events kept after publishing, to send again where a relay refused them as rate-limited.
pub const MAX_RETAINED: usize = 32;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Closed,
    Subscribing,
    Subscribed,
}

/// Nostr as a pub/sub transport.
pub struct NostrSession {
    keys: Keys,
    topics: Topics,
    subscription: String,
    relays: Vec<State>,
    /// Per relay: refusals in a row.
    refusals: Vec<u32>,
    pacer: Pacer,
    /// The last events published (id, when, text), newest last.
    retained: VecDeque<(String, Instant, RelayData)>,
}

impl NostrSession {
    /// A session with a fresh key, subscribing to `topics` on `relay_count` relays.
    pub fn new(topics: Topics, relay_count: usize, random: &mut Random) -> Self {
        Self {
            keys: Keys::generate(random),
            topics,
            subscription: random.id(16),
            relays: vec![State::Closed; relay_count],
            refusals: vec![0; relay_count],
            pacer: Pacer::new(relay_count, PACE),
            retained: VecDeque::with_capacity(MAX_RETAINED),
        }
    }

    /// `relay` refused event `event_id` (`why`): a rate-limited one is sent again after the pause
    /// unless another relay took it (one that is subscribed and not held quiet).
    fn refused_event(&mut self, relay: RelayId, event_id: &str, why: &str, cx: &mut Context<'_>) {
        self.refused(relay, why, cx);
        if self.carried_elsewhere(relay, cx.now) || !why.starts_with("rate-limited") {
            return;
        }
        if let Some((_, queued, data)) = self.retained.iter().find(|(id, ..)| id == event_id) {
            self.pacer.retry(relay, data.clone(), *queued, cx.now);
        }
    }

    /// Whether `relay` is subscribed and not held quiet, so it carries what we publish.
    fn carries(&self, relay: RelayId, now: Instant) -> bool {
        self.relays[relay.0] == State::Subscribed && !self.pacer.is_held(relay, now)
    }

    /// Whether a relay other than `relay` carries what we publish.
    fn carried_elsewhere(&self, relay: RelayId, now: Instant) -> bool {
        (0..self.relays.len()).map(RelayId).any(|other| other != relay && self.carries(other, now))
    }

    /// `relay` refused what we sent (`why`): it gets nothing for a while, longer each time (what
    /// waited for it is dropped when another relay carries the room).
    fn refused(&mut self, relay: RelayId, why: &str, cx: &mut Context<'_>) {
        if self.pacer.is_held(relay, cx.now) {
            return;
        }
        let Some(refusals) = self.refusals.get_mut(relay.0) else { return };
        *refusals = refusals.saturating_add(1);
        let refusals = *refusals;
        let pause = FIRST_QUIET.saturating_mul(1 << (refusals - 1).min(16)).min(MAX_QUIET);
        self.pacer.hold(relay, cx.now + pause);
        if self.carried_elsewhere(relay, cx.now) {
            self.pacer.clear(relay);
        }
        if refusals == 1 {
            cx.warn(format!(
                "a Nostr relay refused us ({why}); it gets no events for {} s, doubling while it refuses",
                pause.as_secs()
            ));
        }
    }
}

impl PubSubTransport for NostrSession {
    fn protocols(&self) -> &'static [&'static str] {
        &[]
    }

    fn on_open(&mut self, relay: RelayId, cx: &mut Context<'_>) {
        self.relays[relay.0] = State::Subscribing;
        let topics = [self.topics.room.as_str(), self.topics.own.as_str()];
        let req = encode_req(&self.subscription, EVENT_KIND, TOPIC_TAG, &topics, cx.unix_secs());
        cx.send(relay, RelayData::Text(req));
    }

    fn on_close(&mut self, relay: RelayId) {
        self.relays[relay.0] = State::Closed;
        self.pacer.clear(relay);
    }

    fn on_message(
        &mut self,
        relay: RelayId,
        data: RelayData,
        cx: &mut Context<'_>,
    ) -> Result<Vec<(Topic, Vec<u8>)>, RelayFault> {
        let RelayData::Text(text) = data else {
            return Err(RelayFault("relay sent a binary message".into()));
        };
        match decode(&text) {
            Err(e) => cx.warn(e.to_string()),
            Ok(RelayMessage::Event { subscription, event }) if subscription == self.subscription => {
                // Relays that do not apply tag filters to live events send other rooms' traffic
                // too: only events on our topics are verified and used, the rest is ignored quietly.
                let topic = event.tag(&TOPIC_TAG.to_string()).and_then(|t| self.topics.classify(t));
                match topic.filter(|_| event.kind == EVENT_KIND).map(|topic| (topic, event.verify())) {
                    Some((topic, Ok(()))) => return Ok(vec![(topic, event.content.into_bytes())]),
                    Some((_, Err(e))) => cx.warn(format!("dropped a relayed event: {e}")),
                    None => {}
                }
            }
            Ok(RelayMessage::EndOfStoredEvents { subscription }) if subscription == self.subscription => {
                if std::mem::replace(&mut self.relays[relay.0], State::Subscribed) == State::Subscribing {
                    cx.ready(relay);
                }
            }
            Ok(RelayMessage::Closed { subscription, message }) if subscription == self.subscription => {
                return Err(RelayFault(format!("relay closed our subscription ({message})")));
            }
            Ok(RelayMessage::Ok { accepted: false, event_id, message }) => {
                self.refused_event(relay, &event_id, &message, cx)
            }
            Ok(RelayMessage::Ok { accepted: true, .. }) => {
                if let Some(refusals) = self.refusals.get_mut(relay.0) {
                    *refusals = 0;
                }
            }
            Ok(RelayMessage::Notice(message)) => self.refused(relay, &format!("notice: {message}"), cx),
            Ok(_) => {}
        }
        Ok(Vec::new())
    }

    fn publish(&mut self, relays: Option<&[RelayId]>, topic: &str, payload: &str, cx: &mut Context<'_>) {
        let tags = vec![vec![TOPIC_TAG.to_string(), topic.to_owned()]];
        let unix = cx.unix_secs();
        let event = self.keys.sign(cx.random, unix, EVENT_KIND, tags, payload.to_owned());
        let data = RelayData::Text(encode_event(&event));
        let now = cx.now;
        let subscribed: Vec<RelayId> = (0..self.relays.len())
            .map(RelayId)
            .filter(|&relay| relays.is_none_or(|relays| relays.contains(&relay)))
            .filter(|&relay| self.relays[relay.0] == State::Subscribed)
            .collect();
        // Relays held quiet get it only if no other can take it: then it waits for them.
        let free: Vec<RelayId> = subscribed.iter().copied().filter(|&relay| self.carries(relay, now)).collect();
        let to = if free.is_empty() { subscribed } else { free };
        if self.retained.len() == MAX_RETAINED {
            self.retained.pop_front();
        }
        self.retained.push_back((event.id, now, data.clone()));
        self.pacer.send(&to, data, cx);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.pacer.next_deadline()
    }

    fn handle_timeout(&mut self, cx: &mut Context<'_>) {
        self.pacer.flush(cx);
    }

    fn leave(&mut self, cx: &mut Context<'_>) {
        let close = encode_close(&self.subscription);
        for (index, state) in self.relays.iter().enumerate() {
            if *state != State::Closed {
                cx.send(RelayId(index), RelayData::Text(close.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rendez_core::strategy::StrategyOutput;
    use rendez_core::time::{Instant, WallClock};
    use serde_json::json;
    use std::collections::VecDeque;

    fn run<T>(f: impl FnOnce(&mut Context<'_>) -> T) -> (T, Vec<StrategyOutput>) {
        let (mut random, mut out) = (Random::seeded(1), VecDeque::new());
        let clock = WallClock { origin_unix_ms: 1_700_000_000_000 };
        let result = f(&mut Context::new(Instant::ZERO, clock, &mut random, &mut out));
        (result, out.into())
    }

    fn text(value: serde_json::Value) -> RelayData {
        RelayData::Text(value.to_string())
    }

    /// Runs `f` on `s` at `millis` ms, returning what it output.
    fn at(
        millis: u64,
        s: &mut NostrSession,
        f: impl FnOnce(&mut NostrSession, &mut Context<'_>),
    ) -> Vec<StrategyOutput> {
        let (mut random, mut out) = (Random::seeded(1), VecDeque::new());
        f(s, &mut Context::new(Instant::from_micros(millis * 1000), WallClock::default(), &mut random, &mut out));
        out.into()
    }

    /// The relays `out` sends to, in order.
    fn to(out: &[StrategyOutput]) -> Vec<usize> {
        out.iter()
            .filter_map(|o| if let StrategyOutput::Send { relay, .. } = o { Some(relay.0) } else { None })
            .collect()
    }

    #[test]
    fn subscribe_then_ready_then_verified_events_on_our_topics() {
        let mut s = NostrSession::new(Topics::new("room".into(), "me"), 1, &mut Random::seeded(2));
        let (_, out) = run(|cx| s.on_open(RelayId(0), cx));
        assert!(
            matches!(&out[..], [StrategyOutput::Send { data: RelayData::Text(t), .. }] if t.starts_with(r#"["REQ""#))
        );
        let sub = s.subscription.clone();
        let (_, out) = run(|cx| s.on_message(RelayId(0), text(json!(["EOSE", sub])), cx));
        assert_eq!(out, vec![StrategyOutput::Ready(RelayId(0))]);
        let other = Keys::generate(&mut Random::seeded(3));
        let event =
            other.sign(&mut Random::seeded(4), 1, EVENT_KIND, vec![vec!["x".into(), "room".into()]], "{}".into());
        let (delivered, _) = run(|cx| s.on_message(RelayId(0), text(json!(["EVENT", sub, event])), cx));
        assert_eq!(delivered, Ok(vec![(Topic::Room, b"{}".to_vec())]));
        let mut forged = event.clone();
        forged.content = "{\"x\":1}".into();
        let (delivered, out) = run(|cx| s.on_message(RelayId(0), text(json!(["EVENT", sub, forged])), cx));
        assert_eq!(delivered, Ok(vec![]));
        assert!(matches!(&out[..], [StrategyOutput::Warning(w)] if w.contains("dropped a relayed event")));
        let (result, _) = run(|cx| s.on_message(RelayId(0), text(json!(["CLOSED", sub, "rate-limited"])), cx));
        assert_eq!(result, Err(RelayFault("relay closed our subscription (rate-limited)".into())));
    }

    #[test]
    fn publishes_go_to_subscribed_relays_only() {
        let mut s = NostrSession::new(Topics::new("room".into(), "me"), 2, &mut Random::seeded(2));
        s.relays = vec![State::Subscribed, State::Subscribing];
        let (_, out) = run(|cx| s.publish(None, "room", "{}", cx));
        assert!(matches!(&out[..], [StrategyOutput::Send { relay: RelayId(0), .. }]));
    }

    #[test]
    fn a_relay_that_refuses_gets_nothing_for_ever_longer_until_it_accepts_again() {
        let mut s = NostrSession::new(Topics::new("room".into(), "me"), 2, &mut Random::seeded(2));
        s.relays = vec![State::Subscribed, State::Subscribed];
        let refusal = || text(json!(["OK", "e", false, "rate-limited: slow down"]));
        let at = |secs: u64, s: &mut NostrSession, f: &mut dyn FnMut(&mut NostrSession, &mut Context<'_>)| {
            at(secs * 1000, s, f)
        };
        let mut publish = |s: &mut NostrSession, cx: &mut Context<'_>| s.publish(None, "room", "{}", cx);
        let out = at(0, &mut s, &mut |s, cx| drop(s.on_message(RelayId(0), refusal(), cx)));
        assert!(matches!(&out[..], [StrategyOutput::Warning(w)] if w.contains("rate-limited") && w.contains("2 s")));
        assert_eq!(to(&at(1, &mut s, &mut publish)), [1], "quiet for 2 s");
        assert_eq!(s.poll_timeout(), None, "nothing waits for the quiet relay");
        assert_eq!(to(&at(2, &mut s, &mut publish)), [0, 1]);
        let out = at(2, &mut s, &mut |s, cx| drop(s.on_message(RelayId(0), text(json!(["NOTICE", "too fast"])), cx)));
        assert!(out.is_empty(), "warned once per spell");
        at(3, &mut s, &mut |s, cx| drop(s.on_message(RelayId(0), refusal(), cx)));
        assert_eq!(to(&at(5, &mut s, &mut publish)), [1], "quiet for 4 s after the second refusal, not longer");
        assert_eq!(to(&at(6, &mut s, &mut publish)), [0, 1]);
        at(6, &mut s, &mut |s, cx| drop(s.on_message(RelayId(0), text(json!(["OK", "e", true, ""])), cx)));
        at(6, &mut s, &mut |s, cx| drop(s.on_message(RelayId(0), refusal(), cx)));
        assert_eq!(to(&at(8, &mut s, &mut publish)), [0, 1], "an accepted event starts the doubling over");
    }

    #[test]
    fn with_one_relay_a_rate_limited_event_and_what_follows_wait_out_the_pause_instead_of_being_lost() {
        let mut s = NostrSession::new(Topics::new("room".into(), "me"), 1, &mut Random::seeded(2));
        s.relays = vec![State::Subscribed];
        let sent = |out: &[StrategyOutput]| -> Vec<String> {
            out.iter()
                .filter_map(|o| match o {
                    StrategyOutput::Send { data: RelayData::Text(t), .. } => Some(t.clone()),
                    _ => None,
                })
                .collect()
        };
        let answer = sent(&at(0, &mut s, |s, cx| s.publish(None, "peer", "answer", cx)));
        let id = s.retained.back().map(|(id, ..)| id.clone()).unwrap();
        let refusal = text(json!(["OK", id, false, "rate-limited: slow down"]));
        at(10, &mut s, |s, cx| drop(s.on_message(RelayId(0), refusal, cx)));
        assert!(sent(&at(500, &mut s, |s, cx| s.publish(None, "room", "later", cx))).is_empty(), "quiet");
        assert_eq!(s.poll_timeout(), Some(Instant::from_micros(2_010_000)), "waits for the pause to end");
        let resent = sent(&at(2010, &mut s, |s, cx| s.handle_timeout(cx)));
        assert_eq!(resent, answer, "the refused event goes first, alone");
        let rest = sent(&at(2260, &mut s, |s, cx| s.handle_timeout(cx)));
        assert!(matches!(&rest[..], [later] if later.contains("later")), "{rest:?}");
        let blocked = text(json!(["OK", id, false, "blocked: not on the list"]));
        at(2300, &mut s, |s, cx| drop(s.on_message(RelayId(0), blocked, cx)));
        assert_eq!(s.poll_timeout(), None, "only rate-limited events are sent again");
    }

    #[test]
    fn what_waited_for_a_refusing_relay_is_dropped_when_another_relay_carries_it() {
        let mut s = NostrSession::new(Topics::new("room".into(), "me"), 2, &mut Random::seeded(2));
        s.relays = vec![State::Subscribed, State::Subscribed];
        run(|cx| (0..=PACE.burst).for_each(|_| s.publish(None, "room", "{}", cx)));
        let refusal = text(json!(["OK", "e", false, "rate-limited: slow down"]));
        run(|cx| drop(s.on_message(RelayId(0), refusal, cx)));
        let later = at(FIRST_QUIET.as_millis() as u64, &mut s, |s, cx| s.handle_timeout(cx));
        assert_eq!(to(&later), [1], "the held relay's queue went with the refusal");
    }

    #[test]
    fn events_go_out_paced() {
        let mut s = NostrSession::new(Topics::new("room".into(), "me"), 1, &mut Random::seeded(2));
        s.relays = vec![State::Subscribed];
        let (_, out) = run(|cx| (0..PACE.burst + 2).for_each(|_| s.publish(None, "room", "{}", cx)));
        assert_eq!(out.len(), PACE.burst as usize, "a burst, then the rest waits");
        assert_eq!(s.poll_timeout(), Some(Instant::ZERO + Duration::from_secs(1) / PACE.per_second));
    }
}
