//! The Nostr transport in the browser: one [`RelaySocket`] per relay.
//!
//! Per connection: REQ for our event kind tagged with the room topic or our peer topic; on EOSE
//! announce. Events we publish are ephemeral (kind 20000–29999), so relays forward them without
//! storing them. Incoming events are verified (id and signature) before use.

use crate::event::Keys;
use crate::relay_message::{decode, encode_event, encode_req, RelayMessage};
use crate::{DEFAULT_RELAY_REDUNDANCY, DEFAULT_RELAY_URLS, EVENT_KIND, TOPIC_TAG};
use rendez_core::ids::random_id;
use rendez_core::signaling::{room_topic, PeerMessage, SignalEvent, Topics};
use rendez_core::web::bindings::{self, Room};
use rendez_core::web::console::warn;
use rendez_core::web::pubsub::{deliver, PubSub, PubSubStrategy};
use rendez_core::web::relay_socket::{RelaySocket, Reply, SocketEvent};
use rendez_core::web::strategy::{SignalSink, StrategyContext};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// The public relays used when the app names none.
#[wasm_bindgen(js_name = defaultRelayUrls)]
pub fn default_relay_urls() -> js_sys::Array {
    bindings::relay_url_list(DEFAULT_RELAY_URLS)
}

/// Joins `roomId` through Nostr relays.
#[wasm_bindgen(js_name = joinRoom)]
pub fn join_room(config: JsValue, room_id: String, callbacks: JsValue) -> Result<Room, JsError> {
    bindings::join_room(&config, &room_id, &callbacks, DEFAULT_RELAY_URLS, DEFAULT_RELAY_REDUNDANCY, |ctx| {
        let room_topic = room_topic("nostr", &ctx.app_id, &ctx.room_id);
        Box::new(PubSubStrategy::new(&ctx, room_topic.clone(), Nostr::start(&ctx, room_topic)))
    })
}

struct Shared {
    keys: Keys,
    self_id: String,
    topics: Topics,
    subscription: String,
    sink: SignalSink,
    subscribed: Vec<Cell<bool>>,
}

struct Nostr {
    shared: Rc<Shared>,
    sockets: Vec<RelaySocket>,
}

impl Nostr {
    fn start(ctx: &StrategyContext, room_topic: String) -> Self {
        let shared = Rc::new(Shared {
            keys: Keys::generate(),
            topics: Topics::new(room_topic, &ctx.self_id),
            self_id: ctx.self_id.clone(),
            subscription: random_id(16),
            sink: ctx.sink.clone(),
            subscribed: ctx.relay_urls.iter().map(|_| Cell::new(false)).collect(),
        });
        let sockets = RelaySocket::connect_all(&ctx.relay_urls, &[], &shared, on_socket_event);
        Self { shared, sockets }
    }
}

fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

impl PubSub for Nostr {
    fn publish(&self, topic: &str, message: &PeerMessage) {
        let tags = vec![vec![TOPIC_TAG.to_string(), topic.to_owned()]];
        let event = self.shared.keys.sign(now_secs(), EVENT_KIND, tags, message.encode());
        let text = encode_event(&event);
        for (socket, subscribed) in self.sockets.iter().zip(&self.shared.subscribed) {
            if subscribed.get() {
                socket.send(&text);
            }
        }
    }

    fn relay_sockets(&self) -> Vec<(String, Option<web_sys::WebSocket>)> {
        self.sockets.iter().map(|s| (s.url().to_owned(), s.web_socket())).collect()
    }

    fn leave(&self) {
        let close = crate::relay_message::encode_close(&self.shared.subscription);
        for socket in &self.sockets {
            socket.send(&close);
            socket.close();
        }
    }
}

fn on_socket_event(shared: &Shared, index: usize, reply: &Reply, event: SocketEvent) -> Result<(), String> {
    let text = match event {
        SocketEvent::Open => {
            shared.subscribed[index].set(false);
            let topics = [shared.topics.room.as_str(), shared.topics.own.as_str()];
            reply.send_text(&encode_req(&shared.subscription, EVENT_KIND, TOPIC_TAG, &topics, now_secs()));
            return Ok(());
        }
        SocketEvent::Message(text) => text,
        SocketEvent::Binary(_) => return Err("relay sent a binary message".into()),
    };
    match decode(&text) {
        Err(e) => warn(&e.to_string()),
        Ok(RelayMessage::Event { subscription, event }) if subscription == shared.subscription => {
            // Relays that do not apply tag filters to live events send other rooms' traffic too:
            // only events on our topics are verified and used, the rest is ignored quietly.
            let topic = event.tag(&TOPIC_TAG.to_string()).and_then(|t| shared.topics.classify(t));
            match topic.filter(|_| event.kind == EVENT_KIND).map(|topic| (topic, event.verify())) {
                Some((topic, Ok(()))) => deliver(&shared.sink, &shared.self_id, topic, event.content.as_bytes()),
                Some((_, Err(e))) => warn(&format!("dropped a relayed event: {e}")),
                None => {}
            }
        }
        Ok(RelayMessage::EndOfStoredEvents { subscription }) if subscription == shared.subscription => {
            shared.subscribed[index].set(true);
            (shared.sink)(SignalEvent::RelayReady);
        }
        Ok(RelayMessage::Closed { subscription, message }) if subscription == shared.subscription => {
            return Err(format!("relay closed our subscription ({message})"));
        }
        Ok(RelayMessage::Ok { accepted: false, message, .. }) => warn(&format!("relay rejected our event: {message}")),
        Ok(RelayMessage::Notice(message)) => warn(&format!("relay notice: {message}")),
        Ok(_) => {}
    }
    Ok(())
}
