//! The MQTT transport in the browser: one [`RelaySocket`] per broker.
//!
//! Per connection: CONNECT, then on CONNACK SUBSCRIBE to the room topic and our peer topic, then
//! on SUBACK announce. PINGREQ keeps the connection alive; DISCONNECT on leave.

use crate::packet::{self, Decoder, Packet};
use crate::{DEFAULT_RELAY_REDUNDANCY, DEFAULT_RELAY_URLS};
use gloo_timers::callback::Interval;
use rendez_core::ids::random_bytes;
use rendez_core::signaling::{room_topic, PeerMessage, SignalEvent, Topics};
use rendez_core::web::bindings::{self, Room};
use rendez_core::web::pubsub::{deliver, PubSub, PubSubStrategy};
use rendez_core::web::relay_socket::{RelaySocket, Reply, SocketEvent};
use rendez_core::web::strategy::{SignalSink, StrategyContext};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Keep-alive announced in CONNECT; PINGREQ goes out at half of it.
const KEEP_ALIVE_SECS: u16 = 60;
const SUBSCRIBE_PACKET_ID: u16 = 1;

/// The public relays used when the app names none.
#[wasm_bindgen(js_name = defaultRelayUrls)]
pub fn default_relay_urls() -> js_sys::Array {
    bindings::relay_url_list(DEFAULT_RELAY_URLS)
}

/// Joins `roomId` through MQTT brokers.
#[wasm_bindgen(js_name = joinRoom)]
pub fn join_room(config: JsValue, room_id: String, callbacks: JsValue) -> Result<Room, JsError> {
    bindings::join_room(&config, &room_id, &callbacks, DEFAULT_RELAY_URLS, DEFAULT_RELAY_REDUNDANCY, |ctx| {
        let room_topic = format!("rendez/{}", room_topic("mqtt", &ctx.app_id, &ctx.room_id));
        Box::new(PubSubStrategy::new(&ctx, room_topic.clone(), Mqtt::start(&ctx, room_topic)))
    })
}

struct Broker {
    decoder: RefCell<Decoder>,
    subscribed: Cell<bool>,
}

struct Shared {
    self_id: String,
    topics: Topics,
    sink: SignalSink,
    brokers: Vec<Broker>,
}

struct Mqtt {
    shared: Rc<Shared>,
    sockets: Rc<Vec<RelaySocket>>,
    _keep_alive: Interval,
}

impl Mqtt {
    fn start(ctx: &StrategyContext, room_topic: String) -> Self {
        let shared = Rc::new(Shared {
            topics: Topics::new(room_topic, &ctx.self_id),
            self_id: ctx.self_id.clone(),
            sink: ctx.sink.clone(),
            brokers: ctx
                .relay_urls
                .iter()
                .map(|_| Broker { decoder: RefCell::default(), subscribed: Cell::new(false) })
                .collect(),
        });
        let sockets = Rc::new(RelaySocket::connect_all(&ctx.relay_urls, &["mqtt"], &shared, on_socket_event));
        let pinged = sockets.clone();
        let keep_alive = Interval::new(u32::from(KEEP_ALIVE_SECS) * 500, move || {
            for socket in pinged.iter() {
                socket.send_bytes(&packet::pingreq());
            }
        });
        Self { shared, sockets, _keep_alive: keep_alive }
    }
}

impl PubSub for Mqtt {
    fn publish(&self, topic: &str, message: &PeerMessage) {
        let bytes = packet::publish(topic, message.encode().as_bytes());
        for (socket, broker) in self.sockets.iter().zip(&self.shared.brokers) {
            if broker.subscribed.get() {
                socket.send_bytes(&bytes);
            }
        }
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
}

/// An MQTT client id: 22 hex digits (within MQTT 3.1.1's 23-character guarantee).
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
                let topics = [shared.topics.room.as_str(), shared.topics.own.as_str()];
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
            Packet::Publish { topic, payload } => {
                let Some(topic) = shared.topics.classify(&topic) else { continue };
                deliver(&shared.sink, &shared.self_id, topic, &payload);
            }
            Packet::PingResp | Packet::Other(_) => {}
        }
    }
    Ok(())
}
