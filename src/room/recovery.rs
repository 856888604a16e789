//! Connection recovery: an open connection whose ICE transport drops (a network change, a
//! laptop switching Wi-Fi, a phone leaving a building) is ICE-restarted over the relays before
//! its peer is given up, so the session and everything in flight on it survive.
//!
//! Rules: when the driver reports an open connection `disconnected`, the impolite side (the one
//! whose offers win collisions, see [`crate::renegotiation::is_polite`]) restarts ICE after
//! [`RESTART_GRACE`] (at once once it is `failed`), then [`RESTART_RETRY`] after each restart
//! offer went out until the transport is back (a new offer abandons the last one's answer). The
//! restart offer and its answer travel over the relays (the data channel is what is down), as
//! the answer message every strategy can address to one peer, sealed and stamped under
//! `restart\0<sender>\0<recipient>\0<exchange id>`; each waits for ICE gathering, so it carries
//! its candidates. A restart signal from the peer counts as a sign of life. The data channel
//! survives the restart and SCTP resends what was lost, so transfers and streams go on where they
//! were. A connection still down [`RECOVERY_LIMIT`] after it dropped is closed and its peer
//! leaves; a peer that vanished (no restart signal) leaves on the usual silence limit. A
//! transport that comes back by itself while our restart offer is out leaves that offer
//! [`RESTART_RETRY`] for its answer; then it is rolled back, so later renegotiation is not stuck
//! behind it. Over a connection the page shares between rooms, the room that negotiates media on
//! it restarts it.

use super::discovery::OFFER_ID_LEN;
use super::io::Connectivity;
use super::{ConnId, NegotiationStep, Room};
use crate::payload::Payload;
use crate::renegotiation::{Description, DescriptionKind};
use crate::sdp::{self, MAX_SIGNALED_SDP_LEN};
use crate::signaling::restart_context;
use crate::time::Instant;
use std::time::Duration;

/// How long a `disconnected` transport may come back by itself before ICE is restarted.
pub const RESTART_GRACE: Duration = Duration::from_secs(2);
/// How long after a restart offer went out its answer may take before the next restart (the
/// peer may take up to the driver's 5 s of ICE gathering to make the answer).
pub const RESTART_RETRY: Duration = Duration::from_secs(8);
/// How long after it dropped a connection may take to come back before its peer leaves.
pub const RECOVERY_LIMIT: Duration = Duration::from_secs(30);
/// How soon a restart that found a negotiation step running is tried again.
const STEP_WAIT: Duration = Duration::from_millis(500);
/// How long a restart offer may take to make (ICE gathering) before the next restart is due
/// anyway; once it went out, the next is due [`RESTART_RETRY`] after.
const RESTART_STEP_LIMIT: Duration = Duration::from_secs(10);

/// A connection whose transport dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Recovery {
    /// When the transport dropped.
    pub since: Instant,
    /// When we restart ICE next (the impolite side only).
    pub restart_at: Option<Instant>,
}

impl Recovery {
    /// When something is next due: a restart, or giving up.
    pub fn next_deadline(&self) -> Instant {
        let limit = self.since + RECOVERY_LIMIT;
        self.restart_at.map_or(limit, |at| at.min(limit))
    }
}

impl<P: Payload> Room<P> {
    /// The ICE transport of `conn` changed state.
    pub(super) fn on_connectivity(&mut self, conn: ConnId, state: Connectivity) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if !c.is_open() {
            return;
        }
        let peer = c.remote.clone().unwrap_or_default();
        let restarts = !c.negotiation.polite;
        let due = if state == Connectivity::Failed { now } else { now + RESTART_GRACE };
        let message = match (state, &mut c.recovery) {
            (Connectivity::Connected, recovery) => {
                let Some(recovery) = recovery.take() else { return };
                if c.negotiation.restart_offer.is_some() {
                    c.negotiation.rollback_at = Some(now + RESTART_RETRY);
                    self.note_deadline(now + RESTART_RETRY);
                }
                let secs = (now - recovery.since).as_secs_f64();
                format!("the connection to peer {peer} is back after {secs:.1} s")
            }
            (_, Some(recovery)) => {
                // A restart offer out awaits its answer, whatever the browser reports meanwhile.
                if restarts && c.negotiation.restart_offer.is_none() {
                    recovery.restart_at = recovery.restart_at.map(|at| at.min(due));
                    let deadline = recovery.next_deadline();
                    self.note_deadline(deadline);
                }
                return;
            }
            (_, recovery @ None) => {
                let started = recovery.insert(Recovery { since: now, restart_at: restarts.then_some(due) });
                let deadline = started.next_deadline();
                self.note_deadline(deadline);
                let next = if restarts { "restarting ICE" } else { "waiting for it to restart ICE" };
                format!("the connection to peer {peer} dropped: {next}")
            }
        };
        self.warn(message);
    }

    /// Restarts what is due, gives up connections that did not come back in time, and rolls back
    /// restart offers left unanswered on connections that came back by themselves.
    pub(super) fn recovery_timeouts(&mut self) {
        let now = self.now;
        let unanswered: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.recovery.is_none() && c.negotiation.rollback_at.is_some_and(|at| at <= now))
            .map(|(&id, _)| id)
            .collect();
        for conn in unanswered {
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            if c.negotiation.restart_offer.is_none() {
                c.negotiation.rollback_at = None;
            } else if c.negotiation.step.is_some() {
                c.negotiation.rollback_at = Some(now + STEP_WAIT);
                self.note_deadline(now + STEP_WAIT);
            } else {
                c.negotiation.rollback_at = None;
                c.negotiation.restart_offer = None;
                self.negotiate(conn, NegotiationStep::Rollback);
            }
        }
        let due: Vec<(ConnId, Recovery)> = self
            .conns
            .iter()
            .filter_map(|(&id, c)| c.recovery.filter(|r| r.next_deadline() <= now).map(|r| (id, r)))
            .collect();
        for (conn, recovery) in due {
            if now >= recovery.since + RECOVERY_LIMIT {
                let peer = self.peer_of(conn).unwrap_or_default().to_owned();
                let secs = RECOVERY_LIMIT.as_secs();
                self.warn(format!("the connection to peer {peer} did not come back within {secs} s"));
                self.drop_peer(conn);
                continue;
            }
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            let idle = c.negotiation.step.is_none();
            let next = now + if idle { RESTART_STEP_LIMIT } else { STEP_WAIT };
            if let Some(recovery) = c.recovery.as_mut() {
                recovery.restart_at = Some(next);
            }
            if idle {
                // The new offer replaces the last: an answer to that one no longer fits.
                c.negotiation.restart_offer = None;
                self.negotiate(conn, NegotiationStep::RestartIce);
            }
            self.note_deadline(next);
        }
    }

    /// Sends the description of an ICE restart of `conn` over the relays: our restart offer under
    /// a new exchange id, or our answer to the peer's under its id.
    pub(super) fn send_restart_description(&mut self, conn: ConnId, kind: DescriptionKind, sdp: String) {
        let exchange = match kind {
            DescriptionKind::Offer => self.random.id(OFFER_ID_LEN),
            DescriptionKind::Answer => {
                let Some(id) = self.conns.get_mut(&conn).and_then(|c| c.negotiation.relay_offer.take()) else { return };
                id
            }
        };
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Some(remote) = c.remote.clone() else { return };
        if kind == DescriptionKind::Offer {
            c.negotiation.restart_offer = Some(exchange.clone());
            if let Some(recovery) = c.recovery.as_mut() {
                recovery.restart_at = Some(now + RESTART_RETRY);
                self.note_deadline(now + RESTART_RETRY);
            }
        }
        let sdp = sdp::fit(&sdp, MAX_SIGNALED_SDP_LEN).0.into_owned();
        let body = Description { kind, sdp }.encode();
        let context = restart_context(&self.config.self_id, &remote, &exchange);
        let Some(sealed) = self.seal_stamped(&body, &context) else { return };
        self.with_strategy(|strategy, cx| strategy.send_answer(&remote, &exchange, &sealed, cx));
    }

    /// A relay brought peer `from`'s answer to an offer id we do not know: a description of an
    /// ICE restart of our open connection to it, or something stale or made up (ignored).
    pub(super) fn on_restart_signal(&mut self, from: &str, exchange: &str, sealed: &str) {
        if !self.accepts_signal_from(from) {
            return;
        }
        let Some(&conn) = self.by_peer.get(from) else { return };
        if !self.conns.get(&conn).is_some_and(|c| c.is_open()) {
            return;
        }
        let Ok(body) = self.open_stamped(sealed, &restart_context(from, &self.config.self_id, exchange)) else {
            return;
        };
        if !self.replays.first_sighting(sealed, self.now) {
            return;
        }
        let description = match Description::decode(&body) {
            Ok(description) => description,
            Err(e) => return self.warn_about(conn, e),
        };
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.last_heard = now;
        match description.kind {
            DescriptionKind::Offer => self.take_remote_description(conn, description, Some(exchange.to_owned())),
            DescriptionKind::Answer if c.negotiation.restart_offer.as_deref() == Some(exchange) => {
                c.negotiation.restart_offer = None;
                c.negotiation.rollback_at = None;
                self.take_remote_description(conn, description, None);
            }
            DescriptionKind::Answer => {}
        }
    }
}
