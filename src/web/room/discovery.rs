//! Finding peers: announcing, and reacting to presence, offers and answers from the strategy.

use super::{RoomState, WeakRoom, OFFER_ID_LEN};
use crate::ids::{is_peer_id, random_id};
use crate::signaling::{answer_context, offer_context, presence_context, SealedOffer, SignalEvent};
use crate::web::console::warn;
use crate::web::peer::Peer;
use wasm_bindgen_futures::spawn_local;

/// Connections being set up (not yet open) at most, ours to offer included.
pub(crate) const MAX_UNOPENED_CONNECTIONS: usize = 64;

impl RoomState {
    /// Whether signaling from `from` is worth reading: the room is live, and `from` is a peer id
    /// that is not ours.
    fn accepts_signal_from(&self, from: &str) -> bool {
        !self.left && from != self.self_id && is_peer_id(from)
    }

    /// A new connection (ours to offer, or not), with a warning when the browser refuses one.
    /// None while [`MAX_UNOPENED_CONNECTIONS`] are still being set up, so a flood of made-up
    /// peers cannot pile up connections; the first refusal of each such spell is logged.
    fn new_conn(&mut self, weak: &WeakRoom, offered_by_self: bool) -> Option<(u64, Peer)> {
        let unopened = self.conns.values().filter(|conn| !conn.open).count();
        if unopened >= MAX_UNOPENED_CONNECTIONS {
            if !std::mem::replace(&mut self.setup_full, true) {
                warn(&format!("{unopened} connections are being set up; new ones wait until some open or time out"));
            }
            return None;
        }
        self.setup_full = false;
        match self.add_conn(weak, offered_by_self) {
            Ok(key) => Some((key, self.conns[&key].peer.clone())),
            Err(e) => {
                warn(&format!("cannot create a peer connection: {e:?}"));
                None
            }
        }
    }

    /// Seals our offer `sdp` of connection `key` under a fresh offer id and remembers it for the answer.
    fn seal_offer(&mut self, key: u64, sdp: &str) -> SealedOffer {
        let offer_id = random_id(OFFER_ID_LEN);
        let sealed_sdp = self.key.seal(sdp, &offer_context(&self.self_id));
        self.offers.insert(offer_id.clone(), key);
        SealedOffer { offer_id, sealed_sdp }
    }
}

pub(crate) fn announce(weak: &WeakRoom) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    if state.left || state.announcing {
        state.announce_again = true;
        return;
    }
    state.announcing = true;
    state.generation = state.generation.wrapping_add(1);
    let pool_size = state.strategy().map_or(0, |s| s.offer_pool_size());
    let pool: Vec<(u64, Peer)> = (0..pool_size).filter_map(|_| state.new_conn(weak, true)).collect();
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        let sdps = futures::future::join_all(pool.iter().map(|(_, peer)| peer.create_offer())).await;
        let Some(room) = weak.upgrade() else { return };
        let mut state = room.borrow_mut();
        state.announcing = false;
        if state.left {
            return;
        }
        let mut offers = Vec::with_capacity(sdps.len());
        for ((key, _), sdp) in pool.into_iter().zip(sdps) {
            match sdp {
                Ok(sdp) if state.conns.contains_key(&key) => offers.push(state.seal_offer(key, &sdp)),
                Ok(_) => {}
                Err(e) => {
                    warn(&format!("cannot create an offer: {e:?}"));
                    state.remove_conn(key);
                }
            }
        }
        expire_offers(&mut state);
        if let Some(strategy) = state.strategy() {
            strategy.announce(offers);
        }
        let again = std::mem::take(&mut state.announce_again);
        drop(state);
        if again {
            announce(&weak);
        }
    });
}

/// Closes unanswered offers older than the previous announce.
fn expire_offers(state: &mut RoomState) {
    let current = state.generation;
    let stale: Vec<(String, u64)> = state
        .offers
        .iter()
        .filter(|(_, key)| state.conns.get(key).is_none_or(|c| current.wrapping_sub(c.generation) > 1))
        .map(|(id, key)| (id.clone(), *key))
        .collect();
    for (offer_id, key) in stale {
        state.offers.remove(&offer_id);
        state.remove_conn(key);
    }
}

pub(crate) fn on_signal(weak: &WeakRoom, event: SignalEvent) {
    match event {
        SignalEvent::RelayReady => announce(weak),
        SignalEvent::Presence { from, proof } => on_presence(weak, from, proof),
        SignalEvent::Offer { from, offer_id, sealed_sdp } => on_offer(weak, from, offer_id, sealed_sdp),
        SignalEvent::Answer { from, offer_id, sealed_sdp } => on_answer(weak, from, offer_id, sealed_sdp),
    }
}

/// Offers a connection to a peer that announced itself, unless one exists or is under way.
fn on_presence(weak: &WeakRoom, from: String, proof: String) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    if !state.accepts_signal_from(&from) || state.by_peer.contains_key(&from) {
        return;
    }
    if state.strategy().and_then(|s| s.direct()).is_none() {
        return;
    }
    if let Err(e) = state.key.open(&proof, &presence_context(&from)) {
        let report = state.join_errors.report(&from, &format!("cannot open its presence proof: {e}"));
        drop(state);
        return report.deliver();
    }
    let Some((key, peer)) = state.new_conn(weak, true) else { return };
    state.assign(weak, key, &from);
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        let offer = peer.create_offer().await;
        let Some(room) = weak.upgrade() else { return };
        let mut state = room.borrow_mut();
        if !state.conns.contains_key(&key) {
            return;
        }
        match offer {
            Ok(sdp) => {
                let offer = state.seal_offer(key, &sdp);
                if let Some(direct) = state.strategy().and_then(|s| s.direct()) {
                    direct.send_offer(&from, &offer.offer_id, &offer.sealed_sdp);
                }
            }
            Err(e) => {
                warn(&format!("cannot create an offer: {e:?}"));
                state.remove_conn(key);
            }
        }
    });
}

fn on_offer(weak: &WeakRoom, from: String, offer_id: String, sealed_sdp: String) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    if !state.accepts_signal_from(&from) {
        return;
    }
    let sdp = match state.key.open(&sealed_sdp, &offer_context(&from)) {
        Ok(sdp) => sdp,
        Err(e) => {
            let report = state.join_errors.report(&from, &format!("cannot open its offer: {e}"));
            drop(state);
            return report.deliver();
        }
    };
    if !state.should_replace(&from, None, true) {
        return;
    }
    let Some((key, peer)) = state.new_conn(weak, false) else { return };
    state.assign(weak, key, &from);
    let room_key = state.key.clone();
    let self_id = state.self_id.clone();
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        let answer = peer.accept_offer(&sdp).await;
        let Some(room) = weak.upgrade() else { return };
        let mut state = room.borrow_mut();
        if !state.conns.contains_key(&key) {
            return;
        }
        match answer {
            Ok(answer) => {
                let sealed = room_key.seal(&answer, &answer_context(&self_id, &from, &offer_id));
                if let Some(strategy) = state.strategy() {
                    strategy.send_answer(&from, &offer_id, &sealed);
                }
            }
            Err(e) => {
                warn(&format!("cannot answer peer {from}: {e:?}"));
                state.remove_conn(key);
            }
        }
    });
}

fn on_answer(weak: &WeakRoom, from: String, offer_id: String, sealed_sdp: String) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    let Some(&key) = state.offers.get(&offer_id) else {
        return;
    };
    let addressed_elsewhere = state.conns.get(&key).and_then(|c| c.remote.as_deref()).is_some_and(|r| r != from);
    if !state.accepts_signal_from(&from) || addressed_elsewhere {
        return;
    }
    let sdp = match state.key.open(&sealed_sdp, &answer_context(&from, &state.self_id, &offer_id)) {
        Ok(sdp) => sdp,
        Err(e) => {
            let report = state.join_errors.report(&from, &format!("cannot open its answer: {e}"));
            drop(state);
            return report.deliver();
        }
    };
    if !state.should_replace(&from, Some(key), false) {
        return;
    }
    state.offers.remove(&offer_id);
    state.assign(weak, key, &from);
    let Some(peer) = state.conns.get(&key).map(|c| c.peer.clone()) else {
        return;
    };
    drop(state);
    let weak = weak.clone();
    spawn_local(async move {
        if let Err(e) = peer.accept_answer(&sdp).await {
            warn(&format!("cannot accept the answer of peer {from}: {e:?}"));
            if let Some(room) = weak.upgrade() {
                room.borrow_mut().remove_conn(key);
            }
        }
    });
}
