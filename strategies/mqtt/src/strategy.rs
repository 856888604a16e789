//! The MQTT strategy in the browser: one [`RelaySocket`] per broker.
//!
//! Per connection: CONNECT, then on CONNACK SUBSCRIBE to the room topic and our peer topic, then
//! on SUBACK announce. PINGREQ keeps the connection alive; DISCONNECT on leave.

use crate::packet::{self, Decoder, Packet};
use crate::{DEFAULT_RELAY_REDUNDANCY, DEFAULT_RELAY_URLS};
use gloo_timers::callback::Interval;
use rendez_core::ids::random_bytes;
use rendez_core::signaling::{room_topic, PeerMessage, SealedOffer, SignalEvent};
use rendez_core::web::bindings::{self, Room};
use rendez_core::web::console::warn;
use rendez_core::web::relay_socket::{RelaySocket, Reply, SocketEvent};
use rendez_core::web::strategy::{DirectOffers, SignalSink, Strategy, StrategyContext};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Keep-alive announced in CONNECT; PINGREQ goes out at half of it.
const KEEP_ALIVE_SECS: u16 = 60;
const SUBSCRIBE_PACKET_ID: u16 = 1;

/// Joins `roomId` through MQTT brokers.
#[wasm_bindgen(js_name = joinRoom)]
pub fn join_room(config: JsValue, room_id: String) -> Result<Room, JsError> {
    bindings::join_room(&config, &room_id, DEFAULT_RELAY_URLS, DEFAULT_RELAY_REDUNDANCY, |ctx| {
        Box::new(MqttStrategy::start(ctx))
    })
}

struct Broker {
    decoder: RefCell<Decoder>,
    subscribed: Cell<bool>,
}

struct Shared {
    self_id: String,
    room_topic: String,
    self_topic: String,
    sink: SignalSink,
    brokers: Vec<Broker>,
}

struct MqttStrategy {
    shared: Rc<Shared>,
    sockets: Rc<Vec<RelaySocket>>,
    _keep_alive: Interval,
}

impl MqttStrategy {
    fn start(ctx: StrategyContext) -> Self {
        let room_topic = format!("rendez/{}", room_topic("mqtt", &ctx.app_id, &ctx.room_id));
        let shared = Rc::new(Shared {
            self_topic: format!("{room_topic}/{}", ctx.self_id),
            room_topic,
            self_id: ctx.self_id,
            sink: ctx.sink,
            brokers: ctx
                .relay_urls
                .iter()
                .map(|_| Broker { decoder: RefCell::default(), subscribed: Cell::new(false) })
                .collect(),
        });
        let sockets: Rc<Vec<RelaySocket>> = Rc::new(
            ctx.relay_urls
                .iter()
                .enumerate()
                .map(|(index, url)| {
                    let shared = shared.clone();
                    RelaySocket::connect(url, &["mqtt"], move |reply, event| {
                        on_socket_event(&shared, index, reply, event)
                    })
                })
                .collect(),
        );
        let pinged = sockets.clone();
        let keep_alive = Interval::new(u32::from(KEEP_ALIVE_SECS) * 500, move || {
            for socket in pinged.iter() {
                socket.send_bytes(&packet::pingreq());
            }
        });
        Self { shared, sockets, _keep_alive: keep_alive }
    }

    /// Publishes `message` on `topic` through every broker we are subscribed on.
    fn publish(&self, topic: &str, message: &PeerMessage) {
        let bytes = packet::publish(topic, message.encode().as_bytes());
        for (socket, broker) in self.sockets.iter().zip(&self.shared.brokers) {
            if broker.subscribed.get() {
                socket.send_bytes(&bytes);
            }
        }
    }
}

fn client_id() -> String {
    let mut bytes = [0u8; 11];
    random_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn on_socket_event(shared: &Shared, index: usize, reply: &Reply, event: SocketEvent) -> Result<(), String> {
    let broker = &shared.brokers[index];
    let bytes = match event {
        SocketEvent::Open => {
            broker.subscribed.set(false);
            *broker.decoder.borrow_mut() = Decoder::default();
            reply.send_bytes(&packet::connect(&client_id(), KEEP_ALIVE_SECS));
            return Ok(());
        }
        SocketEvent::Message(_) => return Err("broker sent a text message".into()),
        SocketEvent::Binary(bytes) => bytes,
    };
    let packets = broker.decoder.borrow_mut().push(&bytes).map_err(|e| e.to_string())?;
    for packet in packets {
        match packet {
            Packet::ConnAck { code: 0 } => {
                let topics = [shared.room_topic.as_str(), shared.self_topic.as_str()];
                reply.send_bytes(&packet::subscribe(SUBSCRIBE_PACKET_ID, &topics));
            }
            Packet::ConnAck { code } => return Err(format!("broker refused the connection (code {code})")),
            Packet::SubAck { codes, .. } if codes.contains(&0x80) => {
                return Err("broker refused the subscription".into())
            }
            Packet::SubAck { .. } => {
                broker.subscribed.set(true);
                (shared.sink)(SignalEvent::RelayReady);
            }
            Packet::Publish { topic, payload } => on_publish(shared, &topic, &payload),
            Packet::PingResp | Packet::Other(_) => {}
        }
    }
    Ok(())
}

fn on_publish(shared: &Shared, topic: &str, payload: &[u8]) {
    let message = match PeerMessage::decode(payload) {
        Ok(message) => message,
        Err(e) => return warn(&e.to_string()),
    };
    if message.sender() == shared.self_id {
        return;
    }
    let expected = match message {
        PeerMessage::Presence { .. } => topic == shared.room_topic,
        PeerMessage::Offer { .. } | PeerMessage::Answer { .. } => topic == shared.self_topic,
    };
    if expected {
        (shared.sink)(message.into());
    } else {
        warn(&format!("ignored a relay message on the wrong topic {topic}"));
    }
}

impl Strategy for MqttStrategy {
    fn offer_pool_size(&self) -> usize {
        0
    }

    fn announce(&self, _offers: Vec<SealedOffer>) {
        self.publish(&self.shared.room_topic, &PeerMessage::Presence { from: self.shared.self_id.clone() });
    }

    fn send_answer(&self, to: &str, offer_id: &str, sealed_sdp: &str) {
        let message = PeerMessage::Answer {
            from: self.shared.self_id.clone(),
            offer_id: offer_id.to_owned(),
            sealed_sdp: sealed_sdp.to_owned(),
        };
        self.publish(&format!("{}/{to}", self.shared.room_topic), &message);
    }

    fn relay_sockets(&self) -> Vec<(String, Option<web_sys::WebSocket>)> {
        self.sockets.iter().map(|s| (s.url().to_owned(), s.web_socket())).collect()
    }

    fn leave(&self) {
        for socket in self.sockets.iter() {
            socket.send_bytes(&packet::disconnect());
            socket.close();
        }
    }

    fn direct(&self) -> Option<&dyn DirectOffers> {
        Some(self)
    }
}

impl DirectOffers for MqttStrategy {
    fn send_offer(&self, to: &str, offer_id: &str, sealed_sdp: &str) {
        let message = PeerMessage::Offer {
            from: self.shared.self_id.clone(),
            offer_id: offer_id.to_owned(),
            sealed_sdp: sealed_sdp.to_owned(),
        };
        self.publish(&format!("{}/{to}", self.shared.room_topic), &message);
    }
}
