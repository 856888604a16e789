//! The tracker strategy in the browser: one [`RelaySocket`] per tracker.

use crate::info_hash::info_hash;
use crate::tracker_message::{
    decode, encode_announce, encode_answer, encode_stopped, AnnounceEvent, Incoming, TrackerError,
};
use crate::{DEFAULT_RELAY_REDUNDANCY, DEFAULT_RELAY_URLS};
use rendez_core::signaling::{SealedOffer, SignalEvent};
use rendez_core::web::bindings::{self, Room};
use rendez_core::web::console::warn;
use rendez_core::web::relay_socket::{RelaySocket, Reply, SocketEvent};
use rendez_core::web::strategy::{SignalSink, Strategy, StrategyContext};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Offers published per announce, spread over the open trackers.
const OFFER_POOL_SIZE: usize = 10;
/// Offer routes remembered for answering; older ones are forgotten past this many.
const MAX_ROUTES: usize = 256;

/// The public relays used when the app names none.
#[wasm_bindgen(js_name = defaultRelayUrls)]
pub fn default_relay_urls() -> js_sys::Array {
    bindings::relay_url_list(DEFAULT_RELAY_URLS)
}

/// Joins `roomId` through WebTorrent trackers.
#[wasm_bindgen(js_name = joinRoom)]
pub fn join_room(config: JsValue, room_id: String, callbacks: JsValue) -> Result<Room, JsError> {
    bindings::join_room(&config, &room_id, &callbacks, DEFAULT_RELAY_URLS, DEFAULT_RELAY_REDUNDANCY, |ctx| {
        Box::new(TorrentStrategy::start(ctx))
    })
}

struct Shared {
    info_hash: String,
    self_id: String,
    sink: SignalSink,
    /// Per tracker: whether this connection has announced `started` yet.
    started: Vec<Cell<bool>>,
    /// Which tracker relayed each offer we may answer.
    routes: RefCell<HashMap<String, usize>>,
}

struct TorrentStrategy {
    shared: Rc<Shared>,
    sockets: Vec<RelaySocket>,
}

impl TorrentStrategy {
    fn start(ctx: StrategyContext) -> Self {
        let shared = Rc::new(Shared {
            info_hash: info_hash(&ctx.app_id, &ctx.room_id),
            self_id: ctx.self_id,
            sink: ctx.sink,
            started: ctx.relay_urls.iter().map(|_| Cell::new(false)).collect(),
            routes: RefCell::new(HashMap::new()),
        });
        let sockets = RelaySocket::connect_all(&ctx.relay_urls, &[], &shared, on_socket_event);
        Self { shared, sockets }
    }
}

fn on_socket_event(shared: &Shared, index: usize, _reply: &Reply, event: SocketEvent) -> Result<(), String> {
    match event {
        SocketEvent::Open => {
            shared.started[index].set(false);
            (shared.sink)(SignalEvent::RelayReady);
        }
        SocketEvent::Message(text) => match decode(&text, &shared.info_hash) {
            Ok(Incoming::Offer { from, offer_id, sealed_sdp }) => {
                let mut routes = shared.routes.borrow_mut();
                if routes.len() >= MAX_ROUTES {
                    routes.clear();
                }
                routes.insert(offer_id.clone(), index);
                drop(routes);
                (shared.sink)(SignalEvent::Offer { from, offer_id, sealed_sdp });
            }
            Ok(Incoming::Answer { from, offer_id, sealed_sdp }) => {
                (shared.sink)(SignalEvent::Answer { from, offer_id, sealed_sdp })
            }
            Ok(Incoming::Announced { .. }) | Err(TrackerError::ForeignSwarm) => {}
            Ok(Incoming::Failure(reason)) => warn(&format!("tracker refused a request: {reason}")),
            Ok(Incoming::Warning(message)) => warn(&format!("tracker warning: {message}")),
            Err(e) => warn(&e.to_string()),
        },
        SocketEvent::Binary(_) => warn("tracker sent a binary message"),
    }
    Ok(())
}

impl Strategy for TorrentStrategy {
    fn offer_pool_size(&self) -> usize {
        OFFER_POOL_SIZE
    }

    fn announce(&self, offers: Vec<SealedOffer>) {
        let open: Vec<usize> = (0..self.sockets.len()).filter(|&i| self.sockets[i].is_open()).collect();
        if open.is_empty() {
            return;
        }
        let per_socket = offers.len().div_ceil(open.len()).max(1);
        let mut batches = offers.chunks(per_socket);
        for index in open {
            let batch = batches.next().unwrap_or(&[]);
            let event =
                if self.shared.started[index].replace(true) { AnnounceEvent::Update } else { AnnounceEvent::Started };
            let message = encode_announce(&self.shared.info_hash, &self.shared.self_id, batch, event);
            self.sockets[index].send(&message);
        }
    }

    fn send_answer(&self, to: &str, offer_id: &str, sealed_sdp: &str) {
        let message = encode_answer(&self.shared.info_hash, &self.shared.self_id, to, offer_id, sealed_sdp);
        match self.shared.routes.borrow_mut().remove(offer_id) {
            Some(index) => {
                self.sockets[index].send(&message);
            }
            None => {
                for socket in &self.sockets {
                    socket.send(&message);
                }
            }
        }
    }

    fn relay_sockets(&self) -> Vec<(String, Option<web_sys::WebSocket>)> {
        self.sockets.iter().map(|s| (s.url().to_owned(), s.web_socket())).collect()
    }

    fn leave(&self) {
        let message = encode_stopped(&self.shared.info_hash, &self.shared.self_id);
        for socket in &self.sockets {
            socket.send(&message);
            socket.close();
        }
    }
}
