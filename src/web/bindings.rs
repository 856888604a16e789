//! The JS-facing API: `selfId`, the page-wide calls, the `Room` class, and `join_room` for the
//! strategy crates' entry points.

use super::actions;
use super::callbacks::{Callbacks, Ticket};
use super::config::{self, RoomConfig as JsConfig};
use super::console::install_panic_hook;
use super::driver::{self, now, read, with_callbacks, with_driver, Shared};
use super::errors::{busy, invalid};
use super::key_derivation;
use super::media;
use super::page;
use super::payload::JsBytes;
use super::streams;
use crate::random::Random;
use crate::room::{ConnId, IncomingStreamId, RequestId, Room as Core, RoomConfig, SendId, StreamId};
use crate::strategy::{Strategy, StrategyConfig};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
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

/// The page came back after it may have slept: relays reconnect at once, and rooms still looking
/// for peers announce.
#[wasm_bindgen(js_name = wakeRelays)]
pub fn wake_relays() {
    page::wake();
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

/// A joined room, as the driver sees it: `js/room.js` wraps it in the room object apps use.
/// Freeing it (`free()`, `Symbol.dispose`) leaves it. Leaving drops the event function (which
/// refers back to this object), so a room left and no longer referenced can be collected.
#[wasm_bindgen]
pub struct Room {
    inner: Shared,
}

impl Drop for Room {
    fn drop(&mut self) {
        driver::leave(&self.inner);
    }
}

#[wasm_bindgen]
impl Room {
    /// Sets the function called as `onEvent(type, ...args)` for every event of the room.
    #[wasm_bindgen(js_name = onEvent)]
    pub fn on_event(&self, callback: Function) {
        with_callbacks(&self.inner, |c| c.on_event = Some(callback));
    }

    /// Sends `data` (not a `Blob`) of `action` to `targets`: `[promise, sendId]`.
    pub fn send(
        &self,
        action: String,
        data: JsValue,
        targets: JsValue,
        metadata: JsValue,
        on_progress: JsValue,
    ) -> Result<Array, JsValue> {
        actions::send(&self.inner, action, &data, &targets, &metadata, &on_progress)
    }

    /// Sends request `data` (not a `Blob`) of `action` to `target`: `[promise, requestId]`.
    pub fn request(
        &self,
        action: String,
        data: JsValue,
        target: String,
        metadata: JsValue,
        timeout_ms: Option<f64>,
        on_progress: JsValue,
    ) -> Result<Array, JsValue> {
        actions::request(&self.inner, action, &data, target, &metadata, timeout_ms, &on_progress)
    }

    /// Streams what `source(offset, max)` reads to `peer` on `action`: `[promise, streamId]`.
    /// A `seekable` source reads any offset asked, so the stream resumes after a dropped
    /// connection.
    #[wasm_bindgen(js_name = sendStream)]
    pub fn send_stream(
        &self,
        action: String,
        peer: String,
        source: Function,
        size: Option<f64>,
        seekable: bool,
        metadata: JsValue,
    ) -> Result<Array, JsValue> {
        streams::send_stream(&self.inner, action, peer, source, size, seekable, &metadata)
    }

    /// Aborts stream `id`: its promise rejects with an `AbortError` and its receiver drops it.
    #[wasm_bindgen(js_name = abortStream)]
    pub fn abort_stream(&self, id: f64) {
        with_driver(&self.inner, |driver, _| driver.core.abort_stream(now(), StreamId(id as u64)));
    }

    /// The app has consumed `total` bytes of incoming stream `id` in all.
    #[wasm_bindgen(js_name = streamConsumed)]
    pub fn stream_consumed(&self, id: f64, total: f64) -> Result<(), JsValue> {
        let id = IncomingStreamId(id as u64);
        with_driver(&self.inner, |driver, _| driver.core.stream_consumed(now(), id, total as u64)).ok_or_else(busy)
    }

    /// The app stages incoming stream `id` to pick it up after a reload (see `adoptStream`).
    #[wasm_bindgen(js_name = stageStream)]
    pub fn stage_stream(&self, id: f64) {
        with_driver(&self.inner, |driver, _| driver.core.stage_incoming_stream(now(), IncomingStreamId(id as u64)));
    }

    /// Adopts the stream `ticket` names, of which an earlier page staged `staged` bytes: its id;
    /// hand the staged bytes back with `streamRehash`.
    #[wasm_bindgen(js_name = adoptStream)]
    pub fn adopt_stream(&self, ticket: &str, staged: f64) -> Result<f64, JsValue> {
        streams::adopt_stream(&self.inner, ticket, staged)
    }

    /// The next staged bytes of adopted stream `id`, in order.
    #[wasm_bindgen(js_name = streamRehash)]
    pub fn stream_rehash(&self, id: f64, bytes: Uint8Array) -> Result<(), JsValue> {
        streams::stream_rehash(&self.inner, id, bytes)
    }

    /// The app cancelled incoming stream `id`: its sender is told.
    #[wasm_bindgen(js_name = cancelStream)]
    pub fn cancel_stream(&self, id: f64) {
        with_driver(&self.inner, |driver, _| driver.core.cancel_incoming_stream(now(), IncomingStreamId(id as u64)));
    }

    /// Aborts send `id`: its promise rejects with an `AbortError` and its receivers drop it.
    #[wasm_bindgen(js_name = abortSend)]
    pub fn abort_send(&self, id: f64) {
        with_driver(&self.inner, |driver, _| driver.core.abort(now(), SendId(id as u64)));
    }

    /// Aborts request `id`: its promise rejects with an `AbortError` and a reply is ignored.
    #[wasm_bindgen(js_name = abortRequest)]
    pub fn abort_request(&self, id: f64) {
        with_driver(&self.inner, |driver, _| driver.core.abort_request(now(), RequestId(id as u64)));
    }

    /// Answers the peer's request `id`: with `value` when `ok`, else refused with message `value`.
    pub fn reply(&self, id: f64, ok: bool, value: JsValue) -> Result<(), JsValue> {
        actions::reply(&self.inner, id, ok, &value)
    }

    /// Starts or stops serving requests to `action` (requests held for it are handed over).
    pub fn serve(&self, action: String, serving: bool) {
        with_driver(&self.inner, |driver, _| driver.core.serve(now(), &action, serving));
    }

    /// Sends handshake `data` (not a `Blob`) over connection `conn`, whose peer is being admitted.
    #[wasm_bindgen(js_name = handshakeSend)]
    pub fn handshake_send(&self, conn: f64, data: JsValue, metadata: JsValue) -> Result<Promise, JsValue> {
        let data = actions::send_request(String::new(), &data, None, &metadata, false)?;
        let started = actions::start_pending(&self.inner, None, |core| {
            core.handshake_send(now(), ConnId(conn as u64), data).map(Ticket::Send)
        });
        Ok(started?.0)
    }

    /// Ends the handshake over connection `conn`: passed without `error`, failed with it.
    #[wasm_bindgen(js_name = handshakeDone)]
    pub fn handshake_done(&self, conn: f64, error: Option<String>) {
        let result = error.map_or(Ok(()), Err);
        with_driver(&self.inner, |driver, _| driver.core.handshake_done(now(), ConnId(conn as u64), result));
    }

    /// Joined peers: an object mapping peer id to its `RTCPeerConnection`.
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

    /// Sends every track of `stream` to `targets` (all joined peers when omitted); returns one
    /// promise per target peer.
    #[wasm_bindgen(js_name = addStream)]
    pub fn add_stream(&self, stream: &MediaStream, targets: JsValue, metadata: JsValue) -> Result<Array, JsValue> {
        media::add_stream(&self.inner, stream, &targets, &metadata)
    }

    /// Stops sending `stream` to `targets`.
    #[wasm_bindgen(js_name = removeStream)]
    pub fn remove_stream(&self, stream: &MediaStream, targets: JsValue) -> Result<(), JsValue> {
        media::remove_stream(&self.inner, stream, &targets)
    }

    /// Sends `track` (of `stream`) to `targets`; returns one promise per target peer.
    #[wasm_bindgen(js_name = addTrack)]
    pub fn add_track(
        &self,
        track: &MediaStreamTrack,
        stream: &MediaStream,
        targets: JsValue,
        metadata: JsValue,
    ) -> Result<Array, JsValue> {
        media::add_track(&self.inner, track, stream, &targets, &metadata)
    }

    /// Stops sending `track` to `targets`.
    #[wasm_bindgen(js_name = removeTrack)]
    pub fn remove_track(&self, track: &MediaStreamTrack, targets: JsValue) -> Result<(), JsValue> {
        media::remove_track(&self.inner, track, &targets)
    }

    /// Replaces `oldTrack` with `newTrack` for `targets`, without renegotiating; returns one
    /// promise per target peer.
    #[wasm_bindgen(js_name = replaceTrack)]
    pub fn replace_track(
        &self,
        old_track: &MediaStreamTrack,
        new_track: &MediaStreamTrack,
        targets: JsValue,
    ) -> Result<Array, JsValue> {
        media::replace_track(&self.inner, old_track, new_track, &targets)
    }

    /// Resolves to the round-trip time to `peerId` in milliseconds.
    pub fn ping(&self, peer_id: String) -> Promise {
        let started = actions::start_pending(&self.inner, None, |core| core.ping(now(), &peer_id).map(Ticket::Ping));
        started.map_or_else(|e| Promise::reject(&e), |(promise, _)| promise)
    }

    /// Leaves the room: disconnects every peer and relay.
    pub fn leave(&self) {
        driver::leave(&self.inner);
    }
}

/// Joins `room_id` with the strategy `make_strategy` builds; `default_relays` and
/// `default_redundancy` apply when the config names no relays. `admission` is
/// `{handshake: boolean, handshakeTimeoutMs?: number}` from `js/expose.js`.
pub fn join_room(
    config: &JsValue,
    room_id: &str,
    admission: &JsValue,
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
    let (admission, handshake_timeout) = config::admission(admission)?;
    let room_config = RoomConfig {
        app_id: config.app_id.clone(),
        room_id: room_id.to_owned(),
        self_id: page::self_id(),
        relay_urls,
        limits: config.limits,
        connect_timeout: config.connect_timeout,
        admission,
        handshake_timeout,
        passive: config.passive,
        relay_warnings: config.relay_warnings,
        trickle_ice: config.trickle_ice,
        clock: driver::wall_clock(),
    };
    let mut random = Random::os();
    let strategy = make_strategy(&Core::<JsBytes>::strategy_config(&room_config), &mut random);
    let core = Core::awaiting_key(room_config, strategy, random, now());
    let (app_id, password, room_id) = (config.app_id.clone(), config.password, room_id.to_owned());
    let callbacks = Callbacks { app_id: config.app_id, room_id: room_id.clone(), ..Callbacks::default() };
    let inner = driver::start(core, config.rtc_config, callbacks, &app_id);
    page::register(&inner);
    driver::drive(&inner);
    let room = Rc::downgrade(&inner);
    spawn_local(async move {
        let key = key_derivation::derive(password.as_deref(), &app_id, &room_id).await;
        driver::key_derived(&room, key);
    });
    Ok(Room { inner })
}
