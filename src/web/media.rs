//! Audio and video: `addStream`, `removeStream`, `addTrack`, `removeTrack`, `replaceTrack` on
//! the sending side, `onPeerStream` and `onPeerTrack` on the receiving side.
//!
//! Adding or removing tracks renegotiates over the data channel (see `renegotiation`). Metadata
//! travels ahead of the tracks in a media frame keyed by stream id (the id the receiver sees).
//! Streams are sent only to peers connected at the time; apps send to newcomers in `onPeerJoin`.

use super::console::warn;
use super::payload;
use super::peer::Peer;
use super::room::{call, parse_targets, Shared};
use crate::frame::encode_media;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{MediaStream, MediaStreamTrack, RtcRtpSender, RtcTrackEvent};

#[wasm_bindgen]
extern "C" {
    /// A promise whose `catch` takes a handler made by `Closure::once_into_js`.
    type Catchable;
    #[wasm_bindgen(method, js_name = catch)]
    fn catch_with(this: &Catchable, handler: &JsValue) -> Promise;
}

/// Stream metadata entries kept per peer; the map is cleared past this many.
const MAX_STREAM_METADATA: usize = 256;

fn tracks(stream: &MediaStream) -> Vec<MediaStreamTrack> {
    stream.get_tracks().iter().map(JsCast::unchecked_into).collect()
}

fn senders(peer: &Peer) -> Vec<RtcRtpSender> {
    peer.connection().get_senders().iter().map(JsCast::unchecked_into).collect()
}

/// The media frame announcing `stream`'s metadata ahead of its tracks.
fn metadata_frame(stream: &MediaStream, metadata: &JsValue) -> Result<Uint8Array, JsError> {
    let message = Object::new();
    let _ = Reflect::set(&message, &"stream".into(), &stream.id().into());
    let _ = Reflect::set(&message, &"metadata".into(), metadata);
    let json = payload::to_json(&message)?.map(String::from).unwrap_or_default();
    Ok(Uint8Array::from(&encode_media(&json)[..]))
}

/// The targets' peers. Targets and metadata are read from JS before the room is borrowed, and the
/// borrow ends before anything else touches JS: app code run meanwhile may use the room.
fn peers(room: &Shared, targets: &JsValue) -> Result<Vec<Peer>, JsError> {
    let targets = parse_targets(targets)?;
    Ok(room.borrow().target_peers(targets)?.into_iter().map(|(_, peer)| peer).collect())
}

fn send(peer: &Peer, frame: &Uint8Array) -> Result<(), JsError> {
    peer.send(frame).map_err(|e| JsError::new(&format!("rendez: {e:?}")))
}

/// Sends every track of `stream` to the targets; one promise per target peer.
pub(crate) fn add_stream(
    room: &Shared,
    stream: &MediaStream,
    targets: &JsValue,
    metadata: &JsValue,
) -> Result<Array, JsError> {
    add_tracks(room, &tracks(stream), stream, targets, metadata)
}

/// Sends one track of `stream` to the targets; one promise per target peer.
pub(crate) fn add_track(
    room: &Shared,
    track: &MediaStreamTrack,
    stream: &MediaStream,
    targets: &JsValue,
    metadata: &JsValue,
) -> Result<Array, JsError> {
    add_tracks(room, std::slice::from_ref(track), stream, targets, metadata)
}

/// Announces `stream`'s metadata to the targets, then sends them `added` (tracks of `stream`).
/// Each target's promise rejects if its channel would not take the announcement.
fn add_tracks(
    room: &Shared,
    added: &[MediaStreamTrack],
    stream: &MediaStream,
    targets: &JsValue,
    metadata: &JsValue,
) -> Result<Array, JsError> {
    let frame = metadata_frame(stream, metadata)?;
    Ok(peers(room, targets)?
        .iter()
        .map(|peer| match send(peer, &frame) {
            Ok(()) => {
                for track in added {
                    peer.connection().add_track_0(track, stream);
                }
                Promise::resolve(&JsValue::UNDEFINED)
            }
            Err(error) => refused(error),
        })
        .collect())
}

/// A rejected promise for one peer that is also logged, so apps that ignore the returned
/// promises (as Trystero's examples do) see a warning rather than an unhandled rejection.
fn refused(error: JsError) -> Promise {
    let error = JsValue::from(error);
    let message = Reflect::get(&error, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default();
    warn(&format!("{message} (stream not sent to this peer)"));
    let rejected = Promise::reject(&error);
    let _ = rejected.unchecked_ref::<Catchable>().catch_with(&Closure::once_into_js(|_: JsValue| {}));
    rejected
}

/// The targets of `removeTrack` and `replaceTrack`, which take them either right after the
/// tracks (Trystero's current form, where `replaceTrack` may add metadata after them) or after a
/// stream (its earlier form, whose stream slot may also be left null).
pub(crate) fn targets_after_optional_stream<'a>(first: &'a JsValue, second: &'a JsValue) -> &'a JsValue {
    let names_peers = second.is_string() || Array::is_array(second);
    if first.is_instance_of::<MediaStream>() || (first.is_null() || first.is_undefined()) && names_peers {
        second
    } else {
        first
    }
}

/// Stops sending the tracks `is_removed` picks to the targets.
fn remove_senders(
    room: &Shared,
    targets: &JsValue,
    is_removed: impl Fn(&MediaStreamTrack) -> bool,
) -> Result<(), JsError> {
    for peer in peers(room, targets)? {
        for sender in senders(&peer) {
            if sender.track().is_some_and(|t| is_removed(&t)) {
                peer.connection().remove_track(&sender);
            }
        }
    }
    Ok(())
}

/// Stops sending `stream` to the targets.
pub(crate) fn remove_stream(room: &Shared, stream: &MediaStream, targets: &JsValue) -> Result<(), JsError> {
    let ids: Vec<String> = tracks(stream).iter().map(MediaStreamTrack::id).collect();
    remove_senders(room, targets, |t| ids.contains(&t.id()))
}

/// Stops sending `track` to the targets.
pub(crate) fn remove_track(room: &Shared, track: &MediaStreamTrack, targets: &JsValue) -> Result<(), JsError> {
    let id = track.id();
    remove_senders(room, targets, |t| t.id() == id)
}

/// Swaps `old` for `new` in what the targets receive, without renegotiating; one promise per
/// target peer.
pub(crate) fn replace_track(
    room: &Shared,
    old: &MediaStreamTrack,
    new: &MediaStreamTrack,
    targets: &JsValue,
) -> Result<Array, JsError> {
    let id = old.id();
    Ok(peers(room, targets)?
        .iter()
        .map(|peer| {
            // A connection sends a track through one sender at most.
            match senders(peer).iter().find(|sender| sender.track().is_some_and(|t| t.id() == id)) {
                Some(sender) => sender.replace_track(Some(new)),
                None => Promise::resolve(&JsValue::UNDEFINED),
            }
        })
        .collect())
}

/// Remembers the metadata a peer announced for one of its streams.
pub(crate) fn on_metadata(room: &Shared, key: u64, text: &str) {
    let parsed = match payload::parse_json(text) {
        Ok(parsed) => parsed,
        Err(_) => return warn("dropped unreadable stream metadata"),
    };
    let Some(stream_id) = Reflect::get(&parsed, &"stream".into()).ok().and_then(|s| s.as_string()) else {
        return warn("dropped stream metadata without a stream id");
    };
    let metadata = Reflect::get(&parsed, &"metadata".into()).unwrap_or(JsValue::UNDEFINED);
    if let Some(conn) = room.borrow_mut().conns.get_mut(&key) {
        if conn.stream_metadata.len() >= MAX_STREAM_METADATA {
            conn.stream_metadata.clear();
        }
        conn.stream_metadata.insert(stream_id, metadata);
    }
}

/// Reports a remote track (and, the first time, its stream) to the app.
pub(crate) fn on_track(room: &Shared, key: u64, event: RtcTrackEvent) {
    let track = event.track();
    let stream = event.streams().get(0).dyn_into::<MediaStream>().ok().or_else(|| {
        let stream = MediaStream::new().ok()?;
        stream.add_track(&track);
        Some(stream)
    });
    let Some(stream) = stream else { return };
    let mut state = room.borrow_mut();
    let Some(conn) = state.conns.get_mut(&key) else { return };
    let Some(peer_id) = conn.remote.clone() else { return };
    let metadata = conn.stream_metadata.get(&stream.id()).cloned().unwrap_or(JsValue::UNDEFINED);
    let new_stream = conn.seen_streams.insert(stream.id());
    let (on_track, on_stream) = (state.on_peer_track.clone(), state.on_peer_stream.clone());
    drop(state);
    if new_stream {
        // `JsValue::from(&stream)`, not `stream.clone()`: the latter is `MediaStream.prototype.clone`.
        call(on_stream, &[JsValue::from(&stream), peer_id.clone().into(), metadata.clone()]);
    }
    call(on_track, &[track.into(), stream.into(), peer_id.into(), metadata]);
}
