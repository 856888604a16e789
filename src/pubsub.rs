//! The shared shape of presence strategies over pub/sub relays (MQTT brokers, Nostr relays):
//! presence on the room topic, offers and answers on the recipient's peer topic. A transport
//! session (how one relay protocol connects, subscribes and publishes) plugs in below.

use crate::signaling::{peer_topic, PeerMessage, SealedOffer, Topic, Topics};
use crate::strategy::{Context, Discovery, RelayData, RelayFault, RelayId, Strategy};
use crate::time::Instant;

/// What one pub/sub relay protocol does, as a sans-IO session per relay connection.
pub trait PubSubTransport {
    /// WebSocket subprotocols to request.
    fn protocols(&self) -> &'static [&'static str];

    /// `relay`'s connection opened: connect and subscribe to the room topic and our own topic,
    /// then report [`Context::ready`] once subscribed.
    fn on_open(&mut self, relay: RelayId, cx: &mut Context<'_>);

    /// `relay`'s connection closed.
    fn on_close(&mut self, relay: RelayId);

    /// A message from `relay`: the publications it carries on our topics, or why the connection
    /// must end.
    fn on_message(
        &mut self,
        relay: RelayId,
        data: RelayData,
        cx: &mut Context<'_>,
    ) -> Result<Vec<(Topic, Vec<u8>)>, RelayFault>;

    /// Publishes `payload` on `topic` through `relays` (each, if subscribed), or every subscribed
    /// relay when `None`.
    fn publish(&mut self, relays: Option<&[RelayId]>, topic: &str, payload: &str, cx: &mut Context<'_>);

    /// Says goodbye on every open relay.
    fn leave(&mut self, cx: &mut Context<'_>);

    /// When the transport next needs [`PubSubTransport::handle_timeout`] (keep-alives).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Time passed: send what is due.
    fn handle_timeout(&mut self, _cx: &mut Context<'_>) {}
}

/// A presence strategy over a pub/sub transport.
pub struct PubSubStrategy<T> {
    self_id: String,
    topics: Topics,
    transport: T,
}

impl<T: PubSubTransport> PubSubStrategy<T> {
    /// Signaling for peer `self_id` with presence on `topics.room`, over `transport`.
    pub fn new(self_id: String, topics: Topics, transport: T) -> Self {
        Self { self_id, topics, transport }
    }

    fn publish_to_peer(&mut self, to: &str, message: PeerMessage, cx: &mut Context<'_>) {
        self.transport.publish(None, &peer_topic(&self.topics.room, to), &message.encode(), cx);
    }

    /// Hands a message received on `topic` to the room, dropping our own echoes and, with a
    /// warning, anything unreadable or on the wrong topic.
    fn deliver(&self, topic: Topic, payload: &[u8], cx: &mut Context<'_>) {
        match PeerMessage::decode(payload) {
            Err(e) => cx.warn(e.to_string()),
            Ok(message) if message.sender() == self.self_id => {}
            Ok(message) if message.belongs_on(topic) => cx.signal(message.into()),
            Ok(_) => cx.warn(format!("ignored a relay message on the wrong topic ({topic:?})")),
        }
    }
}

impl<T: PubSubTransport> Strategy for PubSubStrategy<T> {
    fn protocols(&self) -> &'static [&'static str] {
        self.transport.protocols()
    }

    fn discovery(&self) -> Discovery {
        Discovery::Presence
    }

    fn on_open(&mut self, relay: RelayId, cx: &mut Context<'_>) {
        self.transport.on_open(relay, cx);
    }

    fn on_close(&mut self, relay: RelayId) {
        self.transport.on_close(relay);
    }

    fn on_message(&mut self, relay: RelayId, data: RelayData, cx: &mut Context<'_>) -> Result<(), RelayFault> {
        for (topic, payload) in self.transport.on_message(relay, data, cx)? {
            self.deliver(topic, &payload, cx);
        }
        Ok(())
    }

    fn announce(&mut self, relays: &[RelayId], _offers: Vec<SealedOffer>, proof: &str, cx: &mut Context<'_>) {
        let presence = PeerMessage::Presence { from: self.self_id.clone(), proof: proof.to_owned() };
        self.transport.publish(Some(relays), &self.topics.room, &presence.encode(), cx);
    }

    fn send_offer(&mut self, to: &str, offer: SealedOffer, cx: &mut Context<'_>) {
        let SealedOffer { offer_id, sealed_sdp } = offer;
        self.publish_to_peer(to, PeerMessage::Offer { from: self.self_id.clone(), offer_id, sealed_sdp }, cx);
    }

    fn send_answer(&mut self, to: &str, offer_id: &str, sealed_sdp: &str, cx: &mut Context<'_>) {
        let (offer_id, sealed_sdp) = (offer_id.to_owned(), sealed_sdp.to_owned());
        self.publish_to_peer(to, PeerMessage::Answer { from: self.self_id.clone(), offer_id, sealed_sdp }, cx);
    }

    fn carries_candidates(&self) -> bool {
        true
    }

    fn send_candidate(&mut self, to: &str, offer_id: &str, sealed: &str, cx: &mut Context<'_>) {
        let (offer_id, sealed) = (offer_id.to_owned(), sealed.to_owned());
        self.publish_to_peer(to, PeerMessage::Candidate { from: self.self_id.clone(), offer_id, sealed }, cx);
    }

    fn leave(&mut self, cx: &mut Context<'_>) {
        self.transport.leave(cx);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.transport.poll_timeout()
    }

    fn handle_timeout(&mut self, cx: &mut Context<'_>) {
        self.transport.handle_timeout(cx);
    }
}
