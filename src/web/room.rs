//! A room: the peer map, reactions to signaling, and dispatch of received action frames.
//!
//! State lives in one `RefCell`; every handler borrows it briefly and calls app callbacks only
//! after the borrow ends, so callbacks may call back into the room.

use super::config::RoomConfig;
use super::console::warn;
use super::payload;
use super::peer::{Peer, PeerEvent};
use super::strategy::{Strategy, StrategyContext};
use crate::crypto::RoomKey;
use crate::frame::{self, encode_ack, encode_ping, encode_pong, encode_reject, Header, PREFIX_LEN};
use crate::ids::{is_peer_id, random_id};
use crate::reassembly::{Accepted, Limits, Reassembler};
use crate::signaling::{answer_context, offer_context, SealedOffer, SignalEvent};
use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_timers::callback::{Interval, Timeout};
use gloo_timers::future::TimeoutFuture;
use js_sys::{ArrayBuffer, Function, Promise, Uint8Array};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, spawn_local};
use web_sys::RtcConfiguration;

/// Period of re-announcing with fresh offers.
pub const ANNOUNCE_INTERVAL_MS: u32 = 30_000;
/// How long a connection may take from SDP exchange to an open channel before it is dropped.
pub const CONNECT_TIMEOUT_MS: u32 = 30_000;
/// How long `ping` waits for the pong.
pub const PING_TIMEOUT_MS: u32 = 10_000;
/// Length of offer ids.
const OFFER_ID_LEN: usize = 20;

pub(crate) type Shared = Rc<RefCell<RoomState>>;
type WeakRoom = Weak<RefCell<RoomState>>;

/// One peer connection, from offer or answer to close.
pub(crate) struct Conn {
    pub peer: Peer,
    /// The remote peer, once known (an offer in the pool has none yet).
    pub remote: Option<String>,
    offered_by_self: bool,
    pub open: bool,
    generation: u32,
    rx: Reassembler<Uint8Array>,
    pub next_transfer: u32,
    /// Our transfers awaiting the peer's ack (`true`) or reject (`false`); dropping a sender
    /// (the connection closed) fails its transfer.
    pub pending_acks: HashMap<u32, oneshot::Sender<bool>>,
    timeout: Option<Timeout>,
}

/// The app's handlers of one action name.
#[derive(Default)]
pub(crate) struct ActionSlot {
    pub on_receive: Option<Function>,
    pub on_progress: Option<Function>,
}

pub(crate) struct RoomState {
    pub self_id: String,
    key: RoomKey,
    rtc_config: RtcConfiguration,
    strategy: Option<Box<dyn Strategy>>,
    pub conns: HashMap<u64, Conn>,
    pub by_peer: HashMap<String, u64>,
    offers: HashMap<String, u64>,
    next_key: u64,
    generation: u32,
    announcing: bool,
    announce_again: bool,
    pub actions: HashMap<String, ActionSlot>,
    pub on_peer_join: Option<Function>,
    pub on_peer_leave: Option<Function>,
    limits: Limits,
    pings: HashMap<u32, oneshot::Sender<()>>,
    next_ping: u32,
    pub left: bool,
    announce_timer: Option<Interval>,
    on_page_hide: Option<Closure<dyn FnMut()>>,
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

    /// The strategy, while the room has not been left.
    pub fn strategy(&self) -> Option<&dyn Strategy> {
        self.strategy.as_deref()
    }

    fn add_conn(&mut self, weak: &WeakRoom, offered_by_self: bool) -> Result<u64, JsValue> {
        let key = self.next_key;
        self.next_key += 1;
        let events = weak.clone();
        let peer = Peer::new(&self.rtc_config, Rc::new(move |ev| on_peer_event(&events, key, ev)))?;
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
            },
        );
        Ok(key)
    }

    /// Binds connection `key` to peer `remote` and starts its connect timeout.
    fn assign(&mut self, weak: &WeakRoom, key: u64, remote: &str) {
        let Some(conn) = self.conns.get_mut(&key) else {
            return;
        };
        conn.remote = Some(remote.to_owned());
        let weak = weak.clone();
        conn.timeout = Some(Timeout::new(CONNECT_TIMEOUT_MS, move || {
            if let Some(room) = weak.upgrade() {
                let dropped = room.borrow_mut().remove_conn(key);
                if let Some((peer_id, _)) = dropped {
                    warn(&format!("connection to peer {peer_id} timed out"));
                }
            }
        }));
        self.by_peer.insert(remote.to_owned(), key);
    }

    /// Closes and forgets connection `key`; returns its peer id and whether it was open.
    fn remove_conn(&mut self, key: u64) -> Option<(String, bool)> {
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
    fn should_replace(&mut self, from: &str, candidate: Option<u64>, their_offer: bool) -> bool {
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

/// Creates a room and starts its strategy.
pub(crate) fn start(
    config: RoomConfig,
    room_id: &str,
    self_id: &str,
    relay_urls: Vec<String>,
    make_strategy: impl FnOnce(StrategyContext) -> Box<dyn Strategy>,
) -> Shared {
    let key = RoomKey::derive(config.password.as_deref(), &config.app_id, room_id);
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
        limits: config.limits,
        pings: HashMap::new(),
        next_ping: 0,
        left: false,
        announce_timer: None,
        on_page_hide: None,
    }));
    let weak = Rc::downgrade(&room);
    let sink_room = weak.clone();
    let strategy = make_strategy(StrategyContext {
        app_id: config.app_id,
        room_id: room_id.to_owned(),
        self_id: self_id.to_owned(),
        relay_urls,
        sink: Rc::new(move |event| on_signal(&sink_room, event)),
    });
    let mut state = room.borrow_mut();
    state.strategy = Some(strategy);
    let timer_room = weak.clone();
    state.announce_timer = Some(Interval::new(ANNOUNCE_INTERVAL_MS, move || announce(&timer_room)));
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
        _ => callback.call0(&JsValue::NULL),
    };
    if let Err(e) = result {
        warn(&format!("a room callback threw: {e:?}"));
    }
}

/// Measures the round trip to `peer_id` over its data channel, in milliseconds.
pub(crate) fn ping(room: &Shared, peer_id: &str) -> Promise {
    let mut state = room.borrow_mut();
    let Some(peer) = state.open_conn(peer_id).map(|c| c.peer.clone()) else {
        return Promise::reject(&JsError::new(&format!("rendez: no connected peer {peer_id}")).into());
    };
    let nonce = state.next_ping;
    state.next_ping = nonce.wrapping_add(1);
    let (pong, ponged) = oneshot::channel();
    state.pings.insert(nonce, pong);
    drop(state);
    let started = now();
    if let Err(e) = peer.send(&Uint8Array::from(&encode_ping(nonce)[..])) {
        room.borrow_mut().pings.remove(&nonce);
        return Promise::reject(&e);
    }
    let weak = Rc::downgrade(room);
    let peer_id = peer_id.to_owned();
    future_to_promise(async move {
        if let Either::Left((Ok(()), _)) = select(ponged, TimeoutFuture::new(PING_TIMEOUT_MS)).await {
            return Ok((now() - started).into());
        }
        if let Some(room) = weak.upgrade() {
            room.borrow_mut().pings.remove(&nonce);
        }
        Err(JsError::new(&format!("rendez: ping to peer {peer_id} got no answer")).into())
    })
}

fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

fn announce(weak: &WeakRoom) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    if state.left || state.announcing {
        state.announce_again = true;
        return;
    }
    state.announcing = true;
    state.generation = state.generation.wrapping_add(1);
    let pool_size = state.strategy().map_or(0, |s| s.offer_pool_size());
    let mut pool = Vec::with_capacity(pool_size);
    for _ in 0..pool_size {
        match state.add_conn(weak, true) {
            Ok(key) => pool.push((key, state.conns[&key].peer.clone())),
            Err(e) => warn(&format!("cannot create a peer connection: {e:?}")),
        }
    }
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        let sdps = futures::future::join_all(pool.iter().map(|(_, peer)| peer.create_offer())).await;
        let Some(room) = weak.upgrade() else { return };
        let mut state = room.borrow_mut();
        state.announcing = false;
        if state.left {
            return;
        }
        let context = offer_context(&state.self_id);
        let mut offers = Vec::with_capacity(sdps.len());
        for ((key, _), sdp) in pool.into_iter().zip(sdps) {
            match sdp {
                Ok(sdp) if state.conns.contains_key(&key) => {
                    let offer_id = random_id(OFFER_ID_LEN);
                    offers.push(SealedOffer { offer_id: offer_id.clone(), sealed_sdp: state.key.seal(&sdp, &context) });
                    state.offers.insert(offer_id, key);
                }
                Ok(_) => {}
                Err(e) => {
                    warn(&format!("cannot create an offer: {e:?}"));
                    state.remove_conn(key);
                }
            }
        }
        expire_offers(&mut state);
        if let Some(strategy) = state.strategy() {
            strategy.announce(offers);
        }
        let again = std::mem::take(&mut state.announce_again);
        drop(state);
        if again {
            announce(&weak);
        }
    });
}

/// Closes unanswered offers older than the previous announce.
fn expire_offers(state: &mut RoomState) {
    let current = state.generation;
    let stale: Vec<(String, u64)> = state
        .offers
        .iter()
        .filter(|(_, key)| state.conns.get(key).is_none_or(|c| current.wrapping_sub(c.generation) > 1))
        .map(|(id, key)| (id.clone(), *key))
        .collect();
    for (offer_id, key) in stale {
        state.offers.remove(&offer_id);
        state.remove_conn(key);
    }
}

fn on_signal(weak: &WeakRoom, event: SignalEvent) {
    match event {
        SignalEvent::RelayReady => announce(weak),
        SignalEvent::Presence { from } => on_presence(weak, from),
        SignalEvent::Offer { from, offer_id, sealed_sdp } => on_offer(weak, from, offer_id, sealed_sdp),
        SignalEvent::Answer { from, offer_id, sealed_sdp } => on_answer(weak, from, offer_id, sealed_sdp),
    }
}

/// Offers a connection to a peer that announced itself, unless one exists or is under way.
fn on_presence(weak: &WeakRoom, from: String) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    if state.left || from == state.self_id || !is_peer_id(&from) || state.by_peer.contains_key(&from) {
        return;
    }
    if state.strategy().and_then(|s| s.direct()).is_none() {
        return;
    }
    let key = match state.add_conn(weak, true) {
        Ok(key) => key,
        Err(e) => return warn(&format!("cannot create a peer connection: {e:?}")),
    };
    state.assign(weak, key, &from);
    let peer = state.conns[&key].peer.clone();
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        let offer = peer.create_offer().await;
        let Some(room) = weak.upgrade() else { return };
        let mut state = room.borrow_mut();
        if !state.conns.contains_key(&key) {
            return;
        }
        match offer {
            Ok(sdp) => {
                let offer_id = random_id(OFFER_ID_LEN);
                let sealed = state.key.seal(&sdp, &offer_context(&state.self_id));
                state.offers.insert(offer_id.clone(), key);
                if let Some(direct) = state.strategy().and_then(|s| s.direct()) {
                    direct.send_offer(&from, &offer_id, &sealed);
                }
            }
            Err(e) => {
                warn(&format!("cannot create an offer: {e:?}"));
                state.remove_conn(key);
            }
        }
    });
}

fn on_offer(weak: &WeakRoom, from: String, offer_id: String, sealed_sdp: String) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    if state.left || from == state.self_id || !is_peer_id(&from) {
        return;
    }
    let sdp = match state.key.open(&sealed_sdp, &offer_context(&from)) {
        Ok(sdp) => sdp,
        Err(e) => return warn(&format!("ignored an offer from peer {from}: {e}")),
    };
    if !state.should_replace(&from, None, true) {
        return;
    }
    let key = match state.add_conn(weak, false) {
        Ok(key) => key,
        Err(e) => return warn(&format!("cannot create a peer connection: {e:?}")),
    };
    state.assign(weak, key, &from);
    let peer = state.conns[&key].peer.clone();
    let room_key = state.key.clone();
    let self_id = state.self_id.clone();
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        let answer = peer.accept_offer(&sdp).await;
        let Some(room) = weak.upgrade() else { return };
        let mut state = room.borrow_mut();
        if !state.conns.contains_key(&key) {
            return;
        }
        match answer {
            Ok(answer) => {
                let sealed = room_key.seal(&answer, &answer_context(&self_id, &from, &offer_id));
                if let Some(strategy) = state.strategy() {
                    strategy.send_answer(&from, &offer_id, &sealed);
                }
            }
            Err(e) => {
                warn(&format!("cannot answer peer {from}: {e:?}"));
                state.remove_conn(key);
            }
        }
    });
}

fn on_answer(weak: &WeakRoom, from: String, offer_id: String, sealed_sdp: String) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    let Some(&key) = state.offers.get(&offer_id) else {
        return;
    };
    if state.left || from == state.self_id || !is_peer_id(&from) {
        return;
    }
    let sdp = match state.key.open(&sealed_sdp, &answer_context(&from, &state.self_id, &offer_id)) {
        Ok(sdp) => sdp,
        Err(e) => return warn(&format!("ignored an answer from peer {from}: {e}")),
    };
    if !state.should_replace(&from, Some(key), false) {
        return;
    }
    state.offers.remove(&offer_id);
    state.assign(weak, key, &from);
    let Some(peer) = state.conns.get(&key).map(|c| c.peer.clone()) else {
        return;
    };
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        if let Err(e) = peer.accept_answer(&sdp).await {
            warn(&format!("cannot accept the answer of peer {from}: {e:?}"));
            if let Some(room) = weak.upgrade() {
                room.borrow_mut().remove_conn(key);
            }
        }
    });
}

fn on_peer_event(weak: &WeakRoom, key: u64, event: PeerEvent) {
    let Some(room) = weak.upgrade() else { return };
    match event {
        PeerEvent::Open => {
            let mut state = room.borrow_mut();
            let Some(conn) = state.conns.get_mut(&key) else {
                return;
            };
            let Some(remote) = conn.remote.clone() else {
                return;
            };
            conn.open = true;
            conn.timeout = None;
            let callback = state.on_peer_join.clone();
            drop(state);
            call(callback, &[remote.into()]);
        }
        PeerEvent::Closed => {
            let mut state = room.borrow_mut();
            let removed = state.remove_conn(key);
            let callback = state.on_peer_leave.clone();
            drop(state);
            if let Some((peer_id, true)) = removed {
                call(callback, &[peer_id.into()]);
            }
        }
        PeerEvent::Message(buffer) => on_message(&room, key, buffer),
    }
}

fn on_message(room: &Shared, key: u64, buffer: ArrayBuffer) {
    let bytes = Uint8Array::new(&buffer);
    let len = bytes.length();
    let header = match read_header(&bytes) {
        Ok(header) => header,
        Err(e) => return warn(&format!("dropped a malformed frame: {e}")),
    };
    let data = match header.0 {
        Header::Data(data) => data,
        Header::Ping(nonce) => {
            let peer = room.borrow().conns.get(&key).map(|c| c.peer.clone());
            if let Some(peer) = peer {
                let _ = peer.send(&Uint8Array::from(&encode_pong(nonce)[..]));
            }
            return;
        }
        Header::Pong(nonce) => {
            if let Some(pong) = room.borrow_mut().pings.remove(&nonce) {
                let _ = pong.send(());
            }
            return;
        }
        Header::Ack(transfer) => return settle_transfer(room, key, transfer, true),
        Header::Reject(transfer) => return settle_transfer(room, key, transfer, false),
        Header::Unknown(_) => return,
    };
    let transfer = data.transfer;
    let payload = bytes.subarray(header.1, len);
    let payload_len = u64::from(len - header.1);
    let mut guard = room.borrow_mut();
    let state = &mut *guard;
    let Some(conn) = state.conns.get_mut(&key) else { return };
    let Some(peer_id) = conn.remote.clone() else { return };
    let peer = conn.peer.clone();
    match conn.rx.accept(data, payload, payload_len) {
        Err(e) => {
            drop(guard);
            let _ = peer.send(&Uint8Array::from(&encode_reject(transfer)[..]));
            warn(&format!("dropped data from peer {peer_id}: {e}"));
        }
        Ok(Accepted::Partial { transfer, received, total }) => {
            let Some(start) = conn.rx.start(transfer) else { return };
            let Some(progress) = state.actions.get(&start.action).and_then(|s| s.on_progress.clone()) else { return };
            let metadata = start.metadata.clone();
            drop(guard);
            call(Some(progress), &[(received as f64 / total as f64).into(), peer_id.into(), parse_metadata(metadata)]);
        }
        Ok(Accepted::Complete { start, parts }) => {
            let slot = state.actions.get(&start.action);
            let (on_receive, on_progress) =
                slot.map_or((None, None), |s| (s.on_receive.clone(), s.on_progress.clone()));
            drop(guard);
            let _ = peer.send(&Uint8Array::from(&encode_ack(transfer)[..]));
            if on_receive.is_none() && on_progress.is_none() {
                return;
            }
            let metadata = parse_metadata(start.metadata);
            call(on_progress, &[1.0.into(), peer_id.clone().into(), metadata.clone()]);
            match payload::decode(start.kind, parts, start.total as u32) {
                Ok(value) => call(on_receive, &[value, peer_id.into(), metadata]),
                Err(e) => warn(&format!("dropped an undecodable payload from peer {peer_id}: {e:?}")),
            }
        }
    }
}

/// Resolves our pending transfer with the peer's verdict.
fn settle_transfer(room: &Shared, key: u64, transfer: u32, delivered: bool) {
    let pending = room.borrow_mut().conns.get_mut(&key).and_then(|c| c.pending_acks.remove(&transfer));
    if let Some(pending) = pending {
        let _ = pending.send(delivered);
    }
}

/// Reads the frame header; returns it with the payload's offset.
fn read_header(bytes: &Uint8Array) -> Result<(Header, u32), frame::FrameError> {
    let len = bytes.length();
    if len < PREFIX_LEN as u32 {
        return Err(frame::FrameError::Truncated);
    }
    let header_len = frame::header_len([bytes.get_index(0), bytes.get_index(1)]) as u32;
    let end = PREFIX_LEN as u32 + header_len;
    if end > len {
        return Err(frame::FrameError::HeaderTooLong);
    }
    let header = frame::decode_header(&bytes.subarray(PREFIX_LEN as u32, end).to_vec())?;
    Ok((header, end))
}

fn parse_metadata(metadata: Option<String>) -> JsValue {
    metadata.and_then(|m| payload::parse_json(&m).ok()).unwrap_or(JsValue::UNDEFINED)
}
