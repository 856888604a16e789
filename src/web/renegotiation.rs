//! Drives [`crate::renegotiation`] for an open connection: offers made on `negotiationneeded`
//! and descriptions from the peer travel over the data channel, never through a relay.

use super::console::warn;
use super::peer::Peer;
use crate::frame::encode_renegotiation;
use crate::renegotiation::{Description, DescriptionKind, Negotiator, Reaction};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::RtcSignalingState;

/// Starts renegotiating media on `peer` whenever the browser asks, as the polite side or not.
pub(crate) fn enable(peer: &Peer, polite: bool) {
    peer.negotiator().replace(Negotiator::new(polite));
    let weak = peer.downgrade();
    peer.on_negotiation_needed(Closure::new(move || {
        if let Some(peer) = weak.upgrade() {
            spawn_local(offer(peer));
        }
    }));
}

async fn offer(peer: Peer) {
    peer.negotiator().borrow_mut().set_making_offer(true);
    let sdp = peer.create_offer().await;
    peer.negotiator().borrow_mut().set_making_offer(false);
    match sdp {
        // A polite peer may have rolled our offer back for the peer's meanwhile: then there is
        // nothing of ours to send (the local description is its answer).
        Ok(sdp) if peer.connection().signaling_state() == RtcSignalingState::HaveLocalOffer => {
            send(&peer, DescriptionKind::Offer, sdp)
        }
        Ok(_) => {}
        Err(e) => warn(&format!("cannot renegotiate: {e:?}")),
    }
}

/// Handles a description the peer sent over the data channel.
pub(crate) async fn on_remote(peer: Peer, text: String) {
    let description = match Description::decode(&text) {
        Ok(description) => description,
        Err(e) => return warn(&e),
    };
    let stable = peer.connection().signaling_state() == RtcSignalingState::Stable;
    let reaction = peer.negotiator().borrow().on_remote(description.kind, stable);
    let result = match reaction {
        Reaction::Ignore => Ok(()),
        Reaction::Apply { answer: true } => {
            peer.accept_offer(&description.sdp).await.map(|answer| send(&peer, DescriptionKind::Answer, answer))
        }
        Reaction::Apply { answer: false } => peer.accept_answer(&description.sdp).await,
    };
    if let Err(e) = result {
        warn(&format!("renegotiation failed: {e:?}"));
    }
}

fn send(peer: &Peer, kind: DescriptionKind, sdp: String) {
    let frame = encode_renegotiation(&Description { kind, sdp }.encode());
    let _ = peer.send(&Uint8Array::from(&frame[..]));
}
