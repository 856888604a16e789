//! The simulated world: peers, relay servers, peer connections and the clock.

use crate::relays::{ClientId, RelayServer, ServerAction, SimBroker, SimNostrRelay, SimTracker};
use rendez_core::crypto::RoomKey;
use rendez_core::frame::PayloadKind;
use rendez_core::payload::{Payload, SharedBytes};
use rendez_core::random::{Random, PEER_ID_LEN};
use rendez_core::reassembly::Limits;
use rendez_core::room::{
    Admission, ArrivedTrack, ConnId, Delivery, Event, IncomingId, IncomingStreamId, Input, NegotiationStep, Output,
    PingError, PingId, RequestError, RequestId, Room, RoomConfig, RoomError, SendError, SendId, SendRequest,
    StreamError, StreamId, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, LOW_WATER,
};
use rendez_core::strategy::{RelayData, RelayId, Strategy};
use rendez_core::time::{Instant, WallClock};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::Duration;
pub use streams::IncomingLog;

mod paths;

pub use paths::DISCONNECT_NOTICE;
mod streams;

/// A peer of the world, by the order it joined.
pub type PeerIndex = usize;

/// Unix time at the simulation's start (peers' clocks may be skewed from it).
const EPOCH_UNIX_MS: u64 = 1_800_000_000_000;
/// Time a browser takes to make an offer or answer (ICE gathering on a LAN).
const GATHERING: Duration = Duration::from_millis(20);
/// Time from the offerer applying the answer to both data channels opening.
const ICE_CONNECT: Duration = Duration::from_millis(30);
/// SCTP message limit the simulated connections report.
const MAX_MESSAGE_SIZE: f64 = 262_144.0;

/// Which strategy the world's peers use (and which relay servers it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyKind {
    Torrent,
    Mqtt,
    Nostr,
}

/// How a peer joins.
#[derive(Debug, Clone)]
pub struct Options {
    pub app_id: String,
    pub room_id: String,
    pub password: Option<String>,
    /// The servers it connects to, by index.
    pub relays: Vec<usize>,
    /// How far its wall clock is off, in seconds.
    pub clock_skew_secs: i64,
    pub limits: Limits,
    pub connect_timeout: Duration,
    pub admission: Admission,
    pub handshake_timeout: Duration,
    pub passive: bool,
    /// Its connections never open (as with peers behind networks that block each other).
    pub unreachable: bool,
    /// Trickle ICE: each connection finds one candidate 1 ms after it is created.
    pub trickle_ice: bool,
    /// How long it takes to make an offer or answer (a busy page takes longer).
    pub gathering: Duration,
    /// The room key is handed in this long after joining (as a browser derives it off the main
    /// thread); with none, the room starts with its key.
    pub key_delay: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            app_id: "sim-app".into(),
            room_id: "sim-room".into(),
            password: None,
            relays: vec![0],
            clock_skew_secs: 0,
            limits: Limits::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            admission: Admission::Immediate,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            passive: false,
            unreachable: false,
            trickle_ice: false,
            key_delay: None,
            gathering: GATHERING,
        }
    }
}

/// A payload that arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub from: String,
    pub action: String,
    pub kind: PayloadKind,
    pub metadata: Option<String>,
    pub bytes: Vec<u8>,
}

/// What the app of one peer was told.
#[derive(Debug, Default)]
pub struct Log {
    pub joined: Vec<String>,
    pub left: Vec<String>,
    pub join_errors: Vec<(String, String)>,
    pub received: Vec<Received>,
    pub receive_progress: usize,
    pub send_progress: usize,
    pub sends: BTreeMap<SendId, Result<usize, SendError>>,
    pub pings: BTreeMap<PingId, Result<Duration, PingError>>,
    pub warnings: Vec<String>,
    /// Handshakes started: the peer, and whether we initiate.
    pub handshakes: Vec<(String, bool)>,
    /// The connection of each peer's latest handshake.
    pub handshake_conns: BTreeMap<String, ConnId>,
    /// Handshake data: the peer and the bytes.
    pub handshake_data: Vec<(String, Vec<u8>)>,
    pub handshakes_ended: Vec<String>,
    /// Peers' requests handed to us: id, peer, action, bytes.
    pub requests_received: Vec<(IncomingId, String, String, Vec<u8>)>,
    pub requests_withdrawn: Vec<IncomingId>,
    /// Our requests' outcomes: the reply's bytes, or why none came.
    pub requests: BTreeMap<RequestId, Result<Vec<u8>, RequestError>>,
    /// Tracks that arrived, with their stream id.
    pub tracks: Vec<(String, ArrivedTrack)>,
    /// Peers' ICE candidates added to our connections (trickle ICE), with the connection.
    pub candidates_added: Vec<(ConnId, String)>,
    /// Streams sent to us.
    pub streams: BTreeMap<IncomingStreamId, IncomingLog>,
    /// Outcomes of the streams we sent.
    pub streams_sent: BTreeMap<StreamId, Result<u64, StreamError>>,
}

/// What one peer cost the world.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub relay_messages_sent: u64,
    pub relay_messages_received: u64,
    pub relay_connections_opened: u64,
    pub connections_created: u64,
    pub frames_sent: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Signaling {
    #[default]
    Stable,
    HaveLocalOffer,
}

/// A simulated RTCPeerConnection with its data channel.
#[derive(Debug, Default)]
struct Pc {
    signaling: Signaling,
    busy: bool,
    remote: Option<(PeerIndex, ConnId)>,
    open: bool,
    /// Hung: sends nothing, takes nothing, never opens.
    muted: bool,
    /// Media tracks added locally, in the pending local offer, and agreed by the remote.
    local_media: u32,
    offered_media: u32,
    negotiated_media: u32,
    /// Media tracks of the remote agreed so far.
    remote_media: u32,
    /// Whether `negotiationneeded` was fired and not yet answered by an offer.
    need_fired: bool,
    /// When everything handed to the channel so far will have left (with a bandwidth limit).
    link_free_at: Instant,
    /// Whether a `bufferedamountlow` is scheduled.
    low_pending: bool,
    path: paths::Path,
}

/// A peer's simulated connections, by the room's connection ids (which count up from 0).
#[derive(Default)]
struct Pcs(Vec<Option<Pc>>);

impl Pcs {
    fn get(&self, conn: &ConnId) -> Option<&Pc> {
        self.0.get(conn.0 as usize)?.as_ref()
    }

    fn get_mut(&mut self, conn: &ConnId) -> Option<&mut Pc> {
        self.0.get_mut(conn.0 as usize)?.as_mut()
    }

    fn insert(&mut self, conn: ConnId, pc: Pc) {
        let index = conn.0 as usize;
        if self.0.len() <= index {
            self.0.resize_with(index + 1, || None);
        }
        self.0[index] = Some(pc);
    }

    fn remove(&mut self, conn: &ConnId) -> Option<Pc> {
        self.0.get_mut(conn.0 as usize)?.take()
    }

    fn len(&self) -> usize {
        self.0.iter().flatten().count()
    }
}

struct Peer {
    id: String,
    room: Room<SharedBytes>,
    /// Server index of each of its relays.
    servers: Vec<usize>,
    /// Its current connection to each relay.
    clients: BTreeMap<usize, ClientId>,
    pcs: Pcs,
    log: Log,
    stats: Stats,
    crashed: bool,
    unreachable: bool,
    gathering: Duration,
    timer: Option<Instant>,
    streams: streams::PeerStreams,
}

struct Server {
    relay: Box<dyn RelayServer>,
    up: bool,
    clients: BTreeMap<ClientId, (PeerIndex, RelayId)>,
}

enum Action {
    Timer(PeerIndex),
    Input(PeerIndex, Input<SharedBytes>),
    ServerConnect(usize, ClientId),
    ServerReceive(usize, ClientId, RelayData),
    ServerDisconnect(usize, ClientId),
    StepDone(PeerIndex, ConnId, NegotiationStep),
    Open(PeerIndex, ConnId),
    /// The peer's room key is derived.
    KeyDerived(PeerIndex, Box<RoomKey>),
    /// A channel's buffer may have fallen to the low-water mark.
    BufferLow(PeerIndex, ConnId),
    /// A read of a stream's source completes: its offset and most bytes.
    Read(PeerIndex, StreamId, u64, u64),
    /// The app consumes bytes of an incoming stream.
    Consume(PeerIndex, IncomingStreamId, u64),
    /// An ICE restart found a new path for a connection whose path was cut.
    PathUp(PeerIndex, ConnId),
}

struct Scheduled {
    at: Instant,
    seq: u64,
    action: Action,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    /// Reversed, so the heap pops the earliest first (and, at one instant, the first scheduled).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Whether a data-channel frame from a peer is delivered.
pub type FrameFilter = Box<dyn Fn(PeerIndex, &[u8]) -> bool>;
/// Changes the bytes of a data-channel frame from a peer on its way.
pub type FrameCorrupter = Box<dyn FnMut(PeerIndex, &mut Vec<u8>)>;

/// Peers, relay servers and the simulated clock.
pub struct World {
    kind: StrategyKind,
    now: Instant,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    /// Events scheduled one latency ahead (most of them): already in order, so a queue suffices.
    in_flight: VecDeque<Scheduled>,
    peers: Vec<Peer>,
    servers: Vec<Server>,
    next_client: u64,
    seed: u64,
    keys: BTreeMap<(Option<String>, String, String), RoomKey>,
    /// One-way latency of every relay message and data-channel frame.
    pub latency: Duration,
    /// Negotiation steps a browser would have refused, or that overlapped.
    pub violations: Vec<String>,
    /// Every message servers sent to peers, when recording: (server, receiving peer, message).
    pub relay_log: Option<Vec<(usize, PeerIndex, RelayData)>>,
    /// Decides which data-channel frames are delivered (by sender and bytes); all when `None`.
    pub frame_filter: Option<FrameFilter>,
    /// Alters data-channel frames in transit (by sender), as a faulty path or peer would.
    pub frame_corrupter: Option<FrameCorrupter>,
    /// Bytes per second each direction of each connection carries; unlimited when `None`.
    pub bandwidth: Option<u64>,
    /// Joins minus leaves reported to every app, kept as events arrive.
    open_total: usize,
    /// Whether an ICE restart finds a new path for a cut one.
    paths_heal: bool,
}

impl World {
    /// A world with one relay server of `kind`'s protocol.
    pub fn new(kind: StrategyKind, seed: u64) -> Self {
        let mut world = Self {
            kind,
            now: Instant::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            in_flight: VecDeque::new(),
            peers: Vec::new(),
            servers: Vec::new(),
            next_client: 0,
            seed,
            keys: BTreeMap::new(),
            latency: Duration::from_millis(10),
            violations: Vec::new(),
            relay_log: None,
            frame_filter: None,
            frame_corrupter: None,
            bandwidth: None,
            open_total: 0,
            paths_heal: true,
        };
        world.add_server();
        world
    }

    /// Adds a relay server of the world's protocol; returns its index.
    pub fn add_server(&mut self) -> usize {
        let relay: Box<dyn RelayServer> = match self.kind {
            StrategyKind::Torrent => Box::new(SimTracker::new(self.seed ^ self.servers.len() as u64)),
            StrategyKind::Mqtt => Box::<SimBroker>::default(),
            StrategyKind::Nostr => Box::<SimNostrRelay>::default(),
        };
        self.add_custom_server(relay)
    }

    /// Adds a relay server; returns its index.
    pub fn add_custom_server(&mut self, relay: Box<dyn RelayServer>) -> usize {
        self.servers.push(Server { relay, up: true, clients: BTreeMap::new() });
        self.servers.len() - 1
    }

    /// A peer joins with `options`.
    pub fn join(&mut self, options: Options) -> PeerIndex {
        let index = self.peers.len();
        let mut random = Random::seeded(self.seed.wrapping_mul(1_000_003).wrapping_add(index as u64));
        let id = random.id(PEER_ID_LEN);
        let skewed = EPOCH_UNIX_MS as i64 + options.clock_skew_secs * 1000;
        let config = RoomConfig {
            app_id: options.app_id.clone(),
            room_id: options.room_id.clone(),
            self_id: id.clone(),
            relay_urls: options.relays.iter().map(|s| format!("sim://{s}")).collect(),
            limits: options.limits,
            connect_timeout: options.connect_timeout,
            admission: options.admission,
            handshake_timeout: options.handshake_timeout,
            passive: options.passive,
            relay_warnings: true,
            trickle_ice: options.trickle_ice,
            clock: WallClock { origin_unix_ms: skewed as u64 },
        };
        let key = self
            .keys
            .entry((options.password.clone(), options.app_id.clone(), options.room_id.clone()))
            .or_insert_with(|| RoomKey::derive(options.password.as_deref(), &options.app_id, &options.room_id))
            .clone();
        let strategy_config = Room::<SharedBytes>::strategy_config(&config);
        let strategy: Box<dyn Strategy> = match self.kind {
            StrategyKind::Torrent => Box::new(rendez_torrent::session::TrackerSession::new(&strategy_config)),
            StrategyKind::Mqtt => Box::new(rendez_mqtt::strategy(&strategy_config)),
            StrategyKind::Nostr => Box::new(rendez_nostr::strategy(&strategy_config, &mut random)),
        };
        let room = match options.key_delay {
            None => Room::new(config, key, strategy, random, self.now),
            Some(delay) => {
                self.schedule(delay, Action::KeyDerived(index, Box::new(key)));
                Room::awaiting_key(config, strategy, random, self.now)
            }
        };
        self.peers.push(Peer {
            id,
            room,
            servers: options.relays,
            clients: BTreeMap::new(),
            pcs: Pcs::default(),
            log: Log::default(),
            stats: Stats::default(),
            crashed: false,
            unreachable: options.unreachable,
            gathering: options.gathering,
            timer: None,
            streams: streams::PeerStreams::default(),
        });
        self.drain(index);
        index
    }

    /// A peer joins with default options.
    pub fn join_default(&mut self) -> PeerIndex {
        self.join(Options::default())
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn peer_id(&self, peer: PeerIndex) -> &str {
        &self.peers[peer].id
    }

    pub fn log(&self, peer: PeerIndex) -> &Log {
        &self.peers[peer].log
    }

    pub fn stats(&self, peer: PeerIndex) -> Stats {
        self.peers[peer].stats
    }

    pub fn room(&self, peer: PeerIndex) -> &Room<SharedBytes> {
        &self.peers[peer].room
    }

    /// The peers `peer`'s room has open connections to.
    pub fn open_peers(&self, peer: PeerIndex) -> Vec<String> {
        self.peers[peer].room.open_peers().map(|(id, _)| id).collect()
    }

    /// Peers joined minus peers left, over every app of the world: `n * (n - 1)` once `n` peers
    /// are fully meshed (cheap to watch while a large room runs).
    pub fn open_total(&self) -> usize {
        self.open_total
    }

    /// Whether each of `peers` has an open connection to each other one.
    pub fn full_mesh(&self, peers: &[PeerIndex]) -> bool {
        peers.iter().all(|&p| self.peers[p].room.open_peers().count() == peers.len() - 1)
    }

    /// Peer connections `peer` has (set up or open).
    pub fn connection_count(&self, peer: PeerIndex) -> usize {
        self.peers[peer].pcs.len()
    }

    /// `peer`'s connections other than an offer made ahead for the next announcer.
    pub fn peer_connections(&self, peer: PeerIndex) -> usize {
        self.connection_count(peer).saturating_sub(usize::from(self.peers[peer].room.has_warm_offer()))
    }

    /// Runs the world for `duration` of simulated time.
    pub fn run_for(&mut self, duration: Duration) {
        let until = self.now + duration;
        while self.next_event_at().is_some_and(|at| at <= until) {
            self.step();
        }
        self.now = until;
    }

    /// Runs until `done` holds (checked after every event) or `limit` passes; returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&World) -> bool) -> bool {
        let until = self.now + limit;
        while !done(self) {
            if self.next_event_at().is_none_or(|at| at > until) {
                self.now = until;
                return done(self);
            }
            self.step();
        }
        true
    }

    fn schedule(&mut self, delay: Duration, action: Action) {
        self.seq += 1;
        let event = Scheduled { at: self.now + delay, seq: self.seq, action };
        if delay == self.latency && self.in_flight.back().is_none_or(|last| last.at <= event.at) {
            self.in_flight.push_back(event);
        } else {
            self.queue.push(event);
        }
    }

    /// Whether the next event is the head of `in_flight` rather than of `queue`.
    fn in_flight_first(&self) -> bool {
        match (self.in_flight.front(), self.queue.peek()) {
            (Some(a), Some(b)) => (a.at, a.seq) < (b.at, b.seq),
            (a, _) => a.is_some(),
        }
    }

    fn next_event_at(&self) -> Option<Instant> {
        if self.in_flight_first() {
            self.in_flight.front().map(|s| s.at)
        } else {
            self.queue.peek().map(|s| s.at)
        }
    }

    fn step(&mut self) {
        let next = if self.in_flight_first() { self.in_flight.pop_front() } else { self.queue.pop() };
        let Some(Scheduled { at, action, .. }) = next else { return };
        self.now = at;
        match action {
            Action::Timer(p) => {
                if self.peers[p].timer == Some(at) && !self.peers[p].crashed {
                    self.peers[p].timer = None;
                    self.peers[p].room.handle_timeout(at);
                    self.drain(p);
                }
            }
            Action::Input(p, input) => {
                if let Input::Frame { conn, .. } = &input {
                    // A browser fires a channel's open event before its first message.
                    self.open(p, *conn);
                }
                self.input(p, input)
            }
            Action::ServerConnect(s, client) => {
                if self.servers[s].clients.contains_key(&client) {
                    self.servers[s].relay.connect(client);
                }
            }
            Action::ServerReceive(s, client, data) => self.server_receive(s, client, data),
            Action::ServerDisconnect(s, client) => {
                if self.servers[s].clients.remove(&client).is_some() {
                    self.servers[s].relay.disconnect(client);
                }
            }
            Action::StepDone(p, conn, step) => self.step_done(p, conn, step),
            Action::BufferLow(p, conn) => {
                let Some(pc) = self.peers[p].pcs.get_mut(&conn) else { return };
                pc.low_pending = false;
                let amount = self.buffered(p, conn);
                if amount <= LOW_WATER {
                    self.input(p, Input::Buffered { conn, amount });
                } else {
                    self.watch_buffer(p, conn);
                }
            }
            Action::Open(p, conn) => self.open(p, conn),
            Action::Read(p, stream, offset, max) => {
                if !self.peers[p].crashed {
                    self.read_done(p, stream, offset, max);
                }
            }
            Action::Consume(p, stream, bytes) => {
                if !self.peers[p].crashed {
                    self.consume(p, stream, bytes);
                }
            }
            Action::PathUp(p, conn) => self.path_up(p, conn),
            Action::KeyDerived(p, key) => {
                if !self.peers[p].crashed {
                    self.peers[p].room.key_derived(at, *key);
                    self.drain(p);
                }
            }
        }
    }

    /// The data channel of `peer`'s `conn` opens, unless it did.
    fn open(&mut self, p: PeerIndex, conn: ConnId) {
        let Some(pc) = self.peers[p].pcs.get_mut(&conn).filter(|pc| !pc.open && !pc.muted) else { return };
        pc.open = true;
        self.input(p, Input::ConnectionOpened { conn, max_message_size: Some(MAX_MESSAGE_SIZE) });
    }

    /// Feeds `input` to `peer`'s room and drains it.
    fn input(&mut self, p: PeerIndex, input: Input<SharedBytes>) {
        if self.peers[p].crashed {
            return;
        }
        if let Input::RelayMessage { .. } = input {
            self.peers[p].stats.relay_messages_received += 1;
        }
        self.peers[p].room.handle_input(self.now, input);
        self.drain(p);
    }

    /// Carries out everything `peer`'s room has to do, then arms its timer.
    fn drain(&mut self, p: PeerIndex) {
        while let Some(output) = self.peers[p].room.poll_output() {
            self.perform(p, output);
        }
        // A deadline already past fires at once.
        let next = self.peers[p].room.poll_timeout().map(|at| at.max(self.now));
        if let Some(at) = next.filter(|_| next != self.peers[p].timer) {
            self.peers[p].timer = next;
            self.schedule(at - self.now, Action::Timer(p));
        }
    }

    fn perform(&mut self, p: PeerIndex, output: Output<SharedBytes>) {
        let latency = self.latency;
        match output {
            Output::OpenRelay { relay, .. } => {
                let server = self.peers[p].servers[relay.0];
                let client = ClientId(self.next_client);
                self.next_client += 1;
                self.peers[p].clients.insert(relay.0, client);
                self.peers[p].stats.relay_connections_opened += 1;
                if self.servers[server].up {
                    self.servers[server].clients.insert(client, (p, relay));
                    self.schedule(latency, Action::ServerConnect(server, client));
                    self.schedule(latency * 2, Action::Input(p, Input::RelayOpened { relay }));
                } else {
                    let reason = Some("connection refused".to_owned());
                    self.schedule(latency, Action::Input(p, Input::RelayClosed { relay, reason }));
                }
            }
            Output::CloseRelay { relay } => {
                if let Some(client) = self.peers[p].clients.remove(&relay.0) {
                    let server = self.peers[p].servers[relay.0];
                    self.schedule(latency, Action::ServerDisconnect(server, client));
                }
            }
            Output::SendRelay { relay, data } => {
                self.peers[p].stats.relay_messages_sent += 1;
                if let Some(&client) = self.peers[p].clients.get(&relay.0) {
                    let server = self.peers[p].servers[relay.0];
                    self.schedule(latency, Action::ServerReceive(server, client, data));
                }
            }
            Output::CreateConnection { conn, trickle } => {
                self.peers[p].stats.connections_created += 1;
                self.peers[p].pcs.insert(conn, Pc::default());
                if trickle {
                    let candidate = format!("candidate of {} on {}", self.peers[p].id, conn.0);
                    let input = Input::LocalCandidate { conn, candidate };
                    self.schedule(Duration::from_millis(1), Action::Input(p, input));
                }
            }
            Output::AddCandidate { conn, candidate } => self.peers[p].log.candidates_added.push((conn, candidate)),
            Output::Negotiate { conn, step } => {
                let Some(pc) = self.peers[p].pcs.get_mut(&conn) else { return };
                if std::mem::replace(&mut pc.busy, true) {
                    self.violations.push(format!("peer {p}: negotiation step {step:?} overlapped another on {conn:?}"));
                }
                let delay = if matches!(step, NegotiationStep::ApplyAnswer(_)) {
                    Duration::from_millis(1)
                } else {
                    self.peers[p].gathering
                };
                self.schedule(delay, Action::StepDone(p, conn, step));
            }
            Output::SendFrame { conn, frame } => {
                self.peers[p].stats.frames_sent += 1;
                let has_body = frame.body.is_some();
                let mut bytes = frame.header;
                if let Some(body) = frame.body {
                    bytes.extend_from_slice(&body.to_vec());
                }
                if let Some(corrupt) = self.frame_corrupter.as_mut() {
                    corrupt(p, &mut bytes);
                }
                let (now, bandwidth) = (self.now, self.bandwidth);
                let Some(pc) = self.peers[p].pcs.get_mut(&conn) else { return };
                // With a bandwidth limit the frame leaves once those before it have.
                let departs = match bandwidth {
                    Some(rate) => {
                        let transmit = Duration::from_secs_f64(bytes.len() as f64 / rate as f64);
                        pc.link_free_at = pc.link_free_at.max(now) + transmit;
                        pc.link_free_at
                    }
                    None => now,
                };
                let (remote, cut) = (pc.remote.filter(|_| pc.open), pc.path.down);
                // The remote end may not have seen its channel open yet: it will before the frame.
                let remote = remote.filter(|&(rp, rc)| self.peers[rp].pcs.get(&rc).is_some_and(|r| !r.muted));
                if cut {
                    if let Some(pc) = self.peers[p].pcs.get_mut(&conn) {
                        pc.path.held.push(SharedBytes::from(bytes));
                    }
                } else if let Some((rp, rc)) = remote {
                    if self.frame_filter.as_ref().is_none_or(|deliver| deliver(p, &bytes)) {
                        let frame = SharedBytes::from(bytes);
                        self.schedule(departs - now + latency, Action::Input(rp, Input::Frame { conn: rc, frame }));
                    }
                }
                if has_body {
                    let amount = self.buffered(p, conn);
                    self.peers[p].room.handle_input(self.now, Input::Buffered { conn, amount });
                    self.watch_buffer(p, conn);
                }
            }
            Output::CloseConnection { conn } => {
                if let Some(pc) = self.peers[p].pcs.remove(&conn) {
                    if let (true, false, Some((rp, rc))) = (pc.open, pc.path.down, pc.remote) {
                        self.schedule(latency, Action::Input(rp, Input::ConnectionClosed { conn: rc }));
                    }
                }
            }
            Output::ReadStream { stream, offset, max } => self.read_asked(p, stream, offset, max),
            Output::Event(event) => self.record(p, event),
        }
    }

    fn record(&mut self, p: PeerIndex, event: Event<SharedBytes>) {
        let log = &mut self.peers[p].log;
        match event {
            Event::PeerJoined { peer } => {
                log.joined.push(peer);
                self.open_total += 1;
            }
            Event::PeerLeft { peer } => {
                log.left.push(peer);
                self.open_total -= 1;
            }
            Event::JoinError { peer, error } => log.join_errors.push((peer, error)),
            Event::Received { peer, action, kind, metadata, parts, .. } => {
                let bytes = parts.iter().flat_map(|p| p.to_vec()).collect();
                log.received.push(Received { from: peer, action, kind, metadata, bytes });
            }
            Event::ReceiveProgress { .. } => log.receive_progress += 1,
            Event::SendProgress { .. } => log.send_progress += 1,
            Event::SendDone { send, result } => {
                log.sends.insert(send, result);
            }
            Event::PingDone { ping, result } => {
                log.pings.insert(ping, result);
            }
            Event::Warning(warning) => log.warnings.push(warning),
            Event::HandshakeStarted { peer, conn, initiator } => {
                log.handshake_conns.insert(peer.clone(), conn);
                log.handshakes.push((peer, initiator));
            }
            Event::HandshakeData { peer, delivery, .. } => log.handshake_data.push((peer, bytes_of(&delivery))),
            Event::HandshakeEnded { peer, .. } => log.handshakes_ended.push(peer),
            Event::RequestProgress { .. } => log.send_progress += 1,
            Event::RequestReceived { request, peer, action, delivery } => {
                log.requests_received.push((request, peer, action, bytes_of(&delivery)));
            }
            Event::RequestWithdrawn { request } => log.requests_withdrawn.push(request),
            Event::RequestDone { request, result } => {
                log.requests.insert(request, result.map(|delivery| bytes_of(&delivery)));
            }
            event @ Event::StreamStarted { .. } => {
                let ticket = event.stream_ticket();
                let Event::StreamStarted { stream, peer, action, metadata, size, .. } = event else { return };
                let incoming = IncomingLog { peer, action, metadata, size, ticket, ..IncomingLog::default() };
                log.streams.insert(stream, incoming);
            }
            Event::StreamData { stream, data } => self.stream_data(p, stream, &data),
            Event::StreamEnded { stream, result } => {
                if let Some(incoming) = log.streams.get_mut(&stream) {
                    incoming.result = Some(result);
                }
            }
            Event::StreamSent { stream, result } => {
                log.streams_sent.insert(stream, result);
                self.stream_sent(p, stream);
            }
        }
    }

    fn server_receive(&mut self, s: usize, client: ClientId, data: RelayData) {
        if !self.servers[s].up || !self.servers[s].clients.contains_key(&client) {
            return;
        }
        let mut actions = Vec::new();
        self.servers[s].relay.receive(client, data, &mut actions);
        for action in actions {
            match action {
                ServerAction::Send(to, data) => {
                    let Some(&(peer, relay)) = self.servers[s].clients.get(&to) else { continue };
                    if let Some(log) = &mut self.relay_log {
                        log.push((s, peer, data.clone()));
                    }
                    self.schedule(self.latency, Action::Input(peer, Input::RelayMessage { relay, data }));
                }
                ServerAction::Close(to) => self.server_closes(s, to),
            }
        }
    }

    /// Server `s` closes its connection to `client`.
    fn server_closes(&mut self, s: usize, client: ClientId) {
        let Some((peer, relay)) = self.servers[s].clients.remove(&client) else { return };
        self.servers[s].relay.disconnect(client);
        if self.peers[peer].clients.get(&relay.0) == Some(&client) {
            self.schedule(self.latency, Action::Input(peer, Input::RelayClosed { relay, reason: None }));
        }
    }

    /// Bytes `peer`'s channel `conn` holds that have not left yet.
    fn buffered(&self, p: PeerIndex, conn: ConnId) -> u64 {
        match (self.bandwidth, self.peers[p].pcs.get(&conn)) {
            (Some(rate), Some(pc)) => ((pc.link_free_at - self.now).as_secs_f64() * rate as f64) as u64,
            _ => 0,
        }
    }

    /// Schedules the channel's `bufferedamountlow` for when its buffer falls to the low-water mark.
    fn watch_buffer(&mut self, p: PeerIndex, conn: ConnId) {
        let (Some(rate), amount) = (self.bandwidth, self.buffered(p, conn)) else { return };
        let Some(pc) = self.peers[p].pcs.get_mut(&conn).filter(|pc| !pc.low_pending && amount > LOW_WATER) else {
            return;
        };
        pc.low_pending = true;
        // At least the clock's resolution, or a buffer a byte over the mark would fire forever.
        let until_low =
            Duration::from_secs_f64((amount - LOW_WATER) as f64 / rate as f64).max(Duration::from_micros(1));
        self.schedule(until_low, Action::BufferLow(p, conn));
    }

    /// What the sim writes as SDP: enough to link the two ends and count media.
    fn sdp(p: PeerIndex, conn: ConnId, media: u32) -> String {
        format!("sim peer={p} conn={} media={media}", conn.0)
    }

    fn parse_sdp(sdp: &str) -> Option<(PeerIndex, ConnId, u32)> {
        let mut fields = sdp.strip_prefix("sim ")?.split(' ').map(|f| f.split_once('=').map(|(_, v)| v));
        let mut next = || fields.next().flatten()?.parse::<u64>().ok();
        Some((next()? as PeerIndex, ConnId(next()?), next()? as u32))
    }

    fn step_done(&mut self, p: PeerIndex, conn: ConnId, step: NegotiationStep) {
        let Some(pc) = self.peers[p].pcs.get_mut(&conn) else { return };
        pc.busy = false;
        let mut open_pair = None;
        let mut arrived = None;
        let outcome = match &step {
            NegotiationStep::MakeOffer if pc.signaling != Signaling::Stable => {
                Err("InvalidStateError: cannot make an offer with one pending".to_owned())
            }
            NegotiationStep::MakeOffer | NegotiationStep::RestartIce => {
                pc.signaling = Signaling::HaveLocalOffer;
                pc.offered_media = pc.local_media;
                pc.need_fired = false;
                let sdp = Self::sdp(p, conn, pc.local_media);
                if matches!(step, NegotiationStep::RestartIce) {
                    pc.path.restarts += 1;
                    Ok(Some(paths::with_restart(&sdp, pc.path.restarts)))
                } else {
                    Ok(Some(sdp))
                }
            }
            NegotiationStep::ApplyOffer(sdp) | NegotiationStep::AnswerRestart(sdp) => match Self::parse_sdp(sdp) {
                None => Err(format!("OperationError: unreadable offer {sdp:?}")),
                Some((rp, rc, media)) => {
                    // A pending offer of ours is rolled back; the answer carries what was agreed.
                    pc.signaling = Signaling::Stable;
                    pc.need_fired = false;
                    pc.remote = Some((rp, rc));
                    arrived = Some((rp, pc.remote_media, media));
                    pc.remote_media = pc.remote_media.max(media);
                    let answer = Self::sdp(p, conn, pc.negotiated_media);
                    // An answer to an ICE restart carries the offer's new credentials.
                    Ok(Some(paths::restart_of(sdp).map_or(answer.clone(), |n| paths::with_restart(&answer, n))))
                }
            },
            NegotiationStep::Rollback if pc.signaling != Signaling::HaveLocalOffer => {
                Err("InvalidStateError: Failed to roll back: Called in wrong state: stable".to_owned())
            }
            NegotiationStep::Rollback => {
                pc.signaling = Signaling::Stable;
                Ok(None)
            }
            NegotiationStep::ApplyAnswer(_) if pc.signaling != Signaling::HaveLocalOffer => {
                Err("InvalidStateError: Failed to set remote answer sdp: Called in wrong state: stable".to_owned())
            }
            NegotiationStep::ApplyAnswer(sdp) => match Self::parse_sdp(sdp) {
                None => Err(format!("OperationError: unreadable answer {sdp:?}")),
                Some((rp, rc, media)) => {
                    pc.signaling = Signaling::Stable;
                    pc.negotiated_media = pc.offered_media;
                    if pc.remote.is_none() {
                        open_pair = Some((rp, rc));
                    }
                    pc.remote = Some((rp, rc));
                    arrived = Some((rp, pc.remote_media, media));
                    pc.remote_media = pc.remote_media.max(media);
                    Ok(None)
                }
            },
        };
        if let Err(e) = &outcome {
            self.violations.push(format!("peer {p}: {step:?} on {conn:?} failed: {e}"));
        }
        let stable = pc.signaling == Signaling::Stable;
        let answered = match &step {
            NegotiationStep::ApplyAnswer(sdp) if outcome.is_ok() => paths::restart_of(sdp),
            _ => None,
        };
        self.input(p, Input::Negotiated { conn, outcome, stable });
        if let Some(restart) = answered {
            self.restart_answered(p, conn, restart);
        }
        if let Some((rp, from, to)) = arrived {
            self.tracks_arrived(p, conn, rp, from..to);
        }
        if let Some((rp, rc)) = open_pair {
            if !self.peers[p].unreachable && !self.peers[rp].unreachable {
                self.schedule(ICE_CONNECT, Action::Open(p, conn));
                self.schedule(ICE_CONNECT, Action::Open(rp, rc));
            }
        }
        self.maybe_need_negotiation(p, conn);
    }

    fn tracks_arrived(&mut self, p: PeerIndex, conn: ConnId, from: PeerIndex, media: std::ops::Range<u32>) {
        for index in media {
            let stream = format!("{}-s{index}", self.peers[from].id);
            if let Some(track) = self.peers[p].room.track_arrived(conn, &stream, true) {
                self.peers[p].log.tracks.push((stream, track));
            }
        }
    }

    /// Fires `negotiationneeded` as a browser does: when local media is not agreed and the
    /// connection is stable.
    fn maybe_need_negotiation(&mut self, p: PeerIndex, conn: ConnId) {
        let Some(pc) = self.peers[p].pcs.get_mut(&conn) else { return };
        if pc.open
            && !pc.busy
            && pc.signaling == Signaling::Stable
            && pc.local_media > pc.negotiated_media
            && !pc.need_fired
        {
            pc.need_fired = true;
            self.schedule(Duration::ZERO, Action::Input(p, Input::NegotiationNeeded { conn }));
        }
    }

    /// Runs an app call on `peer`'s room, then drains it.
    fn app<T>(&mut self, p: PeerIndex, call: impl FnOnce(&mut Room<SharedBytes>, Instant) -> T) -> T {
        let result = call(&mut self.peers[p].room, self.now);
        self.drain(p);
        result
    }

    /// `peer` sends `bytes` as a binary payload of `action` to `targets` (`None`: everyone).
    pub fn send(
        &mut self,
        p: PeerIndex,
        action: &str,
        bytes: &[u8],
        targets: Option<Vec<String>>,
    ) -> Result<SendId, RoomError> {
        let request = binary(action, bytes, targets, true);
        self.app(p, |room, now| room.send(now, request))
    }

    /// `peer` asks `target` with `bytes` on `action`.
    pub fn request(
        &mut self,
        p: PeerIndex,
        action: &str,
        bytes: &[u8],
        target: &str,
        timeout: Option<Duration>,
    ) -> Result<RequestId, RoomError> {
        let request = binary(action, bytes, Some(vec![target.to_owned()]), false);
        self.app(p, |room, now| room.request(now, request, timeout))
    }

    /// `peer` answers request `id` with `reply` (bytes, or a refusal message).
    pub fn reply(&mut self, p: PeerIndex, id: IncomingId, reply: Result<&[u8], &str>) {
        let reply = reply.map(|bytes| (PayloadKind::Binary, SharedBytes::from(bytes))).map_err(str::to_owned);
        self.app(p, |room, now| room.reply(now, id, reply));
    }

    /// `peer` starts or stops serving requests to `action`.
    pub fn serve(&mut self, p: PeerIndex, action: &str, serving: bool) {
        self.app(p, |room, now| room.serve(now, action, serving));
    }

    pub fn abort_request(&mut self, p: PeerIndex, id: RequestId) {
        self.app(p, |room, now| room.abort_request(now, id));
    }

    pub fn abort_send(&mut self, p: PeerIndex, id: SendId) {
        self.app(p, |room, now| room.abort(now, id));
    }

    /// `peer` sends handshake `bytes` to `target`, which it is admitting.
    pub fn handshake_send(&mut self, p: PeerIndex, target: &str, bytes: &[u8]) -> Result<SendId, RoomError> {
        let data = binary("", bytes, None, false);
        let conn = self.peers[p].log.handshake_conns.get(target).copied().unwrap_or(ConnId(u64::MAX));
        self.app(p, |room, now| room.handshake_send(now, conn, data))
    }

    /// `peer`'s latest handshake with `target` passed or failed.
    pub fn handshake_done(&mut self, p: PeerIndex, target: &str, result: Result<(), &str>) {
        let conn = self.peers[p].log.handshake_conns.get(target).copied().unwrap_or(ConnId(u64::MAX));
        self.handshake_done_on(p, conn, result);
    }

    /// `peer`'s handshake over `conn` passed or failed.
    pub fn handshake_done_on(&mut self, p: PeerIndex, conn: ConnId, result: Result<(), &str>) {
        self.app(p, |room, now| room.handshake_done(now, conn, result.map_err(str::to_owned)));
    }

    pub fn ping(&mut self, p: PeerIndex, peer: &str) -> Result<PingId, RoomError> {
        self.app(p, |room, now| room.ping(now, peer))
    }

    pub fn leave(&mut self, p: PeerIndex) {
        self.app(p, |room, now| room.leave(now));
    }

    pub fn set_reconnection_paused(&mut self, p: PeerIndex, paused: bool) {
        self.app(p, |room, now| room.set_reconnection_paused(now, paused));
    }

    /// `p`'s page resumed after it may have slept ([`Room::wake`]).
    pub fn wake(&mut self, p: PeerIndex) {
        self.app(p, |room, now| room.wake(now));
    }

    /// `peer` adds a media stream for `target` (announcing `metadata`), as `addStream` does.
    pub fn add_stream(&mut self, p: PeerIndex, target: &str, metadata: Option<&str>) -> Result<(), RoomError> {
        let (_, conn) = self.peers[p].room.targets(Some(&[target.to_owned()]))?.remove(0);
        let index = self.peers[p].pcs.get(&conn).map_or(0, |pc| pc.local_media);
        let stream = format!("{}-s{index}", self.peers[p].id);
        self.app(p, |room, now| room.announce_stream(now, Some(&[target.to_owned()]), &stream, metadata))?;
        if let Some(pc) = self.peers[p].pcs.get_mut(&conn) {
            pc.local_media += 1;
        }
        self.maybe_need_negotiation(p, conn);
        Ok(())
    }

    /// `peer`'s tab crashes: it stops answering anything, and its relay connections drop.
    pub fn crash(&mut self, p: PeerIndex) {
        self.peers[p].crashed = true;
        let clients: Vec<(usize, ClientId)> =
            self.peers[p].clients.iter().map(|(&relay, &client)| (self.peers[p].servers[relay], client)).collect();
        for (server, client) in clients {
            self.schedule(self.latency, Action::ServerDisconnect(server, client));
        }
    }

    /// Server `s` goes down: every connection drops and new ones are refused.
    pub fn stop_server(&mut self, s: usize) {
        self.servers[s].up = false;
        let clients: Vec<ClientId> = self.servers[s].clients.keys().copied().collect();
        for client in clients {
            self.server_closes(s, client);
        }
    }

    /// Server `s` comes back.
    pub fn start_server(&mut self, s: usize) {
        self.servers[s].up = true;
    }

    /// Server `s` sends `data` to `peer` (as a hostile or replaying relay would).
    pub fn relay_sends(&mut self, s: usize, p: PeerIndex, data: RelayData) {
        let found = self.servers[s].clients.values().find(|(peer, _)| *peer == p).copied();
        if let Some((peer, relay)) = found {
            self.schedule(self.latency, Action::Input(peer, Input::RelayMessage { relay, data }));
        }
    }

    /// `peer` sends raw `bytes` over its data channel to `target` (as a hostile peer would).
    pub fn send_raw_frame(&mut self, p: PeerIndex, target: &str, bytes: Vec<u8>) {
        let Some(rp) = self.peers.iter().position(|peer| peer.id == target) else { return };
        let mut open = self.peers[p].pcs.0.iter().flatten().filter(|pc| pc.open).filter_map(|pc| pc.remote);
        if let Some((rp, rc)) = open.rfind(|&(remote, _)| remote == rp) {
            let frame = SharedBytes::from(bytes);
            self.schedule(self.latency, Action::Input(rp, Input::Frame { conn: rc, frame }));
        }
    }

    /// Binds the rooms of `p` and `q` over a connection their pages already share, as their hubs
    /// do (`crate::hub`): `p` leads and binds first, `q` obeys its bind frame, and a side that
    /// cannot bind leaves the other's connection closed. Returns each side's connection, if made.
    pub fn bind_over_link(&mut self, p: PeerIndex, q: PeerIndex) -> (Option<ConnId>, Option<ConnId>) {
        let (p_id, q_id, now) = (self.peers[p].id.clone(), self.peers[q].id.clone(), self.now);
        let p_conn = self.peers[p].room.bind_link(now, &q_id, false, None);
        let q_conn = p_conn.and_then(|_| self.peers[q].room.bind_link(now, &p_id, true, None));
        match (p_conn, q_conn) {
            (Some(pc), Some(qc)) => {
                self.peers[p].pcs.insert(pc, Pc { open: true, remote: Some((q, qc)), ..Pc::default() });
                self.peers[q].pcs.insert(qc, Pc { open: true, remote: Some((p, pc)), ..Pc::default() });
            }
            (Some(conn), None) => self.peers[p].room.handle_input(now, Input::ConnectionClosed { conn }),
            _ => {}
        }
        self.drain(p);
        self.drain(q);
        (p_conn, q_conn)
    }

    /// `peer` stops handling its data channel to `target` (its side of that connection hangs).
    pub fn mute_connection(&mut self, p: PeerIndex, target: &str) {
        let Ok(mut targets) = self.peers[p].room.targets(Some(&[target.to_owned()])) else { return };
        let (_, conn) = targets.remove(0);
        if let Some(pc) = self.peers[p].pcs.get_mut(&conn) {
            pc.open = false;
            pc.muted = true;
        }
    }
}

/// `bytes` as a binary payload of `action` to `targets`, without metadata.
fn binary(action: &str, bytes: &[u8], targets: Option<Vec<String>>, progress: bool) -> SendRequest<SharedBytes> {
    let payload = SharedBytes::from(bytes);
    SendRequest { action: action.to_owned(), kind: PayloadKind::Binary, payload, metadata: None, targets, progress }
}

fn bytes_of(delivery: &Delivery<SharedBytes>) -> Vec<u8> {
    delivery.parts.iter().flat_map(|p| p.to_vec()).collect()
}
