//! Trickle ICE: with `trickleIce`, on strategies whose relays carry messages between two peers,
//! descriptions go out as soon as they are made and ICE candidates follow one by one, sealed.
//!
//! Rules: a candidate is sealed and stamped under `candidate\0<sender>\0<recipient>\0<offer id>`
//! and names the connection by its offer id; an offerer's wait until the offer id is known (and go
//! after the offer), an answerer's go as they are found (the offerer holds them); the peer's are
//! taken whether or not we trickle (trickling is the sender's choice) and wait until its
//! description is set; candidates for a connection that
//! does not exist yet (relays may reorder) are held per peer and offer; each hold is bounded and
//! candidates seen before are ignored.

use super::{ConnId, Output, Room};
use crate::payload::Payload;
use crate::signaling::{candidate_context, PeerMessage};

/// Longest candidate (JSON) sent or taken.
pub const MAX_CANDIDATE_LEN: usize = 1024;
/// Candidates held per connection, either way.
const MAX_HELD_CANDIDATES: usize = 32;
/// Connections whose candidates came before them, held at most (then the hold is cleared).
const MAX_EARLY_CONNECTIONS: usize = 64;

impl<P: Payload> Room<P> {
    /// Whether this room's connections trickle their candidates.
    pub(super) fn trickles(&self) -> bool {
        self.config.trickle_ice && self.strategy.carries_candidates()
    }

    /// Connection `conn` found a local candidate.
    pub(super) fn on_local_candidate(&mut self, conn: ConnId, candidate: String) {
        if candidate.len() > MAX_CANDIDATE_LEN {
            return;
        }
        let Some(c) = self.conns.get_mut(&conn) else { return };
        // An ICE restart's candidates travel in its descriptions (see `recovery`).
        if c.recovery.is_some() || c.negotiation.restart_offer.is_some() || c.negotiation.relay_offer.is_some() {
            return;
        }
        match (c.remote.clone(), c.offer_id.clone()) {
            (Some(remote), Some(offer_id)) => self.send_candidate(conn, &remote, &offer_id, &candidate),
            _ if c.local_candidates.len() < MAX_HELD_CANDIDATES => c.local_candidates.push(candidate),
            _ => {}
        }
    }

    /// The offer id of `conn` is known and its description went out: sends the candidates held.
    pub(super) fn send_held_candidates(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let held = std::mem::take(&mut c.local_candidates);
        let (Some(remote), Some(offer_id)) = (c.remote.clone(), c.offer_id.clone()) else { return };
        for candidate in held {
            self.send_candidate(conn, &remote, &offer_id, &candidate);
        }
    }

    fn send_candidate(&mut self, conn: ConnId, remote: &str, offer_id: &str, candidate: &str) {
        let Some(sealed) = self.seal_stamped(candidate, &candidate_context(&self.config.self_id, remote, offer_id))
        else {
            return;
        };
        let (from, offer_id) = (self.config.self_id.clone(), offer_id.to_owned());
        self.send_signaling(conn, remote, PeerMessage::Candidate { from, offer_id, sealed });
    }

    /// Peer `from` sent a candidate for the connection of offer `offer_id`, through the relays or
    /// carried by a peer (`relayed`).
    pub(super) fn on_candidate(&mut self, from: &str, offer_id: &str, sealed: &str, relayed: bool) {
        if !(relayed || self.strategy.carries_candidates()) || !self.accepts_signal_from(from) {
            return;
        }
        let candidate = match self.open_stamped(sealed, &candidate_context(from, &self.config.self_id, offer_id)) {
            Ok(candidate) if candidate.len() <= MAX_CANDIDATE_LEN => candidate,
            Ok(_) => return,
            Err(e) => return self.join_error(from, format!("cannot open its ICE candidate: {e}")),
        };
        if !self.replays.first_sighting(sealed, self.now) {
            return;
        }
        let found = self
            .conns
            .iter_mut()
            .find(|(_, c)| c.remote.as_deref() == Some(from) && c.offer_id.as_deref() == Some(offer_id));
        match found {
            Some((&conn, c)) if c.remote_described => self.outputs.push_back(Output::AddCandidate { conn, candidate }),
            Some((_, c)) if c.remote_candidates.len() < MAX_HELD_CANDIDATES => c.remote_candidates.push(candidate),
            Some(_) => {}
            None => {
                if self.early_candidates.len() >= MAX_EARLY_CONNECTIONS {
                    self.early_candidates.clear();
                }
                let held = self.early_candidates.get_or_insert_with((from.to_owned(), offer_id.to_owned()), Vec::new);
                if held.len() < MAX_HELD_CANDIDATES {
                    held.push(candidate);
                }
            }
        }
    }

    /// The peer's description of `conn` is set: its candidates held so far are added.
    pub(super) fn on_remote_described(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.remote_described = true;
        let mut held = std::mem::take(&mut c.remote_candidates);
        if let (Some(remote), Some(offer_id)) = (c.remote.clone(), c.offer_id.clone()) {
            held.extend(self.early_candidates.remove(&(remote, offer_id)).unwrap_or_default());
        }
        for candidate in held {
            self.outputs.push_back(Output::AddCandidate { conn, candidate });
        }
    }
}
