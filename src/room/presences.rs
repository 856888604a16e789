//! Answering presence sparingly: a room that hears many announcements at once (peers joining
//! together), or a settled room that hears a newcomer, offers through the relays to a few
//! announcers only and lets introductions (see `introductions`) bring it the others, so relays
//! carry a handful of messages per peer instead of an offer and an answer for every pair.
//!
//! Rules: while we have no joined peer, or are the room's keeper (the peer newcomers are meant to
//! reach), an announcer heard alone (no other announcement within [`PRESENCE_GATHER`], by a room
//! whose relay was ready at least that long) is offered a connection through the relays at once,
//! and announcers heard together wait [`PRESENCE_GATHER`] and are then offered one, those whose ids
//! follow ours first (in the ring of ids); either way while fewer than [`MAX_RELAY_OFFERS`] of our
//! offers through relays are unopened. So a newcomer meets the room without delay, peers that join
//! together offer to their successors in the ring (each receives a few offers), and introductions
//! close the ring into a full mesh. Otherwise an announcer waits [`PRESENCE_GRACE`] (time for a
//! peer of ours to introduce it to us) and is then offered one if still unknown, within the same
//! cap. At most [`MAX_HEARD`] wait (the oldest dropped), none longer than [`HEARD_TTL`] (an
//! announcer still looking announces again).
//!
//! While a room would answer announcers at once (it has a ready relay, is not dormant, and has
//! no joined peer or is the keeper) it keeps one offer made ahead (a *warm* offer: a connection
//! whose description is made, addressed to nobody yet), so a newcomer's announcement is answered
//! without waiting for the keeper's ICE gathering; one older than [`WARM_MAX_AGE`] is made anew
//! (addresses change), and after a warm offer fails the next waits [`WARM_RETRY`], doubling per
//! failure in a row up to [`WARM_RETRY_MAX`].

use super::connection::Role;
use super::{ConnId, NegotiationStep, Room};
use crate::payload::Payload;
use crate::signaling::{direct_offer_context, PeerMessage, SealedOffer};
use crate::strategy::Discovery;
use crate::time::Instant;
use std::collections::VecDeque;
use std::time::Duration;

/// Our offers through relays being set up at once, at most, before announcers wait.
pub const MAX_RELAY_OFFERS: usize = 3;
/// How long announcements are gathered before a room without peers (or the keeper) picks whom
/// to offer a connection.
pub const PRESENCE_GATHER: Duration = Duration::from_millis(200);
/// How long an announcer waits for an introduction before we offer it a connection ourselves.
pub const PRESENCE_GRACE: Duration = Duration::from_secs(2);
/// Announcers waiting, at most.
pub const MAX_HEARD: usize = 64;
/// How long an announcer waits at most.
const HEARD_TTL: Duration = Duration::from_secs(30);
/// How long after a warm offer failed another is made (first failure).
pub const WARM_RETRY: Duration = Duration::from_secs(5);
/// The longest wait after warm offers failed.
pub const WARM_RETRY_MAX: Duration = Duration::from_secs(5 * 60);
/// The oldest a warm offer gets before it is made anew.
pub const WARM_MAX_AGE: Duration = Duration::from_secs(2 * 60);

/// An announcer waiting for an offer.
struct Heard {
    peer: String,
    passive: bool,
    at: Instant,
}

/// The announcers a room heard and has not offered a connection yet.
#[derive(Default)]
pub(super) struct Presences {
    waiting: VecDeque<Heard>,
    /// When the next announcer's wait ends.
    pub next_deadline: Option<Instant>,
    /// When an announcement was last heard.
    last_heard: Option<Instant>,
    /// The offer made ahead, when it was started, and its description once made.
    warm: Option<(ConnId, Instant, Option<String>)>,
    /// Warm offers failed in a row, and when the last one did.
    warm_failures: (u32, Option<Instant>),
}

impl Presences {
    /// The connection of the warm offer, if any.
    pub fn warm_conn(&self) -> Option<ConnId> {
        self.warm.as_ref().map(|(conn, ..)| *conn)
    }
}

impl<P: Payload> Room<P> {
    /// Peer `peer` (passive or not) announced itself, and we have no connection to it.
    pub(super) fn on_heard(&mut self, peer: &str, passive: bool) {
        let now = self.now;
        // Heard alone, by a room that was listening before it: a newcomer, not peers joining
        // together (who would all answer the first of them at once).
        let listening = self.relays.ready_since().is_some_and(|since| now - since >= PRESENCE_GATHER);
        let alone = listening && self.presences.last_heard.is_none_or(|at| now - at >= PRESENCE_GATHER);
        self.presences.last_heard = Some(now);
        if self.presences.waiting.iter().any(|h| h.peer == peer) {
            return;
        }
        if alone && self.presence_wait() == PRESENCE_GATHER && self.relay_offers_under_way() < MAX_RELAY_OFFERS {
            return self.offer_through_relays(peer, passive);
        }
        let waiting = &mut self.presences.waiting;
        if waiting.len() >= MAX_HEARD {
            waiting.pop_front();
        }
        waiting.push_back(Heard { peer: peer.to_owned(), passive, at: now });
        self.schedule_heard();
    }

    /// Offers connections to the announcers whose wait is over and who are still unknown,
    /// successors in the ring first, within the cap; forgets the known and the expired.
    pub(super) fn follow_heard(&mut self) {
        if self.left {
            self.presences = Presences::default();
            return;
        }
        let now = self.now;
        let by_peer = &self.by_peer;
        self.presences.waiting.retain(|h| !by_peer.contains_key(&h.peer) && now - h.at < HEARD_TTL);
        let wait = self.presence_wait();
        loop {
            let free = self.relay_offers_under_way() < MAX_RELAY_OFFERS;
            let self_id = self.config.self_id.as_str();
            let next = self
                .presences
                .waiting
                .iter()
                .enumerate()
                .filter(|(_, h)| now - h.at >= wait)
                .min_by_key(|(_, h)| (h.peer.as_str() < self_id, h.peer.as_str()))
                .map(|(index, _)| index);
            let taken = next.filter(|_| free).and_then(|index| self.presences.waiting.remove(index));
            let Some(Heard { peer, passive, .. }) = taken else { break };
            self.offer_through_relays(&peer, passive);
        }
        self.schedule_heard();
    }

    /// How long announcers wait before we offer them a connection: briefly while we have no
    /// joined peer or keep the room, else long enough for an introduction.
    fn presence_wait(&self) -> Duration {
        if self.joined_count() == 0 || self.is_keeper() {
            PRESENCE_GATHER
        } else {
            PRESENCE_GRACE
        }
    }

    /// When [`Room::follow_heard`] is next due by the clock: the next wait to end (a wait for
    /// the cap to free is ended by the connection that frees it).
    fn schedule_heard(&mut self) {
        let (now, wait) = (self.now, self.presence_wait());
        self.presences.next_deadline = self.presences.waiting.iter().map(|h| h.at + wait).find(|&at| at > now);
    }

    fn relay_offers_under_way(&self) -> usize {
        self.conns
            .values()
            .filter(|c| !c.is_open() && c.via.is_none() && c.remote.is_some() && matches!(c.role, Role::DirectOffer))
            .count()
    }

    /// Offers `peer` a connection through the relays: the warm offer if there is one (sent at once
    /// if its description is made, else once it is), else a new one.
    fn offer_through_relays(&mut self, peer: &str, passive: bool) {
        // A warm offer's description is made, or being made (then it goes out once made).
        let warm = self.presences.warm.take().filter(|(conn, ..)| self.conns.contains_key(conn));
        let (conn, warm_sdp) = match warm {
            Some((conn, _, made)) => {
                self.presences.warm_failures.0 = 0;
                (conn, Some(made))
            }
            None => match self.new_conn(Role::DirectOffer) {
                Some(conn) => (conn, None),
                None => return,
            },
        };
        self.assign(conn, peer, passive);
        match warm_sdp {
            Some(Some(sdp)) => self.send_direct_offer(conn, peer, &sdp),
            Some(None) => {}
            None => self.negotiate(conn, NegotiationStep::MakeOffer),
        }
        self.keep_warm_offer();
    }

    /// Seals our description `sdp` of `conn` for `peer` and sends it.
    pub(super) fn send_direct_offer(&mut self, conn: ConnId, peer: &str, sdp: &str) {
        let context = direct_offer_context(&self.config.self_id, peer);
        let Some(SealedOffer { offer_id, sealed_sdp }) = self.register_offer(conn, sdp, &context) else { return };
        let from = self.config.self_id.clone();
        self.send_signaling(conn, peer, PeerMessage::Offer { from, offer_id, sealed_sdp });
        self.send_held_candidates(conn);
    }

    /// Makes or drops the warm offer as the room's state says (a failed one is noticed here).
    pub(super) fn keep_warm_offer(&mut self) {
        let now = self.now;
        if let Some((conn, ..)) = self.presences.warm {
            if !self.conns.contains_key(&conn) {
                self.presences.warm = None;
                let failures = &mut self.presences.warm_failures;
                *failures = (failures.0.saturating_add(1), Some(now));
            }
        }
        let (failures, failed_at) = self.presences.warm_failures;
        let retry = WARM_RETRY.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(WARM_RETRY_MAX);
        let wanted = self.discovery == Discovery::Presence
            && !self.left
            && !self.is_dormant()
            && self.presence_wait() == PRESENCE_GATHER
            && self.relays.ready().next().is_some();
        match self.presences.warm {
            Some((conn, started, _)) if !wanted || now - started >= WARM_MAX_AGE => {
                self.presences.warm = None;
                self.remove_conn(conn);
                if wanted {
                    self.keep_warm_offer();
                }
            }
            None if wanted && failed_at.is_none_or(|at| now - at >= retry) => {
                if let Some(conn) = self.new_conn(Role::DirectOffer) {
                    self.presences.warm = Some((conn, now, None));
                    self.negotiate(conn, NegotiationStep::MakeOffer);
                }
            }
            _ => {}
        }
    }

    /// Forgets that `peer` announced itself (a connection to it is being made otherwise).
    pub(super) fn forget_heard(&mut self, peer: &str) {
        self.presences.waiting.retain(|h| h.peer != peer);
    }

    /// Connection `conn`'s offer `sdp` is made: if it is the warm offer, it waits for an announcer.
    pub(super) fn warm_offer_made(&mut self, conn: ConnId, sdp: &str) -> bool {
        match &mut self.presences.warm {
            Some((warm, _, made)) if *warm == conn => {
                *made = Some(sdp.to_owned());
                true
            }
            _ => false,
        }
    }
}
