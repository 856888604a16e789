//! `room.ping(peerId)`: a round-trip probe over the data channel.

use super::Shared;
use crate::frame::encode_ping;
use futures::channel::oneshot;
use futures::future::{select, Either};
use gloo_timers::future::TimeoutFuture;
use js_sys::{Promise, Uint8Array};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// How long `ping` waits for the pong.
pub const PING_TIMEOUT_MS: u32 = 10_000;

/// Measures the round trip to `peer_id` over its data channel, in milliseconds.
pub(crate) fn ping(room: &Shared, peer_id: &str) -> Promise {
    let mut state = room.borrow_mut();
    let (Some(&key), Some(peer)) = (state.by_peer.get(peer_id), state.open_conn(peer_id).map(|c| c.peer.clone()))
    else {
        return Promise::reject(&JsError::new(&format!("rendez: no connected peer {peer_id}")).into());
    };
    let nonce = state.next_ping;
    state.next_ping = nonce.wrapping_add(1);
    let (pong, ponged) = oneshot::channel();
    // Keyed by connection too, so only the pinged peer can answer.
    let id = (key, nonce);
    state.pings.insert(id, pong);
    drop(state);
    let started = now();
    if let Err(e) = peer.send(&Uint8Array::from(&encode_ping(nonce)[..])) {
        room.borrow_mut().pings.remove(&id);
        return Promise::reject(&e);
    }
    let weak = Rc::downgrade(room);
    let peer_id = peer_id.to_owned();
    future_to_promise(async move {
        if let Either::Left((Ok(()), _)) = select(ponged, TimeoutFuture::new(PING_TIMEOUT_MS)).await {
            return Ok((now() - started).into());
        }
        if let Some(room) = weak.upgrade() {
            room.borrow_mut().pings.remove(&id);
        }
        Err(JsError::new(&format!("rendez: ping to peer {peer_id} got no answer")).into())
    })
}

pub(crate) fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}
