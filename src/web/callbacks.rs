//! The app's side of a room: the one function events go to (the room object of `js/room.js`
//! dispatches them to the app's handlers), the promises the app awaits, and the dispatch of core
//! events. Dispatch runs only while nothing of the room is borrowed.

use super::console::warn;
use super::driver::{now, read, with_callbacks, with_driver, Shared};
use super::payload::{self, JsBytes};
use crate::collections::Map;
use crate::room::{ConnId, Delivery, Event, PingId, RequestId, SendId, StreamId};
use crate::stream_ticket::StreamTicket;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

/// A promise the app awaits, with what settles it.
pub(crate) struct Pending {
    resolve: Function,
    reject: Function,
    /// The `onProgress` of a send or request.
    progress: Option<Function>,
}

/// The event function and pending promises of one room.
#[derive(Default)]
pub(crate) struct Callbacks {
    pub app_id: String,
    pub room_id: String,
    /// Called as `onEvent(type, ...args)` for every event.
    pub on_event: Option<Function>,
    /// The promises of sends, requests and pings in flight.
    pub pending: Map<Ticket, Pending>,
}

/// What a pending promise waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Ticket {
    Send(SendId),
    Ping(PingId),
    Request(RequestId),
    Stream(StreamId),
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
    if let Err(e) = callback.apply(&JsValue::NULL, &args.iter().collect()) {
        warn(&format!("a room callback threw: {e:?}"));
    }
}

/// Hands event `kind` with `args` to the room's event function.
pub(crate) fn emit(shared: &Shared, kind: &str, args: &[JsValue]) {
    let on_event = read(shared, |d| d.callbacks.on_event.clone()).flatten();
    let all: Vec<JsValue> = std::iter::once(JsValue::from_str(kind)).chain(args.iter().cloned()).collect();
    call(on_event.as_ref(), &all);
}

/// Resolves or rejects the promise of `ticket`.
fn settle(shared: &Shared, ticket: Ticket, result: Result<JsValue, JsValue>) {
    let Some(pending) = with_callbacks(shared, |c| c.pending.remove(&ticket)).flatten() else { return };
    let _ = match result {
        Ok(value) => pending.resolve.call1(&JsValue::NULL, &value),
        Err(error) => pending.reject.call1(&JsValue::NULL, &error),
    };
}

/// A connection id as JS sees it (the handshake's token).
fn conn_value(conn: ConnId) -> JsValue {
    (conn.0 as f64).into()
}

/// Reports the progress of the send or request `ticket` to its `onProgress`.
fn progress(shared: &Shared, ticket: Ticket, peer: String, sent: u64, total: u64) {
    let progress = read(shared, |d| d.callbacks.pending.get(&ticket).and_then(|p| p.progress.clone()));
    let done = if total == 0 { 1.0 } else { sent as f64 / total as f64 };
    call(progress.flatten().as_ref(), &[done.into(), peer.into()]);
}

/// A delivery's value and metadata, or why it cannot be read.
fn open(delivery: Delivery<JsBytes>) -> Result<(JsValue, JsValue), JsValue> {
    let metadata = payload::parse_json(delivery.metadata.as_deref());
    Ok((payload::decode(delivery.kind, delivery.parts, delivery.total)?, metadata))
}

/// Hands one core event to the app.
pub(crate) fn dispatch(shared: &Shared, event: Event<JsBytes>) {
    let peer_value = |peer: String| JsValue::from(peer);
    match event {
        Event::PeerJoined { peer } => emit(shared, "join", &[peer_value(peer)]),
        Event::PeerLeft { peer } => emit(shared, "leave", &[peer_value(peer)]),
        Event::JoinError { peer, error } => {
            let Some((app_id, room_id)) = read(shared, |d| (d.callbacks.app_id.clone(), d.callbacks.room_id.clone()))
            else {
                return;
            };
            let details = Object::new();
            for (key, value) in [("appId", app_id), ("roomId", room_id), ("peerId", peer), ("error", error)] {
                let _ = Reflect::set(&details, &key.into(), &value.into());
            }
            emit(shared, "joinError", &[details.into()]);
        }
        Event::Received { peer, action, kind, metadata, parts, total } => {
            let delivery = Delivery { kind, metadata, parts, total };
            match open(delivery) {
                Ok((value, metadata)) => emit(shared, "message", &[action.into(), value, peer.into(), metadata]),
                Err(e) => warn(&format!("dropped an undecodable payload from peer {peer}: {e:?}")),
            }
        }
        Event::ReceiveProgress { peer, action, metadata, received, total } => {
            let metadata = payload::parse_json(metadata.as_deref());
            let percent = received as f64 / total as f64;
            emit(shared, "progress", &[action.into(), percent.into(), peer.into(), metadata]);
        }
        Event::SendProgress { send, peer, sent, total } => progress(shared, Ticket::Send(send), peer, sent, total),
        Event::RequestProgress { request, peer, sent, total } => {
            progress(shared, Ticket::Request(request), peer, sent, total);
        }
        Event::SendDone { send, result } => {
            // As in Trystero, a send resolves to one entry per target.
            let result = result.map(|targets| (0..targets).map(|_| JsValue::UNDEFINED).collect::<Array>().into());
            settle(shared, Ticket::Send(send), result.map_err(JsValue::from));
        }
        Event::PingDone { ping, result } => {
            let result = result.map(|rtt| (rtt.as_secs_f64() * 1000.0).into());
            settle(shared, Ticket::Ping(ping), result.map_err(JsValue::from));
        }
        Event::RequestReceived { request, peer, action, delivery } => match open(delivery) {
            Ok((value, metadata)) => {
                emit(shared, "request", &[action.into(), (request.0 as f64).into(), value, peer.into(), metadata]);
            }
            Err(e) => {
                warn(&format!("refused an undecodable request from peer {peer}: {e:?}"));
                let refusal = Err("the request could not be decoded".to_owned());
                with_driver(shared, |driver, _| driver.core.reply(now(), request, refusal));
            }
        },
        Event::RequestWithdrawn { request } => emit(shared, "withdrawn", &[(request.0 as f64).into()]),
        Event::RequestDone { request, result } => {
            let result = match result {
                Ok(delivery) => open(delivery).map(|(value, _)| value),
                Err(e) => Err(JsValue::from(e)),
            };
            settle(shared, Ticket::Request(request), result);
        }
        Event::HandshakeStarted { peer, conn, initiator } => {
            emit(shared, "handshake", &[conn_value(conn), peer.into(), initiator.into()]);
        }
        Event::HandshakeData { peer, conn, delivery } => match open(delivery) {
            Ok((value, metadata)) => emit(shared, "handshakeData", &[conn_value(conn), value, metadata]),
            Err(e) => warn(&format!("dropped undecodable handshake data from peer {peer}: {e:?}")),
        },
        Event::HandshakeEnded { conn, .. } => emit(shared, "handshakeEnded", &[conn_value(conn)]),
        Event::StreamStarted { stream, peer, id, action, kind, metadata, size } => {
            let ticket = StreamTicket { peer, id, action, kind, metadata, size };
            let encoded = ticket.encode();
            let StreamTicket { peer, action, metadata, size, .. } = ticket;
            let size = size.map_or(JsValue::UNDEFINED, |size| (size as f64).into());
            let metadata = payload::parse_json(metadata.as_deref());
            let args = [action.into(), (stream.0 as f64).into(), peer.into(), size, metadata, encoded.into()];
            emit(shared, "streamStart", &args);
        }
        Event::StreamData { stream, data } => emit(shared, "streamData", &[(stream.0 as f64).into(), data.0.into()]),
        Event::StreamEnded { stream, result } => {
            let error = result.err().map_or(JsValue::NULL, JsValue::from);
            emit(shared, "streamEnd", &[(stream.0 as f64).into(), error]);
        }
        Event::StreamSent { stream, result } => {
            let result = result.map(|size| (size as f64).into());
            settle(shared, Ticket::Stream(stream), result.map_err(JsValue::from));
        }
        Event::Warning(message) => warn(&message),
    }
}
