//! The room as a sans-IO state machine: every rule that makes a room work, with no I/O, no clock
//! and no async runtime.
//!
//! A driver (the browser layer in `crate::web`, a simulation in tests) owns the sockets, peer
//! connections and the one timer, and follows one contract, as str0m's `Rtc` does:
//!
//! 1. Wait for something: a relay or peer-connection event ([`Input`]), an app call (the methods
//!    below), or the deadline [`Room::poll_timeout`] gave.
//! 2. Feed it in once, with the current time: [`Room::handle_input`], an app call, or
//!    [`Room::handle_timeout`].
//! 3. Drain: call [`Room::poll_output`] until it returns `None`, carrying out every [`Output`]
//!    (inputs that carrying one out produces, such as [`Input::Buffered`] after a frame is sent,
//!    may be fed in during the drain). Hand [`Event`]s to the app only after the drain, once
//!    nothing of the room is borrowed, so app callbacks may call back into the room.
//! 4. Arm the timer for [`Room::poll_timeout`], and wait again.
//!
//! Where each rule lives: relay connections and their backoff in `relays`; announcing, offers,
//! answers, the tie-break, the set-up cap and replay protection in `discovery`; offers waiting
//! for set-up capacity in `waiting_offers`; negotiation steps and perfect negotiation in
//! `negotiation`; frames from peers in `inbox`; sends, acks and their timeouts and aborts in
//! `outbox`; streamed sends and receives in `streams_out` and `streams_in`, their resuming in
//! `stream_resume`, and picking them up after a reload in `stream_adoption`; requests and replies
//! in `requests`; admission and
//! handshakes in `admission`; answering presence sparingly in `presences`; carrying signaling
//! through joined peers in `introductions`; passive peers in `dormancy`; liveness in
//! `liveness`; ICE restarts of dropped connections in `recovery`; pings in `pings`; media metadata in `media`; a room whose key is still being
//! derived in `key_wait`.

mod admission;
mod cadence;
mod connection;
mod discovery;
mod dormancy;
pub mod error;
mod inbox;
mod introductions;
pub mod io;
mod key_wait;
mod links;
mod liveness;
mod media;
mod negotiation;
mod outbox;
mod pings;
mod presences;
mod rate_limit;
mod recovery;
mod relays;
mod replay;
mod requests;
mod stream_adoption;
mod stream_resume;
mod streams_in;
mod streams_out;
mod trickle;
mod waiting_offers;

pub use admission::{Admission, DEFAULT_HANDSHAKE_TIMEOUT, MAX_HANDSHAKE_DATA};
pub use cadence::{BRISK_FIRST, SETTLED_INTERVAL};
pub use dormancy::STAY_AWAKE;
pub use error::{PingError, RequestError, RoomError, SendError, StreamError};
pub use introductions::{INTRODUCTION_DEFER, MAX_INTRODUCED, MAX_INTRODUCTION_OFFERS, POOL_ANSWER_WAIT};
pub use io::{
    ConnId, Connectivity, Event, IncomingStreamId, Input, NegotiationStep, OutFrame, Output, PingId, SendId, StreamId,
};
pub use key_wait::MAX_HELD_SIGNALS;
pub use media::ArrivedTrack;
pub use presences::{
    MAX_HEARD, MAX_RELAY_OFFERS, PRESENCE_GATHER, PRESENCE_GRACE, WARM_MAX_AGE, WARM_RETRY, WARM_RETRY_MAX,
};
pub use recovery::{RECOVERY_LIMIT, RESTART_GRACE, RESTART_RETRY};
pub use requests::{Delivery, IncomingId, RequestId, MAX_HELD_REQUESTS, REQUEST_HOLD};
pub use stream_resume::{MAX_DIGEST_STATES, MAX_FINISHED_STREAMS, RESUME_WAIT};
pub use streams_in::MAX_INCOMING_STREAMS;
pub use streams_out::{StreamRequest, READ_AHEAD, READ_LEN, STREAM_WINDOW};
pub use waiting_offers::{MAX_WAITING_OFFERS, OFFER_WAIT};

use crate::collections::{Map, Set};
use crate::crypto::RoomKey;
use crate::digest::Scratch;
use crate::frame::{PayloadKind, Purpose, MAX_ACTION_NAME_LEN, MAX_METADATA_LEN};
use crate::payload::Payload;
use crate::random::Random;
use crate::reassembly::Limits;
use crate::signaling::SignalEvent;
use crate::strategy::{Context, Discovery, Strategy, StrategyConfig, StrategyOutput};
use crate::time::{Instant, WallClock};
use connection::Connection;
use discovery::Announcer;
use outbox::{Owner, Sends};
use pings::Pings;
use relays::Relays;
use replay::ReplayGuard;
use requests::Requests;
use std::collections::VecDeque;
use std::time::Duration;

/// How long an unanswered pool offer stays open (trackers hand offers on at once, so answers
/// come within seconds).
pub const OFFER_TTL: Duration = Duration::from_secs(20);
/// Connections being set up (not yet open) at most, ours to offer included.
pub const MAX_UNOPENED_CONNECTIONS: usize = 64;
/// Default time from SDP exchange to an open data channel before a connection is given up.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Period of heartbeat pings to every open peer.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Silence after which a peer is considered gone: it leaves within this plus one
/// [`HEARTBEAT_INTERVAL`] (20 s) of its last sign of life.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(15);
/// How long `ping` waits for the pong.
pub const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after its last chunk a transfer may wait for the receiver's ack.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an unfinished incoming transfer may go without a chunk before it is dropped.
pub const TRANSFER_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Send-buffer level above which no more frames are handed to a data channel.
pub const HIGH_WATER: u64 = 8 * 1024 * 1024;
/// Level at which a driver's `bufferedamountlow` should report [`Input::Buffered`] again.
pub const LOW_WATER: u64 = 2 * 1024 * 1024;
/// Warnings about one source (a peer, or the relays) at once, then one per [`WARNING_PERIOD`].
pub const WARNING_BURST: u32 = 20;
/// See [`WARNING_BURST`].
pub const WARNING_PERIOD: Duration = Duration::from_secs(5);
/// Join errors reported at once, then one per second.
pub const JOIN_ERROR_BURST: u32 = 256;
/// Largest relay message read (UTF-16 units for text, bytes for binary); larger ones are dropped
/// by the driver before they are copied.
pub const MAX_RELAY_MESSAGE_LEN: u64 = 1024 * 1024;

/// What a room is.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    pub app_id: String,
    pub room_id: String,
    /// Our peer id in this room.
    pub self_id: String,
    /// The relays to connect to, in order.
    pub relay_urls: Vec<String>,
    /// What peers may make us hold.
    pub limits: Limits,
    /// Time from SDP exchange to an open data channel before a connection is given up.
    pub connect_timeout: Duration,
    /// How peers are admitted once their data channel opens.
    pub admission: Admission,
    /// Time from an open data channel to admission before the peer is dropped.
    pub handshake_timeout: Duration,
    /// A passive peer: dormant until it hears a non-passive one, and never connected to passive ones.
    pub passive: bool,
    /// Whether relay failures and what relays do wrong are warned about.
    pub relay_warnings: bool,
    /// Whether ICE candidates trickle through the relays (where the strategy carries them)
    /// rather than travel in the descriptions.
    pub trickle_ice: bool,
    /// Unix time at the driver's time origin.
    pub clock: WallClock,
}

/// A payload the app sends with an action.
#[derive(Debug, Clone)]
pub struct SendRequest<P> {
    pub action: String,
    pub kind: PayloadKind,
    pub payload: P,
    /// JSON text of the metadata.
    pub metadata: Option<String>,
    /// The target peers (`None`: every open peer).
    pub targets: Option<Vec<String>>,
    /// Whether to report [`Event::SendProgress`].
    pub progress: bool,
}

/// One room of one page: its relays, its peer connections and everything in flight.
pub struct Room<P> {
    config: RoomConfig,
    /// None while the key is being derived (see `key_wait`).
    key: Option<RoomKey>,
    /// Signaling that arrived while the key was being derived.
    held_signals: Vec<SignalEvent>,
    random: Random,
    strategy: Box<dyn Strategy>,
    discovery: Discovery,
    relays: Relays,
    /// Boxed, so that looking a connection up touches little memory.
    conns: Map<ConnId, Box<Connection<P>>>,
    /// The connection of each peer (set up or open).
    by_peer: Map<String, ConnId>,
    /// Our offers awaiting an answer, by offer id.
    offers: Map<String, ConnId>,
    next_conn: u64,
    announcer: Announcer,
    sends: Sends,
    requests: Requests<P>,
    /// Connections with chunks to send, taken in turn.
    sending: VecDeque<ConnId>,
    /// Streams we send, and the ids and wire handles of the next ones.
    streams_out: Map<StreamId, streams_out::OutgoingStream<P>>,
    next_stream: u64,
    next_stream_handle: u32,
    /// Streams peers send us, and the id of the next one.
    streams_in: Map<IncomingStreamId, streams_in::IncomingStream>,
    next_incoming_stream: u64,
    /// Streams we received or cancelled lately (see `stream_resume`).
    finished_streams: VecDeque<stream_resume::FinishedStream>,
    /// The buffer stream bytes are hashed through.
    scratch: Scratch,
    pings: Pings,
    replays: ReplayGuard,
    next_heartbeat: Instant,
    /// What relays may make us log.
    relay_warnings: rate_limit::RateLimit,
    /// How many join errors may be reported.
    join_errors: rate_limit::RateLimit,
    /// No connection deadline is earlier than this: connections are scanned only once it passes.
    next_conn_deadline: Option<Instant>,
    /// Trickle ICE: candidates of peers' connections we do not have yet, by peer and offer id.
    early_candidates: Map<(String, String), Vec<String>>,
    /// Offers waiting for set-up capacity.
    waiting_offers: VecDeque<waiting_offers::WaitingOffer>,
    /// A connection went away or joined since capacity was last used (see `waiting_offers`).
    capacity_freed: bool,
    /// Peers introduced to us that we will offer a connection to once set-up capacity allows.
    introductions: VecDeque<introductions::Introduction>,
    /// Introduced peers whose first offer failed and that were introduced once more.
    reintroduced: Set<String>,
    /// Announcers waiting to be offered a connection through the relays.
    presences: presences::Presences,
    /// Peers already reported by [`Event::JoinError`].
    reported: Set<String>,
    /// Whether new connections are being refused for [`MAX_UNOPENED_CONNECTIONS`] (warned once).
    setup_full: bool,
    /// When a passive room last heard a non-passive peer.
    active_heard: Option<Instant>,
    left: bool,
    outputs: VecDeque<Output<P>>,
    now: Instant,
}

impl<P: Payload> Room<P> {
    /// Creates the room and starts connecting to its relays. `key` is the room key
    /// ([`RoomKey::derive`]); `random` feeds ids, nonces and jitter.
    pub fn new(config: RoomConfig, key: RoomKey, strategy: Box<dyn Strategy>, random: Random, now: Instant) -> Self {
        Self::start(config, Some(key), strategy, random, now)
    }

    /// Creates the room while its key is still being derived: it connects to its relays and
    /// makes its first offers, and seals and reads signaling once [`Room::key_derived`] is called.
    pub fn awaiting_key(config: RoomConfig, strategy: Box<dyn Strategy>, random: Random, now: Instant) -> Self {
        Self::start(config, None, strategy, random, now)
    }

    fn start(
        config: RoomConfig,
        key: Option<RoomKey>,
        strategy: Box<dyn Strategy>,
        random: Random,
        now: Instant,
    ) -> Self {
        let discovery = strategy.discovery();
        let relays = Relays::new(&config.relay_urls);
        let mut room = Self {
            config,
            key,
            held_signals: Vec::new(),
            random,
            strategy,
            discovery,
            relays,
            conns: Map::default(),
            by_peer: Map::default(),
            offers: Map::default(),
            next_conn: 0,
            announcer: Announcer::new(now),
            sends: Sends::default(),
            requests: Requests::default(),
            sending: VecDeque::new(),
            streams_out: Map::default(),
            next_stream: 0,
            next_stream_handle: 0,
            streams_in: Map::default(),
            next_incoming_stream: 0,
            finished_streams: VecDeque::new(),
            scratch: Scratch::default(),
            pings: Pings::default(),
            replays: ReplayGuard::default(),
            next_heartbeat: now + HEARTBEAT_INTERVAL,
            relay_warnings: rate_limit::RateLimit::new(WARNING_BURST, WARNING_PERIOD, now),
            join_errors: rate_limit::RateLimit::new(JOIN_ERROR_BURST, Duration::from_secs(1), now),
            next_conn_deadline: None,
            early_candidates: Map::default(),
            waiting_offers: VecDeque::new(),
            capacity_freed: false,
            introductions: VecDeque::new(),
            reintroduced: Set::default(),
            presences: presences::Presences::default(),
            reported: Set::default(),
            setup_full: false,
            active_heard: None,
            left: false,
            outputs: VecDeque::new(),
            now,
        };
        if room.config.trickle_ice && !room.strategy.carries_candidates() {
            room.warn("this strategy's relays carry no ICE candidates: trickleIce is ignored".to_owned());
        }
        room.connect_all_relays();
        room
    }

    /// What a strategy needs to know of a room before the room exists.
    pub fn strategy_config(config: &RoomConfig) -> StrategyConfig {
        StrategyConfig {
            app_id: config.app_id.clone(),
            room_id: config.room_id.clone(),
            self_id: config.self_id.clone(),
            relay_count: config.relay_urls.len(),
        }
    }

    /// Our peer id.
    pub fn self_id(&self) -> &str {
        &self.config.self_id
    }

    /// The relay URLs, by [`crate::strategy::RelayId`].
    pub fn relay_urls(&self) -> &[String] {
        &self.config.relay_urls
    }

    /// Re-reads the wall clock: a driver whose monotonic clock pauses while the machine sleeps
    /// (`performance.now()` does on most platforms) passes the origin anew with each call.
    pub fn set_wall_clock(&mut self, clock: WallClock) {
        self.config.clock = clock;
    }

    /// Feeds in something that happened outside the room.
    pub fn handle_input(&mut self, now: Instant, input: Input<P>) {
        self.now = now;
        match input {
            Input::RelayOpened { relay } => self.on_relay_opened(relay),
            Input::RelayClosed { relay, reason } => self.on_relay_closed(relay, reason),
            Input::RelayMessage { relay, data } => self.on_relay_message(relay, data),
            Input::RelayMessageTooLarge { relay, len } => self.on_relay_message_too_large(relay, len),
            Input::ConnectionFailed { conn, error } => self.on_connection_failed(conn, &error),
            Input::Negotiated { conn, outcome, stable } => self.on_negotiated(conn, outcome, stable),
            Input::NegotiationNeeded { conn } => self.on_negotiation_needed(conn),
            Input::LocalCandidate { conn, candidate } => self.on_local_candidate(conn, candidate),
            Input::ConnectionOpened { conn, max_message_size } => self.on_connection_opened(conn, max_message_size),
            Input::ConnectionClosed { conn } => self.on_connection_closed(conn),
            Input::Connectivity { conn, state } => self.on_connectivity(conn, state),
            Input::Frame { conn, frame } => self.on_frame(conn, frame),
            Input::NonBinaryFrame { conn } => self.warn_about(conn, "dropped a message that is not binary".to_owned()),
            Input::Buffered { conn, amount } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.buffered = amount;
                }
            }
        }
    }

    /// Time passed: does everything due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.left {
            return;
        }
        self.relay_timeouts();
        if self.next_conn_deadline.is_some_and(|at| at <= now) {
            self.connection_timeouts();
            self.recovery_timeouts();
            self.stalled_transfers();
            self.overdue_acks();
            self.overdue_stream_verdicts();
            self.expire_waiting_streams();
            let streams = self.stream_deadlines().min();
            self.next_conn_deadline = self.conns.values().flat_map(|c| c.deadlines()).chain(streams).min();
        }
        if self.presences.next_deadline.is_some_and(|at| at <= now) {
            self.follow_heard();
        }
        self.use_setup_capacity();
        self.keep_warm_offer();
        self.ping_timeouts();
        if self.requests.next_deadline().is_some_and(|at| at <= now) {
            self.request_timeouts();
        }
        if now >= self.next_heartbeat {
            self.next_heartbeat = now + HEARTBEAT_INTERVAL;
            self.heartbeat();
        }
        self.announce_if_due();
        if self.strategy.poll_timeout().is_some_and(|at| at <= now) {
            self.with_strategy(|strategy, cx| strategy.handle_timeout(cx));
        }
    }

    /// The next thing for the driver to carry out, or `None` once drained.
    pub fn poll_output(&mut self) -> Option<Output<P>> {
        if std::mem::take(&mut self.capacity_freed) && !self.left {
            self.use_setup_capacity();
        }
        if let Some(output) = self.outputs.pop_front() {
            return Some(output);
        }
        self.next_chunk()
    }

    /// When [`Room::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.left {
            return None;
        }
        [
            Some(self.next_heartbeat),
            self.next_conn_deadline,
            self.announcer.next_deadline(),
            self.relays.next_deadline(),
            self.presences.next_deadline,
            self.introductions_held_until(),
            self.introductions_deferred_until(),
            self.pings.next_deadline(),
            self.requests.next_deadline(),
            self.strategy.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Sends an action payload; its [`Event::SendDone`] tells when every target confirmed it.
    pub fn send(&mut self, now: Instant, request: SendRequest<P>) -> Result<SendId, RoomError> {
        self.now = now;
        self.check_send(&request)?;
        let targets = self.targets(request.targets.as_deref())?;
        self.start_send(request, targets, Purpose::Message, Owner::App)
    }

    /// Refuses an action name or metadata that cannot be sent.
    fn check_send(&self, request: &SendRequest<P>) -> Result<(), RoomError> {
        check_description(&request.action, request.metadata.as_deref())
    }

    /// Measures the round trip to `peer`; its [`Event::PingDone`] tells the result.
    pub fn ping(&mut self, now: Instant, peer: &str) -> Result<PingId, RoomError> {
        self.now = now;
        let (_, conn) = self.targets(Some(&[peer.to_owned()]))?.remove(0);
        Ok(self.start_ping(conn, peer))
    }

    /// The open connections to `targets` (`None`: every open peer), each once; an unknown or
    /// unconnected peer is an error.
    pub fn targets(&self, targets: Option<&[String]>) -> Result<Vec<(String, ConnId)>, RoomError> {
        if self.left {
            return Err(RoomError::Closed);
        }
        let Some(ids) = targets else { return Ok(self.open_peers().collect()) };
        let mut found: Vec<(String, ConnId)> = Vec::with_capacity(ids.len());
        for id in ids {
            let conn = self.open_conn(id).ok_or_else(|| RoomError::NotConnected { peer: id.clone() })?;
            if !found.iter().any(|(_, c)| *c == conn) {
                found.push((id.clone(), conn));
            }
        }
        Ok(found)
    }

    /// Whether the room holds an offer made ahead for the next announcer (see `presences`).
    pub fn has_warm_offer(&self) -> bool {
        self.presences.warm_conn().is_some_and(|conn| self.conns.contains_key(&conn))
    }

    /// The open peers and their connections.
    pub fn open_peers(&self) -> impl Iterator<Item = (String, ConnId)> + '_ {
        self.by_peer
            .iter()
            .filter(|(_, id)| self.conns.get(id).is_some_and(|c| c.is_joined()))
            .map(|(p, c)| (p.clone(), *c))
    }

    /// Stops (`true`) or resumes (`false`) reconnecting relays that drop; resuming reconnects at
    /// once every relay that is waiting.
    pub fn set_reconnection_paused(&mut self, now: Instant, paused: bool) {
        self.now = now;
        self.pause_relays(paused);
    }

    /// The page resumed after it may have slept (a phone): relays waiting to reconnect reconnect
    /// at once (unless reconnection is paused), and a room still looking for peers announces now.
    pub fn wake(&mut self, now: Instant) {
        self.now = now;
        if self.left {
            return;
        }
        self.reconnect_waiting_relays();
        if self.is_looking() {
            self.announcer.brisk_rounds = 0;
            self.announcer.last_round = now;
            self.announce_now();
            self.reschedule();
        }
    }

    /// Leaves: says goodbye to the relays, closes every connection and relay, and fails what is
    /// pending. Idempotent.
    pub fn leave(&mut self, now: Instant) {
        self.now = now;
        if std::mem::replace(&mut self.left, true) {
            return;
        }
        let settled = self.sends.fail_all(SendError::Closed);
        self.settle_all(settled);
        self.fail_all_requests();
        self.pings.fail_all(PingError::Closed, &mut self.outputs);
        self.waiting_offers.clear();
        self.fail_all_streams();
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in conns {
            self.remove_conn(conn);
        }
        self.with_strategy(|strategy, cx| strategy.leave(cx));
        self.close_all_relays();
    }

    /// The open connection to `peer`.
    fn open_conn(&self, peer: &str) -> Option<ConnId> {
        self.by_peer.get(peer).copied().filter(|id| self.conns.get(id).is_some_and(|c| c.is_joined()))
    }

    /// Carries out what the strategy asked for.
    fn flush_strategy_outputs(&mut self, requests: VecDeque<StrategyOutput>) {
        for output in requests {
            match output {
                StrategyOutput::Send { relay, data } => self.send_to_relay(relay, data),
                StrategyOutput::Ready(relay) => self.on_relay_ready(relay),
                StrategyOutput::Signal(event) => self.on_signal(event),
                StrategyOutput::Warning(message) => self.warn_about_relays(message),
                StrategyOutput::Hints(relay, hints) => {
                    self.relays.set_hints(relay, hints);
                    self.reschedule();
                }
            }
        }
    }

    /// Runs `f` on the strategy with a fresh context, then carries out what it asked for.
    fn with_strategy(&mut self, f: impl FnOnce(&mut dyn Strategy, &mut Context<'_>)) {
        let mut out = VecDeque::new();
        f(self.strategy.as_mut(), &mut Context::new(self.now, self.config.clock, &mut self.random, &mut out));
        self.flush_strategy_outputs(out);
    }

    /// A connection deadline was set at `at`.
    fn note_deadline(&mut self, at: Instant) {
        self.next_conn_deadline = Some(self.next_conn_deadline.map_or(at, |next| next.min(at)));
    }

    fn emit(&mut self, event: Event<P>) {
        self.outputs.push_back(Output::Event(event));
    }

    fn warn(&mut self, message: String) {
        self.emit(Event::Warning(message));
    }

    /// Warns about something connection `conn`'s peer did, within that peer's warning budget.
    fn warn_about(&mut self, conn: ConnId, message: String) {
        let now = self.now;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let verdict = c.warnings.take(now);
        let peer = c.remote.clone().unwrap_or_default();
        self.warn_within(verdict, message, || {
            format!("peer {peer} keeps sending bad data; further warnings about it are held back")
        });
    }

    /// Warns about something a relay did, within the relays' shared warning budget.
    fn warn_about_relays(&mut self, message: String) {
        if !self.config.relay_warnings {
            return;
        }
        let verdict = self.relay_warnings.take(self.now);
        self.warn_within(verdict, message, || {
            "relays keep sending bad data; further warnings about them are held back".to_owned()
        });
    }

    /// Warns if the budget allowed it; the warning that spends the budget is followed by `held_back`.
    fn warn_within(&mut self, verdict: rate_limit::Verdict, message: String, held_back: impl FnOnce() -> String) {
        match verdict {
            rate_limit::Verdict::Allowed => self.warn(message),
            rate_limit::Verdict::JustExhausted => {
                self.warn(message);
                self.warn(held_back());
            }
            rate_limit::Verdict::Denied => {}
        }
    }

    /// Tells the app that `peer` could not join: logged every time, reported once per peer.
    /// Within a budget ([`JOIN_ERROR_BURST`], then one per second), since anyone who knows the
    /// room's name can make up peers whose signaling does not open.
    fn join_error(&mut self, peer: &str, error: String) {
        let verdict = self.join_errors.take(self.now);
        if verdict == rate_limit::Verdict::Denied {
            return;
        }
        self.warn_within(verdict, format!("peer {peer} could not join: {error}"), || {
            "more peers could not join; further reports are held back".to_owned()
        });
        if self.reported.len() >= 1024 {
            self.reported.clear();
        }
        if self.reported.insert(peer.to_owned()) {
            self.emit(Event::JoinError { peer: peer.to_owned(), error });
        }
    }
}

/// Refuses an action name or metadata that cannot be sent (a payload's or a stream's).
fn check_description(action: &str, metadata: Option<&str>) -> Result<(), RoomError> {
    if action.is_empty() || action.len() > MAX_ACTION_NAME_LEN {
        return Err(RoomError::Invalid(format!("action name must be 1 to {MAX_ACTION_NAME_LEN} bytes")));
    }
    if metadata.is_some_and(|m| m.len() > MAX_METADATA_LEN) {
        return Err(RoomError::Invalid(format!("metadata exceeds {MAX_METADATA_LEN} bytes of JSON")));
    }
    Ok(())
}
