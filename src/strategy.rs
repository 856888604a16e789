//! The one trait every signaling strategy implements: a sans-IO session over a room's relay
//! connections. It names no browser or socket type: the room opens and closes relays, feeds the
//! strategy what they say, and carries out what it asks for.

use crate::random::Random;
use crate::signaling::{SealedOffer, SignalEvent};
use crate::time::{Instant, WallClock};
use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

/// The largest WebSocket message sent to any relay: 16 KiB, the strictest limit public relays
/// apply (aquatic_ws, which many public WebTorrent trackers run, closes the connection past it;
/// Nostr relays commonly cap events at 16–64 KiB, MQTT brokers packets at 128 KiB or more).
pub const MAX_SENT_RELAY_MESSAGE_LEN: usize = 16 * 1024;

/// A relay of the room: its index in the room's relay list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelayId(pub usize);

/// One WebSocket message to or from a relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayData {
    Text(String),
    Binary(Vec<u8>),
}

/// How a strategy finds peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// Each announce carries up to `size` sealed offers that the relay hands to strangers, who
    /// answer through it (trackers).
    OfferPool { size: usize },
    /// Each announce carries a presence proof; whoever hears it sends an offer addressed to the
    /// announcer (pub/sub relays).
    Presence,
}

/// What the room tells a strategy when it starts.
#[derive(Debug, Clone)]
pub struct StrategyConfig {
    pub app_id: String,
    pub room_id: String,
    pub self_id: String,
    /// How many relays the room connects to; [`RelayId`]s run from 0 to this.
    pub relay_count: usize,
}

/// Why a relay connection must be dropped: the relay refused us or its stream became unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayFault(pub String);

impl fmt::Display for RelayFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a relay said about announcing through it (trackers answer every announce with these).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnnounceHints {
    /// The period between announcements the relay asks for.
    pub interval: Option<Duration>,
    /// The shortest period between announcements the relay allows.
    pub min_interval: Option<Duration>,
    /// How many peers the relay has in the room, us included.
    pub swarm_size: Option<u64>,
}

/// What a strategy asks the room to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategyOutput {
    /// Send `data` on relay `relay`'s connection.
    Send { relay: RelayId, data: RelayData },
    /// The session on `relay` is established (subscribed, or the tracker answered): announcements
    /// sent there now reach other peers.
    Ready(RelayId),
    /// A signaling message for the room, heard on `relay`.
    Signal(SignalEvent),
    /// Something worth a console warning that does not end the session.
    Warning(String),
    /// What relay `relay` said about announcing through it.
    Hints(RelayId, AnnounceHints),
}

/// The strategy's view of the moment: the time, the wall clock, randomness and where its
/// requests go.
pub struct Context<'a> {
    pub now: Instant,
    pub clock: WallClock,
    pub random: &'a mut Random,
    out: &'a mut VecDeque<StrategyOutput>,
}

impl<'a> Context<'a> {
    /// A context whose requests are appended to `out`.
    pub fn new(now: Instant, clock: WallClock, random: &'a mut Random, out: &'a mut VecDeque<StrategyOutput>) -> Self {
        Self { now, clock, random, out }
    }

    /// Sends `data` to `relay`.
    pub fn send(&mut self, relay: RelayId, data: RelayData) {
        self.out.push_back(StrategyOutput::Send { relay, data });
    }

    /// Reports the session on `relay` established.
    pub fn ready(&mut self, relay: RelayId) {
        self.out.push_back(StrategyOutput::Ready(relay));
    }

    /// Hands a signaling message to the room.
    pub fn signal(&mut self, event: SignalEvent) {
        self.out.push_back(StrategyOutput::Signal(event));
    }

    /// Passes on what `relay` said about announcing through it.
    pub fn hints(&mut self, relay: RelayId, hints: AnnounceHints) {
        self.out.push_back(StrategyOutput::Hints(relay, hints));
    }

    /// Reports something worth a warning.
    pub fn warn(&mut self, message: String) {
        self.out.push_back(StrategyOutput::Warning(message));
    }

    /// Unix time now, in seconds.
    pub fn unix_secs(&self) -> u64 {
        self.clock.unix_secs(self.now)
    }
}

/// A way to reach the other peers of a room through relays, as a state machine over the relay
/// connections the room manages. A strategy carries sealed messages only; keys, sealing, peer
/// lifecycle, reconnection and timing of announcements belong to the room.
pub trait Strategy {
    /// WebSocket subprotocols to request when opening a relay connection.
    fn protocols(&self) -> &'static [&'static str];

    /// How this strategy finds peers.
    fn discovery(&self) -> Discovery;

    /// Relay `relay`'s connection opened: start the session (connect, subscribe, …).
    fn on_open(&mut self, relay: RelayId, cx: &mut Context<'_>);

    /// Relay `relay`'s connection closed; forget its session.
    fn on_close(&mut self, relay: RelayId);

    /// A message arrived from `relay`. An error ends that connection (the room reconnects it later).
    fn on_message(&mut self, relay: RelayId, data: RelayData, cx: &mut Context<'_>) -> Result<(), RelayFault>;

    /// Announces us on `relays` (each ready): `offers` spread over them (offer-pool strategies) or
    /// `proof` (presence strategies: the sealed, stamped presence proof).
    fn announce(&mut self, relays: &[RelayId], offers: Vec<SealedOffer>, proof: &str, cx: &mut Context<'_>);

    /// Sends our offer to peer `to` (presence strategies).
    fn send_offer(&mut self, to: &str, offer: SealedOffer, cx: &mut Context<'_>);

    /// Sends our answer to peer `to` for its offer `offer_id`.
    fn send_answer(&mut self, to: &str, offer_id: &str, sealed_sdp: &str, cx: &mut Context<'_>);

    /// Whether the relays carry ICE candidates between peers (trickle ICE).
    fn carries_candidates(&self) -> bool {
        false
    }

    /// Sends peer `to` an ICE candidate for the connection of offer `offer_id`, sealed; only
    /// called when [`Strategy::carries_candidates`].
    fn send_candidate(&mut self, _to: &str, _offer_id: &str, _sealed: &str, _cx: &mut Context<'_>) {}

    /// Says goodbye on every open relay; the room closes the connections next.
    fn leave(&mut self, cx: &mut Context<'_>);

    /// When the strategy next needs [`Strategy::handle_timeout`] (e.g. a keep-alive).
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Time passed: send what is due.
    fn handle_timeout(&mut self, _cx: &mut Context<'_>) {}
}
