//! The MQTT session: one MQTT 3.1.1 connection per broker, as a sans-IO state machine.
//!
//! Per connection: CONNECT, then on CONNACK SUBSCRIBE to the room topic and our peer topic; the
//! SUBACK makes the connection ready. PUBLISHes go out paced ([`PACE`] per broker). PINGREQ
//! every half keep-alive; DISCONNECT on leave. A refused CONNACK or SUBACK, or an unreadable
//! stream, ends the connection.

use crate::packet::{self, Decoder, Packet};
use rendez_core::pacer::{Pace, Pacer};
use rendez_core::pubsub::PubSubTransport;
use rendez_core::signaling::{Topic, Topics};
use rendez_core::strategy::{Context, RelayData, RelayFault, RelayId};
use rendez_core::time::Instant;
use std::time::Duration;

/// Keep-alive announced in CONNECT (long, to spare brokers in settled rooms); PINGREQ goes out at
/// half of it.
pub const KEEP_ALIVE_SECS: u16 = 240;
const PING_PERIOD: Duration = Duration::from_secs(KEEP_ALIVE_SECS as u64 / 2);
const SUBSCRIBE_PACKET_ID: u16 = 1;
/// How fast PUBLISHes go to one broker.
pub const PACE: Pace = Pace { burst: 16, per_second: 8 };

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    #[default]
    Closed,
    Connecting,
    Subscribing,
    Subscribed,
}

#[derive(Default)]
struct Broker {
    state: State,
    decoder: Decoder,
}

/// MQTT as a pub/sub transport.
pub struct MqttSession {
    topics: Topics,
    brokers: Vec<Broker>,
    next_ping: Option<Instant>,
    pacer: Pacer,
}

impl MqttSession {
    /// A session subscribing to `topics` on `relay_count` brokers.
    pub fn new(topics: Topics, relay_count: usize) -> Self {
        let brokers = (0..relay_count).map(|_| Broker::default()).collect();
        Self { topics, brokers, next_ping: None, pacer: Pacer::new(relay_count, PACE) }
    }

    fn connected(&self) -> impl Iterator<Item = RelayId> + '_ {
        self.brokers.iter().enumerate().filter(|(_, b)| b.state != State::Closed).map(|(i, _)| RelayId(i))
    }
}

/// An MQTT client id: 22 hex digits (within MQTT 3.1.1's 23-character guarantee).
fn client_id(cx: &mut Context<'_>) -> String {
    let mut bytes = [0u8; 11];
    cx.random.fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl PubSubTransport for MqttSession {
    fn protocols(&self) -> &'static [&'static str] {
        &["mqtt"]
    }

    fn on_open(&mut self, relay: RelayId, cx: &mut Context<'_>) {
        self.brokers[relay.0] = Broker { state: State::Connecting, decoder: Decoder::default() };
        self.next_ping.get_or_insert(cx.now + PING_PERIOD);
        let connect = packet::connect(&client_id(cx), KEEP_ALIVE_SECS);
        cx.send(relay, RelayData::Binary(connect));
    }

    fn on_close(&mut self, relay: RelayId) {
        self.brokers[relay.0] = Broker::default();
        self.pacer.clear(relay);
        if self.connected().next().is_none() {
            self.next_ping = None;
        }
    }

    fn on_message(
        &mut self,
        relay: RelayId,
        data: RelayData,
        cx: &mut Context<'_>,
    ) -> Result<Vec<(Topic, Vec<u8>)>, RelayFault> {
        let RelayData::Binary(bytes) = data else {
            return Err(RelayFault("broker sent a text message".into()));
        };
        let broker = &mut self.brokers[relay.0];
        let packets = broker.decoder.push(&bytes).map_err(|e| RelayFault(e.to_string()))?;
        let mut delivered = Vec::new();
        for packet in packets {
            match packet {
                Packet::ConnAck { code: 0 } => {
                    broker.state = State::Subscribing;
                    let topics = [self.topics.room.as_str(), self.topics.own.as_str()];
                    cx.send(relay, RelayData::Binary(packet::subscribe(SUBSCRIBE_PACKET_ID, &topics)));
                }
                Packet::ConnAck { code } => {
                    return Err(RelayFault(format!("broker refused the connection (code {code})")))
                }
                Packet::SubAck { codes, .. } if codes.contains(&0x80) => {
                    return Err(RelayFault("broker refused the subscription".into()))
                }
                Packet::SubAck { .. } => {
                    if std::mem::replace(&mut broker.state, State::Subscribed) == State::Subscribing {
                        cx.ready(relay);
                    }
                }
                Packet::Publish { topic, payload } => {
                    if let Some(topic) = self.topics.classify(&topic) {
                        delivered.push((topic, payload));
                    }
                }
                Packet::PingResp | Packet::Other(_) => {}
            }
        }
        Ok(delivered)
    }

    fn publish(&mut self, relays: Option<&[RelayId]>, topic: &str, payload: &str, cx: &mut Context<'_>) {
        let bytes = packet::publish(topic, payload.as_bytes());
        let to: Vec<RelayId> = (0..self.brokers.len())
            .map(RelayId)
            .filter(|&relay| relays.is_none_or(|relays| relays.contains(&relay)))
            .filter(|&relay| self.brokers[relay.0].state == State::Subscribed)
            .collect();
        self.pacer.send(&to, RelayData::Binary(bytes), cx);
    }

    fn leave(&mut self, cx: &mut Context<'_>) {
        let connected: Vec<RelayId> = self.connected().collect();
        for relay in connected {
            cx.send(relay, RelayData::Binary(packet::disconnect()));
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.next_ping, self.pacer.next_deadline()].into_iter().flatten().min()
    }

    fn handle_timeout(&mut self, cx: &mut Context<'_>) {
        self.pacer.flush(cx);
        if self.next_ping.is_none_or(|at| at > cx.now) {
            return;
        }
        self.next_ping = Some(cx.now + PING_PERIOD);
        let connected: Vec<RelayId> = self.connected().collect();
        for relay in connected {
            cx.send(relay, RelayData::Binary(packet::pingreq()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rendez_core::random::Random;
    use rendez_core::strategy::StrategyOutput;
    use rendez_core::time::WallClock;
    use std::collections::VecDeque;

    fn run<T>(f: impl FnOnce(&mut Context<'_>) -> T) -> (T, Vec<StrategyOutput>) {
        let (mut random, mut out) = (Random::seeded(1), VecDeque::new());
        let result = f(&mut Context::new(Instant::ZERO, WallClock::default(), &mut random, &mut out));
        (result, out.into())
    }

    fn session() -> MqttSession {
        MqttSession::new(Topics::new("rendez/t".into(), "me"), 1)
    }

    #[test]
    fn connect_subscribe_then_ready() {
        let mut s = session();
        let (_, out) = run(|cx| s.on_open(RelayId(0), cx));
        assert!(matches!(&out[..], [StrategyOutput::Send { data: RelayData::Binary(b), .. }] if b[0] == 0x10));
        let (result, out) = run(|cx| s.on_message(RelayId(0), RelayData::Binary(vec![0x20, 2, 0, 0]), cx));
        assert_eq!(result, Ok(vec![]));
        assert!(matches!(&out[..], [StrategyOutput::Send { data: RelayData::Binary(b), .. }] if b[0] == 0x82));
        let (_, out) = run(|cx| s.on_message(RelayId(0), RelayData::Binary(vec![0x90, 3, 0, 1, 0]), cx));
        assert_eq!(out, vec![StrategyOutput::Ready(RelayId(0))]);
        let publish = packet::publish("rendez/t/me", b"{}");
        assert_eq!(
            run(|cx| s.on_message(RelayId(0), RelayData::Binary(publish), cx)).0,
            Ok(vec![(Topic::Own, b"{}".to_vec())])
        );
    }

    #[test]
    fn refusals_end_the_connection() {
        let mut s = session();
        run(|cx| s.on_open(RelayId(0), cx));
        let (result, _) = run(|cx| s.on_message(RelayId(0), RelayData::Binary(vec![0x20, 2, 0, 5]), cx));
        assert_eq!(result, Err(RelayFault("broker refused the connection (code 5)".into())));
        run(|cx| s.on_open(RelayId(0), cx));
        run(|cx| s.on_message(RelayId(0), RelayData::Binary(vec![0x20, 2, 0, 0]), cx)).0.unwrap();
        let (result, _) = run(|cx| s.on_message(RelayId(0), RelayData::Binary(vec![0x90, 3, 0, 1, 0x80]), cx));
        assert_eq!(result, Err(RelayFault("broker refused the subscription".into())));
    }

    #[test]
    fn keep_alive_pings_every_half_keep_alive_while_connected() {
        let mut s = session();
        run(|cx| s.on_open(RelayId(0), cx));
        assert_eq!(s.poll_timeout(), Some(Instant::ZERO + PING_PERIOD));
        let (mut random, mut out) = (Random::seeded(1), VecDeque::new());
        s.handle_timeout(&mut Context::new(Instant::ZERO + PING_PERIOD, WallClock::default(), &mut random, &mut out));
        assert!(
            matches!(&out.make_contiguous()[..], [StrategyOutput::Send { data: RelayData::Binary(b), .. }] if b[0] == 0xc0)
        );
        s.on_close(RelayId(0));
        assert_eq!(s.poll_timeout(), None);
    }
}
