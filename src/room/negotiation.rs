//! Negotiation steps and "perfect negotiation" of open connections.
//!
//! The room issues one [`NegotiationStep`] at a time per connection and waits for its outcome, so
//! it always knows the connection's signaling state: a step never runs against a state another
//! step changed meanwhile. A description arriving from the peer during a step waits for it; so
//! does the browser's wish to renegotiate. When both sides offer at once, the impolite peer
//! ignores the other's offer and the polite peer rolls its own back (roles by peer id, see
//! [`crate::renegotiation::is_polite`]). Renegotiation travels over the data channel, except an
//! ICE restart's, which travels over the relays (see `recovery`).

use super::connection::Role;
use super::{ConnId, NegotiationStep, Output, Room};
use crate::frame::encode_renegotiation;
use crate::payload::Payload;
use crate::renegotiation::{Description, DescriptionKind};
use crate::time::Instant;

/// Which step is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StepKind {
    MakeOffer,
    ApplyOffer,
    ApplyAnswer,
    RestartIce,
    AnswerRestart,
    Rollback,
}

/// Negotiation state of one connection.
#[derive(Debug)]
pub(super) struct Negotiation {
    /// The step running, if any.
    pub step: Option<StepKind>,
    /// Whether the signaling state is stable (no offer pending either way).
    pub stable: bool,
    /// Whether we yield when both sides offer at once.
    pub polite: bool,
    /// The browser asked to renegotiate while a step ran or an offer was pending.
    needed: bool,
    /// The newest description from the peer that arrived while a step ran, with the exchange id
    /// of an ICE restart offer that came over the relays.
    pending_remote: Option<(Description, Option<String>)>,
    /// The exchange id of our latest ICE restart offer, whose answer comes over the relays.
    pub restart_offer: Option<String>,
    /// When our restart offer, still unanswered after the transport came back by itself, is
    /// rolled back (see `recovery`).
    pub rollback_at: Option<Instant>,
    /// The exchange id of the peer's ICE restart offer being answered (the answer goes back over
    /// the relays).
    pub relay_offer: Option<String>,
}

impl Default for Negotiation {
    fn default() -> Self {
        Self {
            step: None,
            stable: true,
            polite: false,
            needed: false,
            pending_remote: None,
            restart_offer: None,
            rollback_at: None,
            relay_offer: None,
        }
    }
}

impl<P: Payload> Room<P> {
    /// Runs `step` on `conn`.
    pub(super) fn negotiate(&mut self, conn: ConnId, step: NegotiationStep) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.negotiation.step = Some(match step {
            NegotiationStep::MakeOffer => StepKind::MakeOffer,
            NegotiationStep::ApplyOffer(_) => StepKind::ApplyOffer,
            NegotiationStep::ApplyAnswer(_) => StepKind::ApplyAnswer,
            NegotiationStep::RestartIce => StepKind::RestartIce,
            NegotiationStep::AnswerRestart(_) => StepKind::AnswerRestart,
            NegotiationStep::Rollback => StepKind::Rollback,
        });
        self.outputs.push_back(Output::Negotiate { conn, step });
    }

    pub(super) fn on_negotiated(&mut self, conn: ConnId, outcome: Result<Option<String>, String>, stable: bool) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Some(step) = c.negotiation.step.take() else { return };
        c.negotiation.stable = stable;
        // The first exchange of descriptions ends when the peer's is set, which may come after
        // the channel opened (the answer's step reports back after the open event).
        let first = !c.remote_described && !matches!(c.role, Role::Linked { .. });
        if !first {
            return self.on_renegotiated(conn, step, outcome);
        }
        self.on_described(conn, step, outcome);
        if self.conns.get(&conn).is_some_and(|c| c.is_open()) {
            self.follow_up(conn);
        }
    }

    pub(super) fn on_negotiation_needed(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if !c.is_open() {
            return;
        }
        if c.negotiation.step.is_some() || !c.negotiation.stable {
            c.negotiation.needed = true;
        } else {
            self.negotiate(conn, NegotiationStep::MakeOffer);
        }
    }

    /// A description the peer sent over the data channel.
    pub(super) fn on_remote_description(&mut self, conn: ConnId, text: &str) {
        let description = match Description::decode(text) {
            Ok(description) => description,
            Err(e) => return self.warn_about(conn, e),
        };
        self.take_remote_description(conn, description, None);
    }

    /// Applies the peer's `description` of `conn` (an ICE restart offer that came over the relays
    /// under `exchange`), or holds it while a step runs.
    pub(super) fn take_remote_description(&mut self, conn: ConnId, description: Description, exchange: Option<String>) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.negotiation.step.is_some() {
            c.negotiation.pending_remote = Some((description, exchange));
        } else {
            self.apply_remote(conn, description, exchange);
        }
    }

    fn apply_remote(&mut self, conn: ConnId, description: Description, exchange: Option<String>) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let step = match description.kind {
            // A colliding offer: the impolite side keeps its own, the polite side rolls back.
            DescriptionKind::Offer if !c.negotiation.stable && !c.negotiation.polite => return,
            DescriptionKind::Offer if exchange.is_some() => {
                c.negotiation.relay_offer = exchange;
                NegotiationStep::AnswerRestart(description.sdp)
            }
            DescriptionKind::Offer => NegotiationStep::ApplyOffer(description.sdp),
            // An answer with no offer of ours pending is stale.
            DescriptionKind::Answer if c.negotiation.stable => return,
            DescriptionKind::Answer => NegotiationStep::ApplyAnswer(description.sdp),
        };
        self.negotiate(conn, step);
    }

    /// A renegotiation step of open connection `conn` finished with `outcome`.
    fn on_renegotiated(&mut self, conn: ConnId, step: StepKind, outcome: Result<Option<String>, String>) {
        match (step, outcome) {
            (StepKind::MakeOffer, Ok(Some(sdp))) => self.send_description(conn, DescriptionKind::Offer, sdp),
            (StepKind::ApplyOffer, Ok(Some(sdp))) => self.send_description(conn, DescriptionKind::Answer, sdp),
            (StepKind::RestartIce, Ok(Some(sdp))) => self.send_restart_description(conn, DescriptionKind::Offer, sdp),
            (StepKind::AnswerRestart, Ok(Some(sdp))) => {
                self.send_restart_description(conn, DescriptionKind::Answer, sdp)
            }
            (_, Ok(_)) => {}
            (_, Err(e)) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.negotiation.relay_offer = None;
                }
                self.warn_about(conn, format!("renegotiation failed: {e}"));
            }
        }
        self.follow_up(conn);
    }

    /// A step of open connection `conn` ended: a description the peer sent meanwhile is applied,
    /// or a renegotiation asked for meanwhile starts.
    fn follow_up(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if let Some((description, exchange)) = c.negotiation.pending_remote.take() {
            self.apply_remote(conn, description, exchange);
        } else if c.negotiation.stable && std::mem::take(&mut c.negotiation.needed) {
            self.negotiate(conn, NegotiationStep::MakeOffer);
        }
    }

    fn send_description(&mut self, conn: ConnId, kind: DescriptionKind, sdp: String) {
        let frame = encode_renegotiation(&Description { kind, sdp }.encode());
        self.send_control(conn, frame);
    }
}
