//! Offers that come while set-up capacity is full wait for it instead of going unanswered (an
//! unanswered offerer would wait out its whole connect timeout).
//!
//! Rules: an opened, first-seen offer that finds [`MAX_UNOPENED_CONNECTIONS`] connections being
//! set up waits, at most [`MAX_WAITING_OFFERS`] of them (the oldest dropped first) and one per
//! peer (a newer one replaces it); whenever capacity may have freed (a connection joined or went
//! away: checked before the next output; or time passed) waiting offers are answered first, oldest
//! first, then introductions are followed;
//! an offer that waited longer than [`OFFER_WAIT`] is dropped, and one from a peer we meanwhile
//! connected to another way is decided by the usual tie-break.

use super::{Room, MAX_UNOPENED_CONNECTIONS};
use crate::payload::Payload;
use crate::time::Instant;
use std::time::Duration;

/// Offers waiting for set-up capacity, at most.
pub const MAX_WAITING_OFFERS: usize = 64;
/// How long an offer waits for set-up capacity before it is dropped (its offerer is likely to
/// have given it up by then).
pub const OFFER_WAIT: Duration = Duration::from_secs(10);

/// An offer read and checked, waiting for set-up capacity.
pub(super) struct WaitingOffer {
    pub from: String,
    pub offer_id: String,
    pub sdp: String,
    pub passive: bool,
    /// The peer that carried it, which carries the answer back.
    pub via: Option<String>,
    pub at: Instant,
}

impl<P: Payload> Room<P> {
    /// Whether [`MAX_UNOPENED_CONNECTIONS`] connections are being set up.
    pub(super) fn setup_capacity_full(&self) -> bool {
        self.conns.values().filter(|c| !c.is_joined()).count() >= MAX_UNOPENED_CONNECTIONS
    }

    /// Offer `offer` waits for set-up capacity.
    pub(super) fn wait_for_capacity(&mut self, offer: WaitingOffer) {
        self.warn_setup_full();
        self.waiting_offers.retain(|w| w.from != offer.from);
        if self.waiting_offers.len() >= MAX_WAITING_OFFERS {
            self.waiting_offers.pop_front();
        }
        self.waiting_offers.push_back(offer);
    }

    /// Set-up capacity may have freed: answers waiting offers, then follows introductions.
    pub(super) fn use_setup_capacity(&mut self) {
        let now = self.now;
        self.waiting_offers.retain(|w| now.since(w.at) <= OFFER_WAIT);
        while !self.waiting_offers.is_empty() && !self.setup_capacity_full() {
            let Some(offer) = self.waiting_offers.pop_front() else { break };
            self.answer_offer(offer);
        }
        self.follow_introductions();
    }
}
