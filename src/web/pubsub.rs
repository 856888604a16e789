//! The shared shape of presence strategies over pub/sub relays (MQTT brokers, Nostr relays):
//! presence on the room topic, offers and answers on the recipient's peer topic.

use super::console::warn;
use super::strategy::{DirectOffers, SignalSink, Strategy, StrategyContext};
use crate::signaling::{peer_topic, PeerMessage, SealedOffer, Topic};

/// What a pub/sub transport does; [`PubSubStrategy`] adds the signaling on top.
pub trait PubSub {
    /// Publishes `message` on `topic` through every relay that is ready.
    fn publish(&self, topic: &str, message: &PeerMessage);
    /// The relay connections by URL (`None` while one is reconnecting).
    fn relay_sockets(&self) -> Vec<(String, Option<web_sys::WebSocket>)>;
    /// Says goodbye to the relays and closes them for good.
    fn leave(&self);
}

/// A presence strategy over a pub/sub transport.
pub struct PubSubStrategy<T> {
    self_id: String,
    room_topic: String,
    presence_proof: String,
    transport: T,
}

impl<T: PubSub> PubSubStrategy<T> {
    /// Signaling for the room `ctx` describes over `transport`, with presence on `room_topic`.
    pub fn new(ctx: &StrategyContext, room_topic: String, transport: T) -> Self {
        Self { self_id: ctx.self_id.clone(), room_topic, presence_proof: ctx.presence_proof.clone(), transport }
    }

    fn to_peer(&self, to: &str, message: PeerMessage) {
        self.transport.publish(&peer_topic(&self.room_topic, to), &message);
    }
}

impl<T: PubSub> Strategy for PubSubStrategy<T> {
    fn offer_pool_size(&self) -> usize {
        0
    }

    fn announce(&self, _offers: Vec<SealedOffer>) {
        let presence = PeerMessage::Presence { from: self.self_id.clone(), proof: self.presence_proof.clone() };
        self.transport.publish(&self.room_topic, &presence);
    }

    fn send_answer(&self, to: &str, offer_id: &str, sealed_sdp: &str) {
        let (offer_id, sealed_sdp) = (offer_id.to_owned(), sealed_sdp.to_owned());
        self.to_peer(to, PeerMessage::Answer { from: self.self_id.clone(), offer_id, sealed_sdp });
    }

    fn relay_sockets(&self) -> Vec<(String, Option<web_sys::WebSocket>)> {
        self.transport.relay_sockets()
    }

    fn leave(&self) {
        self.transport.leave();
    }

    fn direct(&self) -> Option<&dyn DirectOffers> {
        Some(self)
    }
}

impl<T: PubSub> DirectOffers for PubSubStrategy<T> {
    fn send_offer(&self, to: &str, offer_id: &str, sealed_sdp: &str) {
        let (offer_id, sealed_sdp) = (offer_id.to_owned(), sealed_sdp.to_owned());
        self.to_peer(to, PeerMessage::Offer { from: self.self_id.clone(), offer_id, sealed_sdp });
    }
}

/// Hands a message received on `topic` to the room, dropping our own echoes and, with a
/// warning, anything unreadable or on the wrong topic.
pub fn deliver(sink: &SignalSink, self_id: &str, topic: Topic, payload: &[u8]) {
    match PeerMessage::decode(payload) {
        Err(e) => warn(&e.to_string()),
        Ok(message) if message.sender() == self_id => {}
        Ok(message) if message.belongs_on(topic) => sink(message.into()),
        Ok(_) => warn(&format!("ignored a relay message on the wrong topic ({topic:?})")),
    }
}
