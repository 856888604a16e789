//! Answering presence sparingly: a room that hears many announcements at once (peers joining
//! together), or a settled room that hears a newcomer, offers through the relays to a few
//! announcers only and lets introductions (see `introductions`) bring it the others, so relays
//! carry a handful of messages per peer instead of an offer and an answer for every pair.
//!
//! Rules: announcers we have no connection to wait; while we have no joined peer, or are the
//! room's keeper (the peer newcomers are meant to reach), those heard [`PRESENCE_GATHER`] ago or
//! earlier are offered a connection through the relays, the ones whose ids follow ours first (in
//! the ring of ids), while fewer than [`MAX_RELAY_OFFERS`] of our offers through relays are
//! being set up; so peers that join together offer to their successors in the ring, each
//! receives a few offers, and introductions close the ring into a full mesh. Otherwise an
//! announcer waits [`PRESENCE_GRACE`] (time for a peer of ours to introduce it to us) and is
//! then offered one if still unknown, within the same cap. At most [`MAX_HEARD`] wait (the
//! oldest dropped), none longer than [`HEARD_TTL`] (an announcer still looking announces again).

use super::connection::Role;
use super::{NegotiationStep, Room};
use crate::payload::Payload;
use crate::time::Instant;
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

/// An announcer waiting for an offer.
pub(super) struct Heard {
    peer: String,
    passive: bool,
    at: Instant,
}

impl<P: Payload> Room<P> {
    /// Peer `peer` (passive or not) announced itself, and we have no connection to it.
    pub(super) fn on_heard(&mut self, peer: &str, passive: bool) {
        if self.heard.iter().any(|h| h.peer == peer) {
            return;
        }
        if self.heard.len() >= MAX_HEARD {
            self.heard.pop_front();
        }
        self.heard.push_back(Heard { peer: peer.to_owned(), passive, at: self.now });
        self.schedule_heard();
    }

    /// Offers connections to the announcers whose wait is over and who are still unknown,
    /// successors in the ring first, within the cap; forgets the known and the expired.
    pub(super) fn follow_heard(&mut self) {
        if self.left {
            self.heard.clear();
            self.next_heard = None;
            return;
        }
        let now = self.now;
        let by_peer = &self.by_peer;
        self.heard.retain(|h| !by_peer.contains_key(&h.peer) && now - h.at < HEARD_TTL);
        let wait = self.presence_wait();
        loop {
            let free = self.relay_offers_under_way() < MAX_RELAY_OFFERS;
            let self_id = self.config.self_id.as_str();
            let next = self
                .heard
                .iter()
                .enumerate()
                .filter(|(_, h)| now - h.at >= wait)
                .min_by_key(|(_, h)| (h.peer.as_str() < self_id, h.peer.as_str()))
                .map(|(index, _)| index);
            let Some(Heard { peer, passive, .. }) = next.filter(|_| free).and_then(|index| self.heard.remove(index))
            else {
                break;
            };
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
        self.next_heard = self.heard.iter().map(|h| h.at + wait).find(|&at| at > now);
    }

    fn relay_offers_under_way(&self) -> usize {
        self.conns.values().filter(|c| !c.is_joined() && c.via.is_none() && matches!(c.role, Role::DirectOffer)).count()
    }

    fn offer_through_relays(&mut self, peer: &str, passive: bool) {
        let Some(conn) = self.new_conn(Role::DirectOffer) else { return };
        self.assign(conn, peer, passive);
        self.negotiate(conn, NegotiationStep::MakeOffer);
    }
}
