//! The JS-facing API: `selfId`, the `Room` class, and `join_room` for strategy crates.

use super::actions::make_action;
use super::config::RoomConfig;
use super::console::install_panic_hook;
use super::media;
use super::relay_socket;
use super::room::{self, Shared};
use super::strategy::{Strategy, StrategyContext};
use crate::ids::{random_id, PEER_ID_LEN};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{MediaStream, MediaStreamTrack, WebSocket};

thread_local! {
    static SELF_ID: String = random_id(PEER_ID_LEN);
}

/// This page's peer id, the same in every room it joins.
#[wasm_bindgen(js_name = selfId)]
pub fn self_id() -> String {
    SELF_ID.with(String::clone)
}

/// Stops reconnecting to relays that drop (e.g. while the app knows it is offline).
#[wasm_bindgen(js_name = pauseRelayReconnection)]
pub fn pause_relay_reconnection() {
    relay_socket::pause_reconnection();
}

/// Resumes reconnecting, and reconnects at once every relay that dropped while paused.
#[wasm_bindgen(js_name = resumeRelayReconnection)]
pub fn resume_relay_reconnection() {
    relay_socket::resume_reconnection();
}

/// The relay connections of every joined room: an object mapping relay URL to its `WebSocket`.
#[wasm_bindgen(js_name = getRelaySockets)]
pub fn get_all_relay_sockets() -> Object {
    sockets_by_url(relay_socket::all_web_sockets())
}

/// The strategy's public default relays, as `defaultRelayUrls` of its entry point.
pub fn relay_url_list(urls: &[&str]) -> Array {
    urls.iter().map(|url| JsValue::from_str(url)).collect()
}

/// `{url: WebSocket}`, the first socket of a URL standing for it.
fn sockets_by_url(sockets: impl IntoIterator<Item = (String, WebSocket)>) -> Object {
    let object = Object::new();
    for (url, socket) in sockets {
        let key = JsValue::from(url);
        if !Reflect::has(&object, &key).unwrap_or(true) {
            let _ = Reflect::set(&object, &key, &socket);
        }
    }
    object
}

/// A joined room.
#[wasm_bindgen]
pub struct Room {
    inner: Shared,
}

#[wasm_bindgen]
impl Room {
    /// Returns `[send, receive, onProgress]` for action `name` (the same array for the same name).
    #[wasm_bindgen(js_name = makeAction)]
    pub fn make_action(&self, name: String) -> Result<Array, JsError> {
        make_action(&self.inner, name)
    }

    /// Sets the callback called with a peer id when a peer connects.
    #[wasm_bindgen(js_name = onPeerJoin)]
    pub fn on_peer_join(&self, callback: Function) {
        self.inner.borrow_mut().on_peer_join = Some(callback);
    }

    /// Sets the callback called with a peer id when a peer disconnects.
    #[wasm_bindgen(js_name = onPeerLeave)]
    pub fn on_peer_leave(&self, callback: Function) {
        self.inner.borrow_mut().on_peer_leave = Some(callback);
    }

    /// Connected peers: an object mapping peer id to its `RTCPeerConnection`.
    #[wasm_bindgen(js_name = getPeers)]
    pub fn get_peers(&self) -> Object {
        let peers = Object::new();
        for (id, conn) in self.inner.borrow().open_peers() {
            let _ = Reflect::set(&peers, &id.into(), conn.peer.connection());
        }
        peers
    }

    /// Relay connections: an object mapping relay URL to its `WebSocket` (absent while reconnecting).
    #[wasm_bindgen(js_name = getRelaySockets)]
    pub fn get_relay_sockets(&self) -> Object {
        let sockets = self.inner.borrow().strategy().map(|s| s.relay_sockets()).unwrap_or_default();
        sockets_by_url(sockets.into_iter().filter_map(|(url, socket)| Some((url, socket?))))
    }

    /// Sets the callback called with `(stream, peerId, metadata)` when a peer's stream arrives.
    #[wasm_bindgen(js_name = onPeerStream)]
    pub fn on_peer_stream(&self, callback: Function) {
        self.inner.borrow_mut().on_peer_stream = Some(callback);
    }

    /// Sets the callback called with `(track, stream, peerId, metadata)` for each arriving track.
    #[wasm_bindgen(js_name = onPeerTrack)]
    pub fn on_peer_track(&self, callback: Function) {
        self.inner.borrow_mut().on_peer_track = Some(callback);
    }

    /// Sends every track of `stream` to `targetPeers` (all connected peers when omitted); returns
    /// one promise per target peer.
    #[wasm_bindgen(js_name = addStream)]
    pub fn add_stream(&self, stream: &MediaStream, target_peers: JsValue, metadata: JsValue) -> Result<Array, JsError> {
        media::add_stream(&self.inner, stream, &target_peers, &metadata)
    }

    /// Stops sending `stream` to `targetPeers`.
    #[wasm_bindgen(js_name = removeStream)]
    pub fn remove_stream(&self, stream: &MediaStream, target_peers: JsValue) -> Result<(), JsError> {
        media::remove_stream(&self.inner, stream, &target_peers)
    }

    /// Sends `track` (of `stream`) to `targetPeers`; returns one promise per target peer.
    #[wasm_bindgen(js_name = addTrack)]
    pub fn add_track(
        &self,
        track: &MediaStreamTrack,
        stream: &MediaStream,
        target_peers: JsValue,
        metadata: JsValue,
    ) -> Result<Array, JsError> {
        media::add_track(&self.inner, track, stream, &target_peers, &metadata)
    }

    /// Stops sending `track` to the targets: `removeTrack(track, targetPeers?)`, or
    /// `removeTrack(track, stream, targetPeers?)`.
    #[wasm_bindgen(js_name = removeTrack)]
    pub fn remove_track(&self, track: &MediaStreamTrack, first: JsValue, second: JsValue) -> Result<(), JsError> {
        media::remove_track(&self.inner, track, media::targets_after_optional_stream(&first, &second))
    }

    /// Replaces `oldTrack` with `newTrack` for the targets, without renegotiating:
    /// `replaceTrack(oldTrack, newTrack, targetPeers?)`, or `replaceTrack(oldTrack, newTrack,
    /// stream, targetPeers?)`; returns one promise per target peer.
    #[wasm_bindgen(js_name = replaceTrack)]
    pub fn replace_track(
        &self,
        old_track: &MediaStreamTrack,
        new_track: &MediaStreamTrack,
        first: JsValue,
        second: JsValue,
    ) -> Result<Array, JsError> {
        media::replace_track(&self.inner, old_track, new_track, media::targets_after_optional_stream(&first, &second))
    }

    /// Resolves to the round-trip time to `peerId` in milliseconds.
    pub fn ping(&self, peer_id: String) -> Promise {
        room::ping(&self.inner, &peer_id)
    }

    /// Leaves the room: disconnects every peer and relay.
    pub fn leave(&self) -> Promise {
        room::leave(&self.inner);
        Promise::resolve(&JsValue::UNDEFINED)
    }
}

/// Joins `room_id` with the strategy `make_strategy` builds; `default_relays` and
/// `default_redundancy` apply when the config names no relays. `callbacks` is the optional third
/// argument of `joinRoom`: an `onJoinError` function, or an object with one.
pub fn join_room(
    config: &JsValue,
    room_id: &str,
    callbacks: &JsValue,
    default_relays: &[&str],
    default_redundancy: usize,
    make_strategy: impl FnOnce(StrategyContext) -> Box<dyn Strategy>,
) -> Result<Room, JsError> {
    install_panic_hook();
    if room_id.is_empty() {
        return Err(JsError::new("rendez: roomId is required"));
    }
    let config = RoomConfig::parse(config)?;
    let relays = config.relay_urls(default_relays, default_redundancy);
    if relays.is_empty() {
        return Err(JsError::new("rendez: no relay URLs to connect to"));
    }
    let on_join_error = match callbacks.dyn_ref::<Function>() {
        Some(callback) => Some(callback.clone()),
        None if callbacks.is_object() => {
            Reflect::get(callbacks, &"onJoinError".into()).ok().and_then(|f| f.dyn_into().ok())
        }
        None => None,
    };
    let inner = room::start(config, room_id, &self_id(), relays, on_join_error, make_strategy);
    Ok(Room { inner })
}
