//! Audio and video: `addStream`, `removeStream`, `addTrack`, `removeTrack`, `replaceTrack` on
//! the sending side, `onPeerStream` and `onPeerTrack` on the receiving side.
//!
//! The core announces a stream's metadata to its targets (a media frame keyed by stream id, sent
//! ahead of the tracks) and remembers what peers announced; this layer adds, removes and replaces
//! the tracks on the browser connections, which renegotiate through the core. Streams go only to
//! peers connected at the time; apps send to newcomers in `onPeerJoin`.

use super::actions::parse_targets;
use super::callbacks::emit;
use super::console::warn;
use super::driver::{now, read, with_driver, Shared, WeakDriver};
use super::errors::{busy, js_error};
use super::links;
use super::payload::{self};
use super::peer::{describe, Connection};
use crate::hub::{LinkId, RoomRef};
use crate::room::ConnId;
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use web_sys::{MediaStream, MediaStreamTrack, RtcPeerConnection, RtcRtpSender};

#[wasm_bindgen]
extern "C" {
    /// A promise whose `catch` takes a handler made by `Closure::once_into_js`.
    pub(crate) type Catchable;
    #[wasm_bindgen(method, js_name = catch)]
    pub(crate) fn catch_with(this: &Catchable, handler: &JsValue) -> Promise;

    /// `addTrack`, which throws when the track is already sent on the connection or it is closed.
    #[wasm_bindgen(method, catch, js_class = "RTCPeerConnection", js_name = addTrack)]
    fn add_track(this: &Connection, track: &MediaStreamTrack, stream: &MediaStream) -> Result<RtcRtpSender, JsValue>;

    /// `removeTrack`, which throws when the connection is closed.
    #[wasm_bindgen(method, catch, js_class = "RTCPeerConnection", js_name = removeTrack)]
    pub(crate) fn remove_track(this: &Connection, sender: &RtcRtpSender) -> Result<(), JsValue>;
}

fn tracks(stream: &MediaStream) -> Vec<MediaStreamTrack> {
    stream.get_tracks().iter().map(JsCast::unchecked_into).collect()
}

fn senders(connection: &RtcPeerConnection) -> Vec<RtcRtpSender> {
    connection.get_senders().iter().map(JsCast::unchecked_into).collect()
}

/// The targets' connections. Targets are read from JS before the room is borrowed, and the borrow
/// ends before anything else touches JS: app code run meanwhile may use the room.
fn connections(shared: &Shared, targets: &JsValue) -> Result<Vec<RtcPeerConnection>, JsValue> {
    let targets = parse_targets(targets)?;
    let found = read(shared, |d| -> Result<Vec<RtcPeerConnection>, JsValue> {
        Ok(d.connections(d.core.targets(targets.as_deref())?).into_iter().map(|(_, c)| c).collect())
    });
    found.unwrap_or_else(|| Err(busy()))
}

/// Sends every track of `stream` to the targets; one promise per target peer.
pub(crate) fn add_stream(
    shared: &Shared,
    stream: &MediaStream,
    targets: &JsValue,
    metadata: &JsValue,
) -> Result<Array, JsValue> {
    add_tracks(shared, &tracks(stream), stream, targets, metadata)
}

/// Sends one track of `stream` to the targets; one promise per target peer.
pub(crate) fn add_track(
    shared: &Shared,
    track: &MediaStreamTrack,
    stream: &MediaStream,
    targets: &JsValue,
    metadata: &JsValue,
) -> Result<Array, JsValue> {
    add_tracks(shared, std::slice::from_ref(track), stream, targets, metadata)
}

/// Announces `stream`'s metadata to the targets, then sends them `added` (tracks of `stream`).
/// A target whose connection refuses a track gets a rejected promise.
fn add_tracks(
    shared: &Shared,
    added: &[MediaStreamTrack],
    stream: &MediaStream,
    targets: &JsValue,
    metadata: &JsValue,
) -> Result<Array, JsValue> {
    let targets = parse_targets(targets)?;
    let metadata = match metadata.is_undefined() {
        true => None,
        false => payload::to_json(metadata).map_err(|e| js_error(&e, "invalid"))?.map(String::from),
    };
    let stream_id = stream.id();
    let announced = with_driver(shared, |driver, _| -> Result<(RoomRef, Vec<LinkId>), JsValue> {
        let targets = driver.core.announce_stream(now(), targets.as_deref(), &stream_id, metadata.as_deref())?;
        Ok(driver.links(targets))
    });
    let (room, targets) = announced.unwrap_or_else(|| Err(busy()))?;
    Ok(targets
        .into_iter()
        .filter_map(|link| Some((link, links::connection(link)?)))
        .map(|(link, connection)| {
            let connection = connection.unchecked_ref::<Connection>();
            added.iter().try_for_each(|track| {
                let sender = connection.add_track(track, stream)?;
                links::sent_by(link, room, sender);
                Ok::<(), JsValue>(())
            })
        })
        .map(|added| match added {
            Ok(()) => Promise::resolve(&JsValue::UNDEFINED),
            Err(e) => refused(js_error(&format!("cannot add the track: {}", describe(&e)), "refused")),
        })
        .collect())
}

/// A rejected promise for one peer that is also logged, so apps that ignore the returned
/// promises (as Trystero's examples do) see a warning rather than an unhandled rejection.
fn refused(error: JsValue) -> Promise {
    let message = js_sys::Reflect::get(&error, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default();
    warn(&format!("{} (stream not sent to this peer)", message.trim_start_matches("rendez: ")));
    let rejected = Promise::reject(&error);
    let _ = rejected.unchecked_ref::<Catchable>().catch_with(&Closure::once_into_js(|_: JsValue| {}));
    rejected
}

/// Stops sending the tracks `is_removed` picks to the targets.
fn remove_senders(
    shared: &Shared,
    targets: &JsValue,
    is_removed: impl Fn(&MediaStreamTrack) -> bool,
) -> Result<(), JsValue> {
    for connection in connections(shared, targets)? {
        for sender in senders(&connection) {
            if sender.track().is_some_and(|t| is_removed(&t)) {
                if let Err(e) = connection.unchecked_ref::<Connection>().remove_track(&sender) {
                    warn(&format!("cannot remove a track: {}", describe(&e)));
                }
            }
        }
    }
    Ok(())
}

/// Stops sending `stream` to the targets.
pub(crate) fn remove_stream(shared: &Shared, stream: &MediaStream, targets: &JsValue) -> Result<(), JsValue> {
    let ids: Vec<String> = tracks(stream).iter().map(MediaStreamTrack::id).collect();
    remove_senders(shared, targets, |t| ids.contains(&t.id()))
}

/// Stops sending `track` to the targets.
pub(crate) fn remove_track(shared: &Shared, track: &MediaStreamTrack, targets: &JsValue) -> Result<(), JsValue> {
    let id = track.id();
    remove_senders(shared, targets, |t| t.id() == id)
}

/// Swaps `old` for `new` in what the targets receive, without renegotiating; one promise per
/// target peer.
pub(crate) fn replace_track(
    shared: &Shared,
    old: &MediaStreamTrack,
    new: &MediaStreamTrack,
    targets: &JsValue,
) -> Result<Array, JsValue> {
    let id = old.id();
    Ok(connections(shared, targets)?
        .iter()
        .map(|connection| {
            // A connection sends a track through one sender at most.
            match senders(connection).iter().find(|sender| sender.track().is_some_and(|t| t.id() == id)) {
                Some(sender) => sender.replace_track(Some(new)),
                None => Promise::resolve(&JsValue::UNDEFINED),
            }
        })
        .collect())
}

/// Reports a remote track (and, the first time, its stream) that arrived on `conn` to the app;
/// a stream its peer did not announce in this room only if `unannounced_too`. Returns whether it
/// was reported.
pub(crate) fn report_track(
    weak: &WeakDriver,
    conn: ConnId,
    track: &MediaStreamTrack,
    stream: &MediaStream,
    unannounced_too: bool,
) -> bool {
    let Some(shared) = weak.upgrade() else { return false };
    let arrived = with_driver(&shared, |driver, _| driver.core.track_arrived(conn, &stream.id(), unannounced_too));
    let Some(arrived) = arrived.flatten() else { return false };
    let metadata = payload::parse_json(arrived.metadata.as_deref());
    if arrived.new_stream {
        // `JsValue::from(stream)`, not `stream.clone()`: the latter is `MediaStream.prototype.clone`.
        emit(&shared, "stream", &[JsValue::from(stream), arrived.peer.clone().into(), metadata.clone()]);
    }
    emit(&shared, "track", &[JsValue::from(track), JsValue::from(stream), arrived.peer.into(), metadata]);
    true
}
