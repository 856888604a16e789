//! `room.makeAction(name)`: the `[send, receive, onProgress]` triple and the chunked send path.

use super::payload;
use super::peer::Peer;
use super::room::{call, parse_targets, Shared};
use crate::chunking::{chunk_ranges, frame_len};
use crate::frame::{encode_data_header, DataHeader, TransferStart, MAX_ACTION_NAME_LEN, MAX_METADATA_LEN};
use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Array, Function, Promise, Uint8Array};
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::Blob;

type SendFn = dyn Fn(JsValue, JsValue, JsValue, JsValue) -> Promise;

/// How long after its last chunk a transfer may wait for the receiver's confirmation.
pub const ACK_TIMEOUT_MS: u32 = 60_000;

/// Registers action `name` and returns `[send, receive, onProgress]`.
pub(crate) fn make_action(room: &Shared, name: String) -> Result<Array, JsError> {
    if name.is_empty() || name.len() > MAX_ACTION_NAME_LEN {
        return Err(JsError::new(&format!("rendez: action name must be 1 to {MAX_ACTION_NAME_LEN} bytes")));
    }
    if let Some(api) = room.borrow_mut().actions.entry(name.clone()).or_default().api.clone() {
        return Ok(api);
    }
    let weak = Rc::downgrade(room);
    let action = name.clone();
    let send = Closure::<SendFn>::new(move |data: JsValue, targets, metadata, on_progress| {
        let Some(blob) = data.dyn_ref::<Blob>() else {
            return start_send(&weak, &action, &data, &targets, &metadata, &on_progress)
                .unwrap_or_else(|e| Promise::reject(&e.into()));
        };
        let bytes = JsFuture::from(blob.array_buffer());
        let (weak, action) = (weak.clone(), action.clone());
        future_to_promise(async move {
            let buffer = bytes.await?;
            let sent = start_send(&weak, &action, &buffer, &targets, &metadata, &on_progress)?;
            JsFuture::from(sent).await
        })
    });
    let receive = slot_setter(room, name.clone(), |slot, f| slot.on_receive = f);
    let progress = slot_setter(room, name.clone(), |slot, f| slot.on_progress = f);
    let api = Array::of3(&send.into_js_value(), &receive, &progress);
    if let Some(slot) = room.borrow_mut().actions.get_mut(&name) {
        slot.api = Some(api.clone());
    }
    Ok(api)
}

fn slot_setter(room: &Shared, name: String, set: fn(&mut super::room::ActionSlot, Option<Function>)) -> JsValue {
    let weak = Rc::downgrade(room);
    Closure::<dyn Fn(JsValue)>::new(move |callback: JsValue| {
        if let Some(room) = weak.upgrade() {
            if let Some(slot) = room.borrow_mut().actions.get_mut(&name) {
                set(slot, callback.dyn_into::<Function>().ok());
            }
        }
    })
    .into_js_value()
}

struct Target {
    peer_id: String,
    peer: Peer,
    /// The room and the connection key, to forget the pending ack if it never comes.
    room: Weak<std::cell::RefCell<super::room::RoomState>>,
    key: u64,
    transfer: u32,
    /// The peer's ack (`true`) or reject (`false`).
    verdict: oneshot::Receiver<bool>,
}

fn start_send(
    weak: &Weak<std::cell::RefCell<super::room::RoomState>>,
    action: &str,
    data: &JsValue,
    targets: &JsValue,
    metadata: &JsValue,
    on_progress: &JsValue,
) -> Result<Promise, JsError> {
    let room = weak.upgrade().ok_or_else(|| JsError::new("rendez: the room has been left"))?;
    let (kind, bytes) = payload::encode(data)?;
    let metadata = match metadata.is_null() || metadata.is_undefined() {
        true => None,
        false => payload::to_json(metadata)?.map(String::from),
    };
    if metadata.as_ref().is_some_and(|m| m.len() > MAX_METADATA_LEN) {
        return Err(JsError::new(&format!("rendez: metadata exceeds {MAX_METADATA_LEN} bytes of JSON")));
    }
    let targets = resolve_targets(&room, targets)?;
    let progress = on_progress.clone().dyn_into::<Function>().ok();
    let sends: Vec<_> = targets
        .into_iter()
        .map(|target| {
            let start = TransferStart {
                action: action.to_owned(),
                total: u64::from(bytes.length()),
                kind,
                metadata: metadata.clone(),
            };
            send_transfer(target, start, bytes.clone(), progress.clone())
        })
        .collect();
    Ok(future_to_promise(async move {
        let results = futures::future::join_all(sends).await;
        match results.iter().find_map(|r| r.as_ref().err()) {
            Some(error) => Err(JsError::new(&format!("rendez: {error}")).into()),
            None => Ok(results.iter().map(|_| JsValue::UNDEFINED).collect::<Array>().into()),
        }
    }))
}

/// The targets' connections, each with a fresh transfer id and a pending ack.
fn resolve_targets(room: &Shared, targets: &JsValue) -> Result<Vec<Target>, JsError> {
    let targets = parse_targets(targets)?;
    let mut state = room.borrow_mut();
    let peers = state.target_peers(targets)?;
    Ok(peers
        .into_iter()
        .filter_map(|(peer_id, peer)| {
            let key = *state.by_peer.get(&peer_id)?;
            let conn = state.conns.get_mut(&key)?;
            let transfer = conn.next_transfer;
            conn.next_transfer = transfer.wrapping_add(1);
            let (settle, verdict) = oneshot::channel();
            conn.pending_acks.insert(transfer, settle);
            Some(Target { peer_id, peer, room: Rc::downgrade(room), key, transfer, verdict })
        })
        .collect())
}

/// Sends one payload to one peer in chunks, waiting on the channel's buffer between chunks,
/// then for the peer to confirm it holds the whole payload.
async fn send_transfer(
    target: Target,
    start: TransferStart,
    bytes: Uint8Array,
    progress: Option<Function>,
) -> Result<(), String> {
    let Target { peer_id, peer, room, key, transfer, mut verdict } = target;
    let refused = || format!("peer {peer_id} refused the data");
    let total = bytes.length() as usize;
    let first = DataHeader { transfer, seq: 0, start: Some(start) };
    let first_len = encode_data_header(&first).map_err(|e| e.to_string())?.len();
    let mut first = Some(first);
    for (seq, range) in chunk_ranges(total, frame_len(peer.max_message_size()).saturating_sub(first_len)).enumerate() {
        let header = first.take().unwrap_or(DataHeader { transfer, seq: seq as u32, start: None });
        let header = encode_data_header(&header).map_err(|e| e.to_string())?;
        let frame_len = (header.len() + range.len()) as u32;
        peer.room_for(frame_len).await.map_err(|_| format!("peer {peer_id} disconnected during the transfer"))?;
        if let Ok(Some(false)) = verdict.try_recv() {
            return Err(refused());
        }
        let frame = Uint8Array::new_with_length(frame_len);
        frame.subarray(0, header.len() as u32).copy_from(&header);
        frame.set(&bytes.subarray(range.start as u32, range.end as u32), header.len() as u32);
        peer.send(&frame).map_err(|e| format!("sending to peer {peer_id} failed: {e:?}"))?;
        if progress.is_some() {
            let done = if total == 0 { 1.0 } else { range.end as f64 / total as f64 };
            call(progress.clone(), &[done.into(), peer_id.clone().into()]);
        }
    }
    drop(bytes);
    match select(verdict, TimeoutFuture::new(ACK_TIMEOUT_MS)).await {
        Either::Left((Ok(true), _)) => Ok(()),
        Either::Left((Ok(false), _)) => Err(refused()),
        Either::Left((Err(_), _)) => Err(format!("peer {peer_id} disconnected before confirming the data")),
        Either::Right(_) => {
            if let Some(room) = room.upgrade() {
                if let Some(conn) = room.borrow_mut().conns.get_mut(&key) {
                    conn.pending_acks.remove(&transfer);
                }
            }
            Err(format!("peer {peer_id} did not confirm the data within {ACK_TIMEOUT_MS} ms"))
        }
    }
}
