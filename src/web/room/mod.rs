//! A room: the peer map and its lifecycle. Reactions to signaling live in `discovery`, handling
//! of peer events and frames in `inbox`, round-trip probes in `ping`.
//!
//! State lives in one `RefCell`; every handler borrows it briefly and calls app callbacks only
//! after the borrow ends, so callbacks may call back into the room.

mod discovery;
mod heartbeat;
mod inbox;
mod join_errors;
mod ping;

pub(crate) use ping::ping;

use crate::crypto::RoomKey;
use crate::reassembly::{Limits, Reassembler};
use crate::signaling::presence_context;
use crate::web::config::RoomConfig;
use crate::web::console::warn;
use crate::web::peer::Peer;
use crate::web::strategy::{Strategy, StrategyContext};
use futures::channel::oneshot;
use gloo_timers::callback::{Interval, Timeout};
use join_errors::JoinErrors;
use js_sys::{Array, Function, Uint8Array};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use web_sys::RtcConfiguration;

/// Period of re-announcing with fresh offers.
pub const ANNOUNCE_INTERVAL_MS: u32 = 30_000;
/// Length of offer ids.
const OFFER_ID_LEN: usize = 20;

pub(crate) type Shared = Rc<RefCell<RoomState>>;
pub(crate) type WeakRoom = Weak<RefCell<RoomState>>;

/// One peer connection, from offer or answer to close.
pub(crate) struct Conn {
    pub(crate) peer: Peer,
    /// The remote peer, once known (an offer in the pool has none yet).
    pub(crate) remote: Option<String>,
    pub(crate) offered_by_self: bool,
    pub(crate) open: bool,
    pub(crate) generation: u32,
    pub(crate) rx: Reassembler<Uint8Array>,
    pub(crate) next_transfer: u32,
    /// Our transfers awaiting the peer's ack (`true`) or reject (`false`); dropping a sender
    /// (the connection closed) fails its transfer.
    pub(crate) pending_acks: HashMap<u32, oneshot::Sender<bool>>,
    pub(crate) timeout: Option<Timeout>,
    /// Whether anything arrived since the last heartbeat tick.
    pub(crate) heard: bool,
    /// Heartbeat ticks in a row with nothing heard.
    pub(crate) silent_ticks: u32,
    /// Metadata the peer announced for its streams, by stream id.
    pub(crate) stream_metadata: HashMap<String, JsValue>,
    /// Streams of the peer already reported by `onPeerStream`.
    pub(crate) seen_streams: HashSet<String>,
}

/// The app's handlers of one action name.
#[derive(Default)]
pub(crate) struct ActionSlot {
    pub on_receive: Option<Function>,
    pub on_progress: Option<Function>,
    /// The `[send, receive, onProgress]` handed out, returned again by later `makeAction` calls.
    pub api: Option<Array>,
}

pub(crate) struct RoomState {
    pub(crate) self_id: String,
    pub(crate) key: RoomKey,
    pub(crate) rtc_config: RtcConfiguration,
    pub(crate) strategy: Option<Box<dyn Strategy>>,
    pub(crate) conns: HashMap<u64, Conn>,
    pub(crate) by_peer: HashMap<String, u64>,
    pub(crate) offers: HashMap<String, u64>,
    pub(crate) next_key: u64,
    pub(crate) generation: u32,
    pub(crate) announcing: bool,
    pub(crate) announce_again: bool,
    pub(crate) actions: HashMap<String, ActionSlot>,
    pub(crate) on_peer_join: Option<Function>,
    pub(crate) on_peer_leave: Option<Function>,
    pub(crate) on_peer_stream: Option<Function>,
    pub(crate) on_peer_track: Option<Function>,
    pub(crate) limits: Limits,
    pub(crate) connect_timeout_ms: u32,
    pub(crate) join_errors: JoinErrors,
    pub(crate) pings: HashMap<(u64, u32), oneshot::Sender<()>>,
    pub(crate) next_ping: u32,
    pub(crate) left: bool,
    /// Whether new connections were refused for [`discovery::MAX_UNOPENED_CONNECTIONS`] (warned once).
    pub(crate) setup_full: bool,
    pub(crate) announce_timer: Option<Interval>,
    pub(crate) heartbeat_timer: Option<Interval>,
    pub(crate) on_page_hide: Option<Closure<dyn FnMut()>>,
}

impl RoomState {
    /// Open connections by peer id.
    pub fn open_peers(&self) -> impl Iterator<Item = (&String, &Conn)> {
        self.by_peer.iter().filter_map(|(id, key)| self.conns.get(key).filter(|c| c.open).map(|c| (id, c)))
    }

    /// The open connection to `peer_id`.
    pub fn open_conn(&self, peer_id: &str) -> Option<&Conn> {
        self.by_peer.get(peer_id).and_then(|key| self.conns.get(key)).filter(|c| c.open)
    }

    /// The open connections to `targets` (from [`parse_targets`]; `None` for every open peer);
    /// an unknown or unconnected peer is an error.
    pub fn target_peers(&self, targets: Option<Vec<String>>) -> Result<Vec<(String, Peer)>, JsError> {
        if self.left {
            return Err(JsError::new("rendez: the room has been left"));
        }
        let ids = targets.unwrap_or_else(|| self.open_peers().map(|(id, _)| id.clone()).collect());
        ids.into_iter()
            .map(|id| match self.open_conn(&id) {
                Some(conn) => Ok((id, conn.peer.clone())),
                None => Err(JsError::new(&format!("rendez: no connected peer {id}"))),
            })
            .collect()
    }

    /// The strategy, while the room has not been left.
    pub fn strategy(&self) -> Option<&dyn Strategy> {
        self.strategy.as_deref()
    }

    pub(crate) fn add_conn(&mut self, weak: &WeakRoom, offered_by_self: bool) -> Result<u64, JsValue> {
        let key = self.next_key;
        self.next_key += 1;
        let events = weak.clone();
        let peer = Peer::new(&self.rtc_config, Rc::new(move |ev| inbox::on_peer_event(&events, key, ev)))?;
        self.conns.insert(
            key,
            Conn {
                peer,
                remote: None,
                offered_by_self,
                open: false,
                generation: self.generation,
                rx: Reassembler::new(self.limits),
                next_transfer: 0,
                pending_acks: HashMap::new(),
                timeout: None,
                heard: false,
                silent_ticks: 0,
                stream_metadata: HashMap::new(),
                seen_streams: HashSet::new(),
            },
        );
        Ok(key)
    }

    /// Binds connection `key` to peer `remote` and starts its connect timeout.
    pub(crate) fn assign(&mut self, weak: &WeakRoom, key: u64, remote: &str) {
        let timeout_ms = self.connect_timeout_ms;
        let Some(conn) = self.conns.get_mut(&key) else { return };
        conn.remote = Some(remote.to_owned());
        let weak = weak.clone();
        conn.timeout = Some(Timeout::new(timeout_ms, move || {
            let Some(room) = weak.upgrade() else { return };
            let mut state = room.borrow_mut();
            let Some((peer_id, _)) = state.remove_conn(key) else { return };
            let error = format!("the connection did not open within {timeout_ms} ms");
            let report = state.join_errors.report(&peer_id, &error);
            drop(state);
            report.deliver();
        }));
        self.by_peer.insert(remote.to_owned(), key);
    }

    /// Closes and forgets connection `key`; returns its peer id and whether it was open.
    pub(crate) fn remove_conn(&mut self, key: u64) -> Option<(String, bool)> {
        let conn = self.conns.remove(&key)?;
        conn.peer.close();
        let remote = conn.remote?;
        if self.by_peer.get(&remote) == Some(&key) {
            self.by_peer.remove(&remote);
        }
        Some((remote, conn.open))
    }

    /// If peer `from` already has a connection other than `candidate`, decides whether the
    /// candidate, where `from` is the offerer (`their_offer`) or we are, should replace it. Of two
    /// concurrent attempts the one offered by the smaller peer id wins, so both sides keep the
    /// same one.
    pub(crate) fn should_replace(&mut self, from: &str, candidate: Option<u64>, their_offer: bool) -> bool {
        let Some(&key) = self.by_peer.get(from) else { return true };
        if Some(key) == candidate {
            return true;
        }
        let Some(existing) = self.conns.get(&key) else { return true };
        if existing.open || existing.offered_by_self != their_offer {
            return false;
        }
        let new_offerer_wins = if their_offer { from < self.self_id.as_str() } else { self.self_id.as_str() < from };
        if new_offerer_wins {
            self.remove_conn(key);
        }
        new_offerer_wins
    }
}

/// Reads an app's `targetPeers`: `null`/`undefined` (every open peer, `None`), one peer id, or an
/// array of them. Done before borrowing the room: reading a JS array can run app code.
pub(crate) fn parse_targets(targets: &JsValue) -> Result<Option<Vec<String>>, JsError> {
    if targets.is_null() || targets.is_undefined() {
        Ok(None)
    } else if let Some(id) = targets.as_string() {
        Ok(Some(vec![id]))
    } else if js_sys::Array::is_array(targets) {
        Ok(Some(js_sys::Array::from(targets).iter().filter_map(|v| v.as_string()).collect()))
    } else {
        Err(JsError::new("rendez: targetPeers must be a peer id, an array of peer ids, or null"))
    }
}

/// Creates a room and starts its strategy.
pub(crate) fn start(
    config: RoomConfig,
    room_id: &str,
    self_id: &str,
    relay_urls: Vec<String>,
    on_join_error: Option<Function>,
    make_strategy: impl FnOnce(StrategyContext) -> Box<dyn Strategy>,
) -> Shared {
    let key = RoomKey::derive(config.password.as_deref(), &config.app_id, room_id);
    let join_errors = JoinErrors::new(on_join_error, config.app_id.clone(), room_id.to_owned());
    let room = Rc::new(RefCell::new(RoomState {
        self_id: self_id.to_owned(),
        key,
        rtc_config: config.rtc_config,
        strategy: None,
        conns: HashMap::new(),
        by_peer: HashMap::new(),
        offers: HashMap::new(),
        next_key: 0,
        generation: 0,
        announcing: false,
        announce_again: false,
        actions: HashMap::new(),
        on_peer_join: None,
        on_peer_leave: None,
        on_peer_stream: None,
        on_peer_track: None,
        limits: config.limits,
        connect_timeout_ms: config.connect_timeout_ms,
        join_errors,
        pings: HashMap::new(),
        next_ping: 0,
        left: false,
        setup_full: false,
        announce_timer: None,
        heartbeat_timer: None,
        on_page_hide: None,
    }));
    let weak = Rc::downgrade(&room);
    let sink_room = weak.clone();
    let presence_proof = room.borrow().key.seal("", &presence_context(self_id));
    let strategy = make_strategy(StrategyContext {
        app_id: config.app_id,
        room_id: room_id.to_owned(),
        self_id: self_id.to_owned(),
        relay_urls,
        sink: Rc::new(move |event| discovery::on_signal(&sink_room, event)),
        presence_proof,
    });
    let mut state = room.borrow_mut();
    state.strategy = Some(strategy);
    let timer_room = weak.clone();
    state.announce_timer = Some(Interval::new(ANNOUNCE_INTERVAL_MS, move || discovery::announce(&timer_room)));
    let heartbeat_room = weak.clone();
    state.heartbeat_timer = Some(Interval::new(heartbeat::INTERVAL_MS, move || heartbeat::tick(&heartbeat_room)));
    // A closing page leaves explicitly, so peers see the channel close at once instead of
    // waiting for ICE consent to expire.
    let on_page_hide = Closure::<dyn FnMut()>::new(move || {
        if let Some(room) = weak.upgrade() {
            leave(&room);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.add_event_listener_with_callback("pagehide", on_page_hide.as_ref().unchecked_ref());
    }
    state.on_page_hide = Some(on_page_hide);
    drop(state);
    room
}

/// Leaves the room: tells the relays, closes every connection, stops timers.
pub(crate) fn leave(room: &Shared) {
    let mut state = room.borrow_mut();
    if state.left {
        return;
    }
    state.left = true;
    state.announce_timer = None;
    state.heartbeat_timer = None;
    if let (Some(window), Some(handler)) = (web_sys::window(), state.on_page_hide.take()) {
        let _ = window.remove_event_listener_with_callback("pagehide", handler.as_ref().unchecked_ref());
    }
    if let Some(strategy) = state.strategy.take() {
        strategy.leave();
    }
    for conn in state.conns.values() {
        conn.peer.close();
    }
    state.conns.clear();
    state.by_peer.clear();
    state.offers.clear();
}

/// Calls an app callback, reporting (not propagating) anything it throws.
pub(crate) fn call(callback: Option<Function>, args: &[JsValue]) {
    let Some(callback) = callback else { return };
    let result = match args {
        [a] => callback.call1(&JsValue::NULL, a),
        [a, b] => callback.call2(&JsValue::NULL, a, b),
        [a, b, c] => callback.call3(&JsValue::NULL, a, b, c),
        _ => callback.apply(&JsValue::NULL, &args.iter().collect()),
    };
    if let Err(e) = result {
        warn(&format!("a room callback threw: {e:?}"));
    }
}
