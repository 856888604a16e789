//! One peer connection's state, from offer or answer to close.

use super::media::Streams;
use super::negotiation::Negotiation;
use super::outbox::Outbox;
use super::rate_limit::RateLimit;
use super::recovery::Recovery;
use super::{TRANSFER_IDLE_TIMEOUT, WARNING_BURST, WARNING_PERIOD};
use crate::chunking::{frame_len, FALLBACK_FRAME_LEN};
use crate::reassembly::{Limits, Reassembler};
use crate::renegotiation::is_polite;
use crate::time::Instant;
use std::time::Duration;

/// Rejects sent to one peer at once, then one per [`REJECT_PERIOD`].
const REJECT_BURST: u32 = 20;
const REJECT_PERIOD: Duration = Duration::from_secs(1);

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Descriptions are being made and exchanged.
    Connecting,
    /// The data channel is open; the peer joins once each side admitted the other.
    Admitting { admitted_by_us: bool, admitted_us: bool },
    /// Both sides admitted each other: the peer is in the room.
    Joined,
}

/// What a connection is for before it opens.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Role {
    /// An offer in a tracker announce, for whoever answers it.
    PoolOffer,
    /// Our offer to a known peer (presence strategies, or a peer introduced to us).
    DirectOffer,
    /// Our answer to the peer's offer `offer_id`.
    Answer { offer_id: String },
    /// A room bound onto a connection the page shares (see `crate::hub`), whose SCTP limit is
    /// `max_message_size`: it opens on the peer's link proof.
    Linked { max_message_size: Option<f64> },
}

pub(super) struct Connection<P> {
    /// The remote peer, once known (a pool offer has none until answered).
    pub remote: Option<String>,
    /// Whether the remote peer's signaling was marked passive.
    pub remote_passive: bool,
    pub role: Role,
    pub phase: Phase,
    /// When to give up on it: a pool offer's expiry, the connect timeout once its peer is known,
    /// or the admission deadline once its channel opened.
    pub deadline: Option<Instant>,
    pub negotiation: Negotiation,
    /// When anything last arrived from the peer.
    pub last_heard: Instant,
    /// When we last handed the peer a frame.
    pub last_sent: Instant,
    pub inbox: Reassembler<P>,
    pub outbox: Outbox<P>,
    /// Whether the last frame sent was a stream's (transfers and streams take turns).
    pub last_was_stream: bool,
    /// Bytes the data channel holds unsent, as the driver last reported.
    pub buffered: u64,
    /// Largest frame to send, from the peer's SCTP limit.
    pub frame_len: u64,
    pub streams: Streams,
    pub warnings: RateLimit,
    pub rejects: RateLimit,
    /// The offer this connection answers or made, once known (names its ICE candidates).
    pub offer_id: Option<String>,
    /// Whether the peer's description is set, so its ICE candidates can be added.
    pub remote_described: bool,
    /// Trickle ICE: our candidates found before the offer id was known, and the peer's that came
    /// before its description was set.
    pub local_candidates: Vec<String>,
    pub remote_candidates: Vec<String>,
    /// The peer that introduced this one, whose connection carries this one's signaling.
    pub via: Option<String>,
    /// Whether the peer sent its list of peers (read once).
    pub introduced: bool,
    /// Set while the ICE transport of the open connection is down.
    pub recovery: Option<Recovery>,
}

impl<P> Connection<P> {
    pub fn new(role: Role, limits: Limits, now: Instant) -> Self {
        Self {
            remote: None,
            remote_passive: false,
            role,
            phase: Phase::Connecting,
            deadline: None,
            negotiation: Negotiation::default(),
            last_heard: now,
            last_sent: now,
            inbox: Reassembler::new(limits),
            outbox: Outbox::default(),
            last_was_stream: false,
            buffered: 0,
            frame_len: FALLBACK_FRAME_LEN as u64,
            streams: Streams::default(),
            warnings: RateLimit::new(WARNING_BURST, WARNING_PERIOD, now),
            rejects: RateLimit::new(REJECT_BURST, REJECT_PERIOD, now),
            offer_id: None,
            remote_described: false,
            local_candidates: Vec::new(),
            remote_candidates: Vec::new(),
            via: None,
            introduced: false,
            recovery: None,
        }
    }

    /// The data channel opened; admission must end by `admission_deadline`.
    pub fn open(&mut self, now: Instant, max_message_size: Option<f64>, self_id: &str, admission_deadline: Instant) {
        self.phase = Phase::Admitting { admitted_by_us: false, admitted_us: false };
        self.deadline = Some(admission_deadline);
        self.last_heard = now;
        self.last_sent = now;
        self.frame_len = frame_len(max_message_size) as u64;
        self.negotiation.polite = self.remote.as_deref().is_some_and(|remote| is_polite(self_id, remote));
    }

    /// Whether the data channel is open (the peer may still be being admitted).
    pub fn is_open(&self) -> bool {
        self.phase != Phase::Connecting
    }

    /// Whether the peer is in the room.
    pub fn is_joined(&self) -> bool {
        self.phase == Phase::Joined
    }

    /// Whether the peer is being admitted.
    pub fn is_admitting(&self) -> bool {
        matches!(self.phase, Phase::Admitting { .. })
    }

    /// Whether this connection offers (so the peer answers).
    pub fn offered_by_self(&self) -> bool {
        !matches!(self.role, Role::Answer { .. })
    }

    /// How far setting up got, for a connection that did not open in time.
    pub fn setup_stage(&self) -> &'static str {
        match (self.negotiation.step, self.remote_described) {
            (Some(_), _) => "the browser had not finished a description",
            (None, false) if self.offered_by_self() => "no answer came",
            (None, false) => "the offer was not applied",
            (None, true) => "descriptions were exchanged, but ICE or DTLS did not connect",
        }
    }

    /// Every deadline of this connection.
    pub fn deadlines(&self) -> impl Iterator<Item = Instant> + '_ {
        let idle = self.inbox.oldest_activity().map(|at| at + TRANSFER_IDLE_TIMEOUT);
        let recovery = self.recovery.map(|r| r.next_deadline()).or(self.negotiation.rollback_at);
        [self.deadline, idle, self.outbox.next_deadline(), recovery].into_iter().flatten()
    }
}
