//! The browser driver of one room: carries the core's outputs out with `web-sys`, feeds browser
//! events back in, keeps the room's one timer, and hands events to the app only after the core
//! is no longer borrowed (so app callbacks may call back into the room).

use super::callbacks::{dispatch, Callbacks};
use super::links;
use super::payload::JsBytes;
use super::peer;
use super::relay_socket::RelaySocket;
use super::streams;
use crate::collections::Map;
use crate::crypto::RoomKey;
use crate::hub::{LinkId, RoomRef};
use crate::room::{ConnId, Event, Input, Output, Room, StreamId};
use crate::time::{Instant, WallClock};
use js_sys::Function;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{RtcConfiguration, RtcPeerConnection};

/// The driver of one room, shared by the `Room` object and (weakly) by every browser handler.
pub(crate) struct Cell {
    state: RefCell<Driver>,
    /// Inputs that arrived while the driver was borrowed, handled at the next drain.
    deferred: RefCell<Vec<Input<JsBytes>>>,
    /// The timer fired while the driver was borrowed: handled at the next drain.
    timed_out: std::cell::Cell<bool>,
}

pub(crate) type Shared = Rc<Cell>;
pub(crate) type WeakDriver = Weak<Cell>;

pub(crate) struct Driver {
    pub core: Room<JsBytes>,
    relays: Vec<Option<RelaySocket>>,
    /// This room among the page's ([`links`]).
    room: RoomRef,
    /// The connection each of the room's connections runs on (its own, or one shared).
    pub peers: Map<ConnId, LinkId>,
    pub callbacks: Callbacks,
    /// The source of each stream we send (see `streams`).
    pub stream_sources: Map<StreamId, Function>,
    rtc_config: RtcConfiguration,
    timer: Timer,
}

/// The room's one timer, armed for the core's next deadline.
struct Timer {
    on_fire: Closure<dyn FnMut()>,
    handle: Option<i32>,
    deadline: Option<Instant>,
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let (Some(window), Some(handle)) = (web_sys::window(), self.handle) {
            window.clear_timeout_with_handle(handle);
        }
    }
}

/// The current time, from `performance.now()`.
pub(crate) fn now() -> Instant {
    Instant::from_millis_f64(performance_now())
}

fn performance_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// The wall clock now: `Date.now()` keeps counting while the machine sleeps, `performance.now()`
/// may not, so the origin is read anew each time rather than taken from `performance.timeOrigin`.
pub(crate) fn wall_clock() -> WallClock {
    WallClock { origin_unix_ms: (js_sys::Date::now() - performance_now()).max(0.0) as u64 }
}

/// Starts driving `core`, a room of `app` whose key is being derived.
pub(crate) fn start(core: Room<JsBytes>, rtc_config: RtcConfiguration, callbacks: Callbacks, app: &str) -> Shared {
    let relays = core.relay_urls().iter().map(|_| None).collect();
    let shared = Rc::new_cyclic(|weak: &WeakDriver| {
        let weak = weak.clone();
        let on_fire = Closure::new(move || {
            if let Some(shared) = weak.upgrade() {
                on_timer(&shared);
            }
        });
        let timer = Timer { on_fire, handle: None, deadline: None };
        let room = RoomRef(u64::MAX);
        let stream_sources = Map::default();
        let driver = Driver { core, relays, room, peers: Map::default(), callbacks, stream_sources, rtc_config, timer };
        Cell { state: RefCell::new(driver), deferred: RefCell::new(Vec::new()), timed_out: std::cell::Cell::new(false) }
    });
    let room = links::join(app, Rc::downgrade(&shared));
    shared.state.borrow_mut().room = room;
    shared
}

/// The room's key is derived: the core reads the signaling it held, and the room, now with its
/// tag, may use and make shared connections. Called from a future, so from a microtask, where
/// the driver is never borrowed.
pub(crate) fn key_derived(weak: &WeakDriver, key: RoomKey) {
    let Some(shared) = weak.upgrade() else { return };
    let tag = key.tag();
    let joined = with_driver(&shared, |driver, _| {
        driver.core.key_derived(now(), key);
        (driver.room, driver.core.self_id().to_owned())
    });
    if let Some((room, self_id)) = joined {
        links::share(room, &self_id, tag);
    }
}

fn on_timer(shared: &Shared) {
    if let Ok(mut driver) = shared.state.try_borrow_mut() {
        driver.timer.handle = None;
        driver.timer.deadline = None;
        driver.core.set_wall_clock(wall_clock());
        driver.core.handle_timeout(now());
    } else {
        shared.timed_out.set(true);
    }
    drive(shared);
}

/// Feeds a browser event to the room, then drives it.
pub(crate) fn feed(weak: &WeakDriver, input: Input<JsBytes>) {
    let Some(shared) = weak.upgrade() else { return };
    match shared.state.try_borrow_mut() {
        Ok(mut driver) => {
            driver.core.set_wall_clock(wall_clock());
            driver.core.handle_input(now(), input);
        }
        Err(_) => shared.deferred.borrow_mut().push(input),
    }
    drive(&shared);
}

/// Runs `f` on the driver if it is not borrowed (it never is where app code runs), then drives.
pub(crate) fn with_driver<T>(shared: &Shared, f: impl FnOnce(&mut Driver, &WeakDriver) -> T) -> Option<T> {
    let result = {
        let mut driver = shared.state.try_borrow_mut().ok()?;
        driver.core.set_wall_clock(wall_clock());
        f(&mut driver, &Rc::downgrade(shared))
    };
    drive(shared);
    Some(result)
}

/// Runs `f` on the app's callbacks if the driver is not borrowed.
pub(crate) fn with_callbacks<T>(shared: &Shared, f: impl FnOnce(&mut Callbacks) -> T) -> Option<T> {
    Some(f(&mut shared.state.try_borrow_mut().ok()?.callbacks))
}

/// Reads the driver if it is not borrowed.
pub(crate) fn read<T>(shared: &Shared, f: impl FnOnce(&Driver) -> T) -> Option<T> {
    Some(f(&*shared.state.try_borrow().ok()?))
}

/// Drains the core: carries every output out, re-arms the timer, then hands the events to the app.
pub(crate) fn drive(shared: &Shared) {
    let weak = Rc::downgrade(shared);
    let events = {
        let Ok(mut driver) = shared.state.try_borrow_mut() else { return };
        let mut events = Vec::new();
        if shared.timed_out.replace(false) {
            driver.timer.handle = None;
            driver.timer.deadline = None;
            driver.core.set_wall_clock(wall_clock());
            driver.core.handle_timeout(now());
        }
        loop {
            let deferred = std::mem::take(&mut *shared.deferred.borrow_mut());
            if deferred.is_empty() {
                match driver.core.poll_output() {
                    Some(output) => events.extend(driver.perform(&weak, output)),
                    None => break,
                }
            } else {
                let now = now();
                for input in deferred {
                    driver.core.handle_input(now, input);
                }
            }
        }
        driver.arm_timer();
        events
    };
    for event in events {
        dispatch(shared, event);
    }
}

impl Driver {
    /// Carries `output` out; an event is handed back for the app.
    fn perform(&mut self, weak: &WeakDriver, output: Output<JsBytes>) -> Option<Event<JsBytes>> {
        match output {
            Output::OpenRelay { relay, url, protocols } => match RelaySocket::open(&url, protocols, weak, relay) {
                Ok(socket) => self.relays[relay.0] = Some(socket),
                Err(e) => {
                    let reason = Some(format!("cannot connect: {}", peer::describe(&e)));
                    self.core.handle_input(now(), Input::RelayClosed { relay, reason });
                }
            },
            Output::CloseRelay { relay } => self.relays[relay.0] = None,
            Output::SendRelay { relay, data } => {
                if let Some(socket) = &self.relays[relay.0] {
                    socket.send(&data);
                }
            }
            Output::CreateConnection { conn, trickle } => {
                match links::create(self.room, conn, &self.rtc_config, trickle) {
                    Ok(link) => {
                        self.peers.insert(conn, link);
                    }
                    Err(e) => {
                        let error = format!("cannot create a peer connection: {}", peer::describe(&e));
                        self.core.handle_input(now(), Input::ConnectionFailed { conn, error });
                    }
                }
            }
            Output::Negotiate { conn, step } => {
                let link = self.peers.get(&conn).copied();
                let Some(connection) = link.and_then(links::connection) else {
                    let outcome = Err("the connection is gone".to_owned());
                    self.core.handle_input(now(), Input::Negotiated { conn, outcome, stable: true });
                    return None;
                };
                let weak = weak.clone();
                let trickle = link.is_some_and(links::trickles);
                spawn_local(async move {
                    let outcome = peer::negotiate(&connection, step, trickle).await;
                    let stable = connection.signaling_state() == web_sys::RtcSignalingState::Stable;
                    feed(&weak, Input::Negotiated { conn, outcome, stable });
                });
            }
            Output::SendFrame { conn, frame } => {
                let &link = self.peers.get(&conn)?;
                match links::send(self.room, link, &frame) {
                    Ok(amount) if frame.body.is_some() => {
                        self.core.handle_input(now(), Input::Buffered { conn, amount })
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let error = format!("cannot make a frame of {} bytes: {}", frame.len(), peer::describe(&e));
                        self.core.handle_input(now(), Input::ConnectionFailed { conn, error });
                    }
                }
            }
            Output::AddCandidate { conn, candidate } => {
                if let Some(&link) = self.peers.get(&conn) {
                    links::add_candidate(link, &candidate);
                }
            }
            Output::CloseConnection { conn } => {
                if let Some(link) = self.peers.remove(&conn) {
                    links::close(self.room, conn, link);
                }
            }
            Output::ReadStream { stream, offset, max } => streams::read(self, weak, stream, offset, max),
            Output::Event(event) => {
                if let Event::StreamSent { stream, .. } = &event {
                    self.stream_sources.remove(stream);
                }
                return Some(event);
            }
        }
        None
    }

    fn arm_timer(&mut self) {
        let next = self.core.poll_timeout();
        let timer = &mut self.timer;
        if next == timer.deadline {
            return;
        }
        let Some(window) = web_sys::window() else { return };
        if let Some(handle) = timer.handle.take() {
            window.clear_timeout_with_handle(handle);
        }
        timer.deadline = next;
        if let Some(at) = next {
            let ms = (at - now()).as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
            let callback = timer.on_fire.as_ref().unchecked_ref();
            timer.handle = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback, ms).ok();
        }
    }

    /// The browser connections of `peers` (peer id and connection id), by peer id.
    pub fn connections(&self, peers: impl IntoIterator<Item = (String, ConnId)>) -> Vec<(String, RtcPeerConnection)> {
        peers.into_iter().filter_map(|(id, conn)| Some((id, links::connection(*self.peers.get(&conn)?)?))).collect()
    }

    /// The shared-connection names of `peers` (peer id and connection id), with this room's.
    pub fn links(&self, peers: impl IntoIterator<Item = (String, ConnId)>) -> (RoomRef, Vec<LinkId>) {
        (self.room, peers.into_iter().filter_map(|(_, conn)| self.peers.get(&conn).copied()).collect())
    }

    /// The relay connections that exist now, by URL.
    pub fn relay_sockets(&self) -> Vec<(String, web_sys::WebSocket)> {
        let urls = self.core.relay_urls();
        self.relays
            .iter()
            .enumerate()
            .filter_map(|(i, socket)| Some((urls[i].clone(), socket.as_ref()?.web_socket().clone())))
            .collect()
    }
}

/// Leaves the room (idempotent): the core says goodbye and closes everything (shared connections
/// stay open for the page's other rooms); pending sends, requests and pings reject. Then the event function goes, breaking the cycle through it (it
/// refers to the room object, which owns this driver).
pub(crate) fn leave(shared: &Shared) {
    let left = with_driver(shared, |driver, _| {
        driver.core.leave(now());
        driver.room
    });
    if let Some(room) = left {
        links::leave(room);
    }
    with_callbacks(shared, |c| c.on_event = None);
}
