//! Introductions: peers already in the room carry the signaling between peers that have not met
//! yet, so a room that is connected at all becomes fully meshed without waiting for relays
//! (whose announcements reach random peers, or everyone, and cost relay messages).
//!
//! Rules: when a peer joins, we send it the list of the other peers we have in the room (passive
//! ones left out for a passive newcomer), at most [`MAX_INTRODUCED`]; a list is read once per
//! connection; for each listed peer we have no connection to (and that is not passive when we are)
//! we make a direct offer (to a peer with a smaller id than ours only after
//! [`INTRODUCTION_DEFER`], as it is likely introduced to us too and its offer would win the
//! tie-break) once fewer than [`MAX_INTRODUCTION_OFFERS`] of these and fewer than
//! [`MAX_UNOPENED_CONNECTIONS`] connections in all are being set up (so room is left for the
//! newcomers' offers to us; at most [`MAX_INTRODUCED`] introductions wait, the oldest dropped
//! first); for at most [`POOL_ANSWER_WAIT`] after our latest offer pool went out, introductions
//! wait while fewer of its offers are answered than the tracker could hand to peers we did not have
//! (it handed them to peers we may be introduced to, and an offer to a peer that is answering one
//! of them would set up a second connection for nothing); an offer to an introduced peer that did
//! not open in time is made once more, through a peer that is still joined; that offer, its answer
//! and its candidates travel through the peer that introduced us while it stays joined (through the
//! relays otherwise); a relayed message for another peer is handed on only to a joined peer other
//! than the one it came from; relayed signaling is sealed, stamped and replay-checked as direct
//! signaling over a relay is, so a carrier learns nothing a room member does not already know.
//!
//! Every new connection sends each side the other's peers, so in a connected room every pair
//! learns of each other through some common peer: the room closes into a full mesh.

use super::connection::Role;
use super::{ConnId, NegotiationStep, Room, MAX_UNOPENED_CONNECTIONS};
use crate::frame::{encode_peers, encode_relayed};
use crate::payload::Payload;
use crate::signaling::{PeerMessage, SealedOffer};
use crate::time::Instant;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Peers named in one introduction, at most; further ones are not read.
pub const MAX_INTRODUCED: usize = 256;
/// Offers to introduced peers being set up at once, at most.
pub const MAX_INTRODUCTION_OFFERS: usize = MAX_UNOPENED_CONNECTIONS / 2;

/// How long we leave an introduced peer with a smaller id than ours to offer first.
pub const INTRODUCTION_DEFER: Duration = Duration::from_millis(300);
/// How long after our offer pool went to the relays introductions wait for its answers.
pub const POOL_ANSWER_WAIT: Duration = Duration::from_millis(500);

/// A peer we were told of, waiting for a connection to be offered.
pub(super) struct Introduction {
    peer: String,
    passive: bool,
    /// The peer that told us, which carries the signaling.
    introducer: String,
    /// When we were told.
    at: Instant,
}

/// Signaling for peer `to`, carried over a peer connection.
#[derive(Serialize, Deserialize)]
struct Relayed {
    to: String,
    message: PeerMessage,
}

impl<P: Payload> Room<P> {
    /// The peer of `conn` joined: tells it which other peers are here.
    pub(super) fn introduce(&mut self, conn: ConnId) {
        let Some(newcomer) = self.conns.get(&conn) else { return };
        let newcomer_passive = newcomer.remote_passive;
        let peers: Vec<(&str, bool)> = self
            .conns
            .iter()
            .filter(|&(&other, c)| other != conn && c.is_joined() && !(newcomer_passive && c.remote_passive))
            .filter_map(|(_, c)| Some((c.remote.as_deref()?, c.remote_passive)))
            .take(MAX_INTRODUCED)
            .collect();
        if peers.is_empty() {
            return;
        }
        let Ok(json) = serde_json::to_string(&peers) else { return };
        self.send_control(conn, encode_peers(&json));
    }

    /// The peer of `conn` introduced the peers it has: offers a connection to each we do not
    /// have, through it.
    pub(super) fn on_peer_list(&mut self, conn: ConnId, text: &str) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Some(introducer) = c.remote.clone().filter(|_| !std::mem::replace(&mut c.introduced, true)) else {
            return;
        };
        let peers: Vec<(String, bool)> = match serde_json::from_str(text) {
            Ok(peers) => peers,
            Err(e) => return self.warn_about(conn, format!("dropped a malformed peer list: {e}")),
        };
        for (peer, passive) in peers.into_iter().take(MAX_INTRODUCED) {
            let queued = self.introductions.iter().any(|i| i.peer == peer);
            if queued || self.by_peer.contains_key(&peer) || !self.accepts_signal_from(&peer) {
                continue;
            }
            if self.introductions.len() >= MAX_INTRODUCED {
                self.introductions.pop_front();
            }
            self.introductions.push_back(Introduction { peer, passive, introducer: introducer.clone(), at: self.now });
        }
        self.follow_introductions();
    }

    /// Until when introductions wait for the answers to our latest offer pool, if they do: while
    /// fewer of its offers are answered (or closed) than the tracker could hand to peers we did
    /// not have (its swarm less us and the peers we had when the pool went).
    pub(super) fn introductions_held_until(&self) -> Option<Instant> {
        if self.introductions.is_empty() {
            return None;
        }
        let pool = self.announcer.sent_pool.as_ref()?;
        let until = pool.at + POOL_ANSWER_WAIT;
        if self.now >= until {
            return None;
        }
        let others = self.relays.swarm_size().map_or(u64::MAX, |swarm| swarm.saturating_sub(1));
        let expected = (pool.conns.len() as u64).min(others.saturating_sub(pool.known as u64));
        let answered = pool.conns.iter().filter(|id| self.conns.get(id).is_none_or(|c| c.remote.is_some())).count();
        ((answered as u64) < expected).then_some(until)
    }

    /// When an introduction that waits for its peer to offer first may be offered ourselves.
    pub(super) fn introductions_deferred_until(&self) -> Option<Instant> {
        let now = self.now;
        self.introductions.iter().filter_map(|i| self.deferred_until(i)).filter(|&at| at > now).min()
    }

    /// Until when we leave introduced peer `introduction` to offer first: a peer with a smaller id
    /// is likely introduced to us too, and its offer would win the tie-break over ours.
    fn deferred_until(&self, introduction: &Introduction) -> Option<Instant> {
        (introduction.peer.as_str() < self.config.self_id.as_str()).then(|| introduction.at + INTRODUCTION_DEFER)
    }

    /// Offers connections to the peers introduced to us, while set-up capacity lasts.
    pub(super) fn follow_introductions(&mut self) {
        if self.introductions_held_until().is_some() {
            return;
        }
        let mut at = 0;
        while let Some(next) = self.introductions.get(at) {
            let known = self.by_peer.contains_key(&next.peer);
            if known || !self.accepts_signal_from(&next.peer) || (next.passive && self.config.passive) {
                self.introductions.remove(at);
                continue;
            }
            if self.deferred_until(next).is_some_and(|until| self.now < until) {
                at += 1;
                continue;
            }
            let unopened = self.conns.values().filter(|c| !c.is_joined());
            let (mut all, mut introduced) = (0, 0);
            for c in unopened {
                all += 1;
                introduced += usize::from(c.via.is_some() && c.offered_by_self());
            }
            if all >= MAX_UNOPENED_CONNECTIONS || introduced >= MAX_INTRODUCTION_OFFERS {
                return;
            }
            let Some(Introduction { peer, passive, introducer, .. }) = self.introductions.remove(at) else { return };
            let Some(offer) = self.new_conn(Role::DirectOffer) else { return };
            self.assign(offer, &peer, passive);
            if let Some(c) = self.conns.get_mut(&offer) {
                c.via = Some(introducer);
            }
            self.negotiate(offer, NegotiationStep::MakeOffer);
        }
    }

    /// Our offer over `conn` to a peer introduced by `via` did not open in time: if that was
    /// the first attempt, it is made once more through a peer still joined (`via`, or whoever is).
    pub(super) fn retry_introduction(&mut self, peer: &str, passive: bool, via: &str) {
        if self.reintroduced.len() >= MAX_INTRODUCED {
            self.reintroduced.clear();
        }
        if !self.reintroduced.insert(peer.to_owned()) {
            return;
        }
        let introducer = if self.open_conn(via).is_some() {
            Some(via.to_owned())
        } else {
            self.conns.values().filter(|c| c.is_joined()).find_map(|c| c.remote.clone())
        };
        let Some(introducer) = introducer else { return };
        self.introductions.push_back(Introduction { peer: peer.to_owned(), passive, introducer, at: Instant::ZERO });
    }

    /// Signaling `message` for the peer `to` of connection `conn`: through the peer that
    /// introduced them while it is joined, else through the relays.
    pub(super) fn send_signaling(&mut self, conn: ConnId, to: &str, message: PeerMessage) {
        let carrier = self.conns.get(&conn).and_then(|c| c.via.as_deref()).and_then(|via| self.open_conn(via));
        if let Some(carrier) = carrier {
            let relayed = Relayed { to: to.to_owned(), message };
            if let Ok(json) = serde_json::to_string(&relayed) {
                self.send_control(carrier, encode_relayed(&json));
            }
            return;
        }
        self.with_strategy(|strategy, cx| match message {
            PeerMessage::Offer { offer_id, sealed_sdp, .. } => {
                strategy.send_offer(to, SealedOffer { offer_id, sealed_sdp }, cx);
            }
            PeerMessage::Answer { offer_id, sealed_sdp, .. } => strategy.send_answer(to, &offer_id, &sealed_sdp, cx),
            PeerMessage::Candidate { offer_id, sealed, .. } => strategy.send_candidate(to, &offer_id, &sealed, cx),
            PeerMessage::Presence { .. } => {}
        });
    }

    /// The peer of `conn` carried signaling: ours is taken as if a relay brought it, another
    /// peer's is handed on to it.
    pub(super) fn on_relayed(&mut self, conn: ConnId, text: &str) {
        let Some(carrier) = self.conns.get(&conn).filter(|c| c.is_joined()).and_then(|c| c.remote.clone()) else {
            return;
        };
        let Relayed { to, message } = match serde_json::from_str(text) {
            Ok(relayed) => relayed,
            Err(e) => return self.warn_about(conn, format!("dropped malformed relayed signaling: {e}")),
        };
        if to != self.config.self_id {
            if let Some(target) = self.open_conn(&to).filter(|&t| t != conn) {
                self.send_control(target, encode_relayed(text));
            }
            return;
        }
        let from = message.sender().to_owned();
        match message {
            PeerMessage::Offer { offer_id, sealed_sdp, .. } => {
                self.on_offer(&from, offer_id, &sealed_sdp, Some(carrier))
            }
            PeerMessage::Answer { offer_id, sealed_sdp, .. } => self.on_answer(&from, &offer_id, &sealed_sdp),
            PeerMessage::Candidate { offer_id, sealed, .. } => self.on_candidate(&from, &offer_id, &sealed, true),
            PeerMessage::Presence { .. } => {}
        }
    }
}
