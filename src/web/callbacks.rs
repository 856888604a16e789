//! The app's side of a room: its callbacks, the promises it awaits, and the dispatch of core
//! events to them. Dispatch runs only while nothing of the room is borrowed.

use super::console::warn;
use super::driver::{read, Shared};
use super::payload::{self, JsBytes};
use crate::collections::Map;
use crate::room::{Event, PingId, SendId};
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

/// The app's handlers of one action name.
#[derive(Default)]
pub(crate) struct ActionSlot {
    pub on_receive: Option<Function>,
    pub on_progress: Option<Function>,
    /// The `[send, receive, onProgress]` handed out, returned again by later `makeAction` calls.
    pub api: Option<Array>,
}

/// A promise the app awaits, with what settles it.
pub(crate) struct Pending {
    resolve: Function,
    reject: Function,
    /// The send's `onProgress`, for sends.
    progress: Option<Function>,
}

/// Every callback and pending promise of one room.
#[derive(Default)]
pub(crate) struct Callbacks {
    pub app_id: String,
    pub room_id: String,
    pub on_peer_join: Option<Function>,
    pub on_peer_leave: Option<Function>,
    pub on_peer_stream: Option<Function>,
    pub on_peer_track: Option<Function>,
    pub on_join_error: Option<Function>,
    pub actions: Map<String, ActionSlot>,
    /// The promises of sends and pings in flight.
    pub pending: Map<Request, Pending>,
}

/// What a pending promise waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Request {
    Send(SendId),
    Ping(PingId),
}

/// A new promise and its settling functions (`None` only if the promise executor did not run,
/// which JS guarantees it does).
pub(crate) fn deferred(progress: Option<Function>) -> (Promise, Option<Pending>) {
    let mut pending = None;
    let promise = Promise::new(&mut |resolve, reject| {
        pending = Some(Pending { resolve, reject, progress: progress.clone() });
    });
    (promise, pending)
}

/// Calls an app callback, reporting (not propagating) anything it throws.
pub(crate) fn call(callback: Option<&Function>, args: &[JsValue]) {
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

/// Resolves or rejects the promise of `request`.
fn settle(shared: &Shared, request: Request, result: Result<JsValue, JsValue>) {
    let Some(pending) = super::driver::with_callbacks(shared, |c| c.pending.remove(&request)).flatten() else { return };
    let _ = match result {
        Ok(value) => pending.resolve.call1(&JsValue::NULL, &value),
        Err(error) => pending.reject.call1(&JsValue::NULL, &error),
    };
}

/// Hands one core event to the app.
pub(crate) fn dispatch(shared: &Shared, event: Event<JsBytes>) {
    let callbacks = |f: fn(&Callbacks) -> Option<Function>| read(shared, |d| f(&d.callbacks)).flatten();
    match event {
        Event::PeerJoined { peer } => call(callbacks(|c| c.on_peer_join.clone()).as_ref(), &[peer.into()]),
        Event::PeerLeft { peer } => call(callbacks(|c| c.on_peer_leave.clone()).as_ref(), &[peer.into()]),
        Event::JoinError { peer, error } => {
            let Some((callback, app_id, room_id)) = read(shared, |d| {
                let c = &d.callbacks;
                c.on_join_error.clone().map(|f| (f, c.app_id.clone(), c.room_id.clone()))
            })
            .flatten() else {
                return;
            };
            let details = Object::new();
            for (key, value) in [("appId", app_id), ("roomId", room_id), ("peerId", peer), ("error", error)] {
                let _ = Reflect::set(&details, &key.into(), &value.into());
            }
            call(Some(&callback), &[details.into()]);
        }
        Event::Received { peer, action, kind, metadata, parts, total } => {
            let slot = read(shared, |d| {
                d.callbacks.actions.get(&action).map(|s| (s.on_receive.clone(), s.on_progress.clone()))
            });
            let Some((on_receive, on_progress)) = slot.flatten() else { return };
            if on_receive.is_none() && on_progress.is_none() {
                return;
            }
            let metadata = payload::parse_json(metadata.as_deref());
            call(on_progress.as_ref(), &[1.0.into(), peer.clone().into(), metadata.clone()]);
            match payload::decode(kind, parts, total) {
                Ok(value) => call(on_receive.as_ref(), &[value, peer.into(), metadata]),
                Err(e) => warn(&format!("dropped an undecodable payload from peer {peer}: {e:?}")),
            }
        }
        Event::ReceiveProgress { peer, action, metadata, received, total } => {
            let progress = read(shared, |d| d.callbacks.actions.get(&action).and_then(|s| s.on_progress.clone()));
            if let Some(progress) = progress.flatten() {
                let metadata = payload::parse_json(metadata.as_deref());
                call(Some(&progress), &[(received as f64 / total as f64).into(), peer.into(), metadata]);
            }
        }
        Event::SendProgress { send, peer, sent, total } => {
            let progress =
                read(shared, |d| d.callbacks.pending.get(&Request::Send(send)).and_then(|p| p.progress.clone()));
            if let Some(progress) = progress.flatten() {
                let done = if total == 0 { 1.0 } else { sent as f64 / total as f64 };
                call(Some(&progress), &[done.into(), peer.into()]);
            }
        }
        Event::SendDone { send, result } => {
            // As in Trystero, a send resolves to one entry per target.
            let result = result.map(|targets| (0..targets).map(|_| JsValue::UNDEFINED).collect::<Array>().into());
            settle(shared, Request::Send(send), result.map_err(JsValue::from));
        }
        Event::PingDone { ping, result } => {
            let result = result.map(|rtt| (rtt.as_secs_f64() * 1000.0).into());
            settle(shared, Request::Ping(ping), result.map_err(JsValue::from));
        }
        Event::Warning(message) => warn(&message),
    }
}
