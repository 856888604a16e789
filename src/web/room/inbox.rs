//! Events from peer connections: open, close, and every received frame.

use super::{call, Shared, WeakRoom};
use crate::frame::{self, encode_ack, encode_pong, encode_reject, Header, PREFIX_LEN};
use crate::reassembly::Accepted;
use crate::renegotiation::is_polite;
use crate::web::console::warn;
use crate::web::media;
use crate::web::payload;
use crate::web::peer::PeerEvent;
use crate::web::renegotiation;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

pub(crate) fn on_peer_event(weak: &WeakRoom, key: u64, event: PeerEvent) {
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
            let polite = is_polite(&state.self_id, &remote);
            let Some(conn) = state.conns.get_mut(&key) else { return };
            renegotiation::enable(&conn.peer, polite);
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
        PeerEvent::Track(event) => media::on_track(&room, key, event),
    }
}

fn on_message(room: &Shared, key: u64, buffer: ArrayBuffer) {
    let peer = match room.borrow_mut().conns.get_mut(&key) {
        Some(conn) => {
            conn.heard = true;
            conn.peer.clone()
        }
        None => return,
    };
    let bytes = Uint8Array::new(&buffer);
    let len = bytes.length();
    let header = match read_header(&bytes) {
        Ok(header) => header,
        Err(e) => return warn(&format!("dropped a malformed frame: {e}")),
    };
    let data = match header.0 {
        Header::Data(data) => data,
        Header::Ping(nonce) => {
            let _ = peer.send(&Uint8Array::from(&encode_pong(nonce)[..]));
            return;
        }
        Header::Pong(nonce) => {
            if let Some(pong) = room.borrow_mut().pings.remove(&(key, nonce)) {
                let _ = pong.send(());
            }
            return;
        }
        Header::Ack(transfer) => return settle_transfer(room, key, transfer, true),
        Header::Reject(transfer) => return settle_transfer(room, key, transfer, false),
        Header::Renegotiation | Header::Media => {
            let text: String = payload::decode_text(&bytes.subarray(header.1, len)).into();
            match header.0 {
                Header::Renegotiation => spawn_local(renegotiation::on_remote(peer, text)),
                _ => media::on_metadata(room, key, &text),
            }
            return;
        }
        Header::Unknown(_) => return,
    };
    let transfer = data.transfer;
    let payload = bytes.subarray(header.1, len);
    let payload_len = u64::from(len - header.1);
    let mut guard = room.borrow_mut();
    let state = &mut *guard;
    let room_in_flight = state.conns.values().map(|c| c.rx.in_flight()).sum();
    let Some(conn) = state.conns.get_mut(&key) else { return };
    let Some(peer_id) = conn.remote.clone() else { return };
    match conn.rx.accept(data, payload, payload_len, room_in_flight) {
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
    let prefix = (len >= PREFIX_LEN as u32).then(|| [bytes.get_index(0), bytes.get_index(1)]);
    let end = frame::payload_offset(prefix, len as usize)? as u32;
    let header = frame::decode_header(&bytes.subarray(PREFIX_LEN as u32, end).to_vec())?;
    Ok((header, end))
}

fn parse_metadata(metadata: Option<String>) -> JsValue {
    metadata.and_then(|m| payload::parse_json(&m).ok()).unwrap_or(JsValue::UNDEFINED)
}
