//! The JS-facing API: `selfId`, the page-wide calls, the `Room` class, and `join_room` for the
//! strategy crates' entry points.

use super::actions::make_action;
use super::callbacks::{deferred, Callbacks, Request};
use super::config::RoomConfig as JsConfig;
use super::console::install_panic_hook;
use super::driver::{self, now, read, with_callbacks, with_driver, Shared};
use super::errors::{busy, invalid};
use super::media;
use super::page;
use super::payload::JsBytes;
use crate::crypto::RoomKey;
use crate::random::Random;
use crate::room::{Room as Core, RoomConfig};
use crate::strategy::{Strategy, StrategyConfig};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::{MediaStream, MediaStreamTrack, WebSocket};

/// This page's peer id, the same in every room it joins.
#[wasm_bindgen(js_name = selfId)]
pub fn self_id() -> String {
    page::self_id()
}

/// Stops reconnecting to relays that drop (e.g. while the app knows it is offline).
#[wasm_bindgen(js_name = pauseRelayReconnection)]
pub fn pause_relay_reconnection() {
    page::set_reconnection_paused(true);
}

/// Resumes reconnecting, and reconnects at once every relay that dropped while paused.
#[wasm_bindgen(js_name = resumeRelayReconnection)]
pub fn resume_relay_reconnection() {
    page::set_reconnection_paused(false);
}

/// The relay connections of every joined room: an object mapping relay URL to its `WebSocket`.
#[wasm_bindgen(js_name = getRelaySockets)]
pub fn get_all_relay_sockets() -> Object {
    let sockets =
        page::rooms().iter().flat_map(|room| read(room, |d| d.relay_sockets()).unwrap_or_default()).collect::<Vec<_>>();
    sockets_by_url(sockets)
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

/// A joined room. Freeing it (`free()`, `Symbol.dispose`) leaves it; a joined room stays reachable
/// (the entry point keeps it until it is left), so garbage collection only frees rooms already left.
#[wasm_bindgen]
pub struct Room {
    inner: Shared,
}

impl Drop for Room {
    fn drop(&mut self) {
        driver::leave(&self.inner);
    }
}

impl Room {
    fn set_callback(&self, callback: Function, slot: fn(&mut Callbacks) -> &mut Option<Function>) {
        with_callbacks(&self.inner, |c| *slot(c) = Some(callback));
    }
}

#[wasm_bindgen]
impl Room {
    /// Returns `[send, receive, onProgress]` for action `name` (the same array for the same name).
    #[wasm_bindgen(js_name = makeAction)]
    pub fn make_action(&self, name: String) -> Result<Array, JsValue> {
        make_action(&self.inner, name)
    }

    /// Sets the callback called with a peer id when a peer connects.
    #[wasm_bindgen(js_name = onPeerJoin)]
    pub fn on_peer_join(&self, callback: Function) {
        self.set_callback(callback, |c| &mut c.on_peer_join);
    }

    /// Sets the callback called with a peer id when a peer disconnects.
    #[wasm_bindgen(js_name = onPeerLeave)]
    pub fn on_peer_leave(&self, callback: Function) {
        self.set_callback(callback, |c| &mut c.on_peer_leave);
    }

    /// Sets the callback called with `(stream, peerId, metadata)` when a peer's stream arrives.
    #[wasm_bindgen(js_name = onPeerStream)]
    pub fn on_peer_stream(&self, callback: Function) {
        self.set_callback(callback, |c| &mut c.on_peer_stream);
    }

    /// Sets the callback called with `(track, stream, peerId, metadata)` for each arriving track.
    #[wasm_bindgen(js_name = onPeerTrack)]
    pub fn on_peer_track(&self, callback: Function) {
        self.set_callback(callback, |c| &mut c.on_peer_track);
    }

    /// Connected peers: an object mapping peer id to its `RTCPeerConnection`.
    #[wasm_bindgen(js_name = getPeers)]
    pub fn get_peers(&self) -> Object {
        let peers = Object::new();
        let open = read(&self.inner, |d| d.connections(d.core.open_peers()));
        for (id, connection) in open.unwrap_or_default() {
            let _ = Reflect::set(&peers, &id.into(), &connection);
        }
        peers
    }

    /// Relay connections: an object mapping relay URL to its `WebSocket` (absent while reconnecting).
    #[wasm_bindgen(js_name = getRelaySockets)]
    pub fn get_relay_sockets(&self) -> Object {
        sockets_by_url(read(&self.inner, |d| d.relay_sockets()).unwrap_or_default())
    }

    /// Sends every track of `stream` to `targetPeers` (all connected peers when omitted); returns
    /// one promise per target peer.
    #[wasm_bindgen(js_name = addStream)]
    pub fn add_stream(&self, stream: &MediaStream, target_peers: JsValue, metadata: JsValue) -> Result<Array, JsValue> {
        media::add_stream(&self.inner, stream, &target_peers, &metadata)
    }

    /// Stops sending `stream` to `targetPeers`.
    #[wasm_bindgen(js_name = removeStream)]
    pub fn remove_stream(&self, stream: &MediaStream, target_peers: JsValue) -> Result<(), JsValue> {
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
    ) -> Result<Array, JsValue> {
        media::add_track(&self.inner, track, stream, &target_peers, &metadata)
    }

    /// Stops sending `track` to the targets: `removeTrack(track, targetPeers?)`, or
    /// `removeTrack(track, stream, targetPeers?)`.
    #[wasm_bindgen(js_name = removeTrack)]
    pub fn remove_track(&self, track: &MediaStreamTrack, first: JsValue, second: JsValue) -> Result<(), JsValue> {
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
    ) -> Result<Array, JsValue> {
        media::replace_track(&self.inner, old_track, new_track, media::targets_after_optional_stream(&first, &second))
    }

    /// Resolves to the round-trip time to `peerId` in milliseconds.
    pub fn ping(&self, peer_id: String) -> Promise {
        let (promise, pending) = deferred(None);
        let started = with_driver(&self.inner, |driver, _| {
            let ping = driver.core.ping(now(), &peer_id)?;
            if let Some(pending) = pending {
                driver.callbacks.pending.insert(Request::Ping(ping), pending);
            }
            Ok::<_, crate::room::RoomError>(())
        });
        match started {
            Some(Ok(())) => promise,
            Some(Err(e)) => Promise::reject(&e.into()),
            None => Promise::reject(&busy()),
        }
    }

    /// Leaves the room: disconnects every peer and relay.
    pub fn leave(&self) -> Promise {
        driver::leave(&self.inner);
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
    make_strategy: impl FnOnce(&StrategyConfig, &mut Random) -> Box<dyn Strategy>,
) -> Result<Room, JsValue> {
    install_panic_hook();
    if room_id.is_empty() {
        return Err(invalid("roomId is required"));
    }
    let config = JsConfig::parse(config)?;
    let relay_urls = config.relay_urls(default_relays, default_redundancy);
    if relay_urls.is_empty() {
        return Err(invalid("no relay URLs to connect to"));
    }
    let on_join_error = match callbacks.dyn_ref::<Function>() {
        Some(callback) => Some(callback.clone()),
        None if callbacks.is_object() => {
            Reflect::get(callbacks, &"onJoinError".into()).ok().and_then(|f| f.dyn_into().ok())
        }
        None => None,
    };
    let key = RoomKey::derive(config.password.as_deref(), &config.app_id, room_id);
    let room_config = RoomConfig {
        app_id: config.app_id.clone(),
        room_id: room_id.to_owned(),
        self_id: page::self_id(),
        relay_urls,
        limits: config.limits,
        connect_timeout: config.connect_timeout,
        clock: driver::wall_clock(),
    };
    let mut random = Random::os();
    let strategy = make_strategy(&Core::<JsBytes>::strategy_config(&room_config), &mut random);
    let core = Core::new(room_config, key, strategy, random, now());
    let callbacks =
        Callbacks { app_id: config.app_id, room_id: room_id.to_owned(), on_join_error, ..Callbacks::default() };
    let inner = driver::start(core, config.rtc_config, callbacks);
    page::register(&inner);
    driver::drive(&inner);
    Ok(Room { inner })
}
