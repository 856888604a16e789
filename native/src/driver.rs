//! The native driver of one room, on a thread of its own: carries the core's outputs out with
//! tokio (relay WebSockets, UDP sockets, timers) and str0m (peer connections), feeds what
//! happens back in, and after each drain arms one timer for the earliest deadline of the core and
//! of its connections. As in the browser driver, every input is followed by a complete drain.

use crate::file_streams::{FileRead, FileStreams};
use crate::peer_connection::{PeerConnection, PeerNote, Transmit};
use crate::relay_socket::{RelayReport, RelayReportKind, RelaySocket};
use crate::room::{Command, JoinConfig, JoinError, RoomEvent, SendFailure, StrategyKind};
use crate::udp::{Datagram, Sockets};
use rendez_core::crypto::RoomKey;
use rendez_core::frame::PayloadKind;
use rendez_core::hub::{RoomTag, TAG_LEN};
use rendez_core::payload::SharedBytes;
use rendez_core::random::{Random, PEER_ID_LEN};
use rendez_core::reassembly::Limits;
use rendez_core::room::{
    Admission, ConnId, Event, Input, Output, Room, RoomConfig, SendId, SendRequest, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_HANDSHAKE_TIMEOUT, MAX_RELAY_MESSAGE_LEN,
};
use rendez_core::strategy::{RelayData, RelayId, Strategy};
use rendez_core::time::{Instant, WallClock};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// The hub frame that lists the rooms we are in on a connection (see `rendez_core::hub`).
const HUB_ROOMS: u8 = 1;

/// Starts the room on a new thread; returns our peer id once its sockets are bound.
pub(crate) fn spawn(
    config: JoinConfig,
    room_id: String,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<RoomEvent>,
) -> Result<String, JoinError> {
    let mut random = Random::os();
    let self_id = random.id(PEER_ID_LEN);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(JoinError::Io)?;
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let id = self_id.clone();
    std::thread::Builder::new()
        .name(format!("rendez room {room_id}"))
        .spawn(move || {
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, async move {
                let (arrived, datagrams) = mpsc::unbounded_channel();
                let sockets = match Sockets::bind(arrived).await {
                    Ok(sockets) if sockets.addresses().is_empty() => Err(JoinError::NoAddress),
                    Ok(sockets) => Ok(sockets),
                    Err(e) => Err(JoinError::Io(e)),
                };
                let sockets = match sockets {
                    Ok(sockets) => sockets,
                    Err(e) => {
                        ready_tx.send(Err(e)).ok();
                        return;
                    }
                };
                ready_tx.send(Ok(())).ok();
                let driver = Driver::new(config, room_id, id, random, sockets, events);
                driver.run(commands, datagrams).await;
            });
        })
        .map_err(JoinError::Io)?;
    match ready.recv() {
        Ok(Ok(())) => Ok(self_id),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(JoinError::Io(std::io::Error::other("the room's thread stopped"))),
    }
}

/// What woke the room's thread.
enum Wake {
    Command(Option<Command>),
    Relay(RelayReport),
    FileRead(FileRead),
    Datagram(Datagram),
    Timeout,
}

/// How long leaving waits for the relays to take our goodbyes (a tracker's `stopped`, MQTT's
/// DISCONNECT) and close.
const RELAY_GOODBYE_WAIT: Duration = Duration::from_secs(2);

struct Driver {
    core: Room<SharedBytes>,
    tag: RoomTag,
    /// The core's time origin.
    origin: std::time::Instant,
    sockets: Sockets,
    relays: Vec<Option<RelaySocket>>,
    next_generation: u64,
    relay_reports: mpsc::UnboundedSender<RelayReport>,
    relay_report_rx: mpsc::UnboundedReceiver<RelayReport>,
    /// The relay connections' tasks, awaited (briefly) when leaving.
    relay_tasks: Vec<tokio::task::JoinHandle<()>>,
    conns: BTreeMap<ConnId, PeerConnection>,
    events: mpsc::UnboundedSender<RoomEvent>,
    sends: HashMap<SendId, oneshot::Sender<Result<usize, SendFailure>>>,
    files: FileStreams,
    file_reads: mpsc::UnboundedReceiver<FileRead>,
}

impl Driver {
    fn new(
        config: JoinConfig,
        room_id: String,
        self_id: String,
        mut random: Random,
        sockets: Sockets,
        events: mpsc::UnboundedSender<RoomEvent>,
    ) -> Self {
        let origin = std::time::Instant::now();
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        let key = RoomKey::derive(config.password.as_deref(), &config.app_id, &room_id);
        let tag = RoomTag(key.tag());
        let room_config = RoomConfig {
            app_id: config.app_id,
            room_id,
            self_id,
            relay_urls: config.relay_urls,
            limits: Limits::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            admission: Admission::Immediate,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            passive: false,
            relay_warnings: true,
            trickle_ice: false,
            clock: WallClock { origin_unix_ms: unix_ms },
        };
        let strategy_config = Room::<SharedBytes>::strategy_config(&room_config);
        let strategy: Box<dyn Strategy> = match config.strategy {
            StrategyKind::Torrent => Box::new(rendez_torrent::session::TrackerSession::new(&strategy_config)),
            StrategyKind::Mqtt => Box::new(rendez_mqtt::strategy(&strategy_config)),
            StrategyKind::Nostr => Box::new(rendez_nostr::strategy(&strategy_config, &mut random)),
        };
        let relays = room_config.relay_urls.iter().map(|_| None).collect();
        let core = Room::new(room_config, key, strategy, random, Instant::ZERO);
        let (relay_reports, relay_report_rx) = mpsc::unbounded_channel();
        let (read_tx, file_reads) = mpsc::unbounded_channel();
        Self {
            core,
            tag,
            origin,
            sockets,
            relays,
            next_generation: 0,
            relay_reports,
            relay_report_rx,
            relay_tasks: Vec::new(),
            conns: BTreeMap::new(),
            events,
            sends: HashMap::new(),
            files: FileStreams::new(read_tx),
            file_reads,
        }
    }

    /// The core's time now.
    fn now(&self) -> Instant {
        Instant::from_micros(self.origin.elapsed().as_micros() as u64)
    }

    /// Passes the wall clock anew: the monotonic clock may stop while the machine sleeps, the
    /// wall clock does not, and peers compare signaling time stamps by the wall clock.
    fn refresh_wall_clock(&mut self) {
        let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
        let origin_unix_ms = unix_ms.saturating_sub(self.origin.elapsed().as_millis() as u64);
        self.core.set_wall_clock(WallClock { origin_unix_ms });
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut datagrams: mpsc::UnboundedReceiver<Datagram>,
    ) {
        loop {
            self.drain();
            let deadline = self.deadline();
            let event = tokio::select! {
                command = commands.recv() => Wake::Command(command),
                Some(report) = self.relay_report_rx.recv() => Wake::Relay(report),
                Some(read) = self.file_reads.recv() => Wake::FileRead(read),
                Some(datagram) = datagrams.recv() => Wake::Datagram(datagram),
                () = tokio::time::sleep_until(deadline) => Wake::Timeout,
            };
            self.refresh_wall_clock();
            match event {
                Wake::Command(Some(Command::Send { action, kind, data, targets, done })) => {
                    self.send(action, kind, data, targets, done)
                }
                Wake::Command(Some(Command::SendFile { peer, action, path, metadata, progress, done })) => {
                    let now = self.now();
                    self.files.send(&mut self.core, now, (peer, action, path, metadata), progress, done);
                }
                Wake::Command(Some(Command::ReceiveFile { stream, path, resumable, progress, done })) => {
                    let now = self.now();
                    self.files.receive(&mut self.core, now, stream, path, resumable, progress, done);
                }
                Wake::Command(Some(Command::ResumeFile { path, progress, done })) => {
                    let now = self.now();
                    if let Some(job) = self.files.resume(&mut self.core, now, path, progress, done) {
                        // The claim goes out first: the sender then waits for the rehash.
                        self.drain();
                        let now = self.now();
                        self.files.rehash(&mut self.core, now, job);
                    }
                }
                Wake::Command(Some(Command::CancelStream { stream })) => {
                    let now = self.now();
                    self.files.cancel(&mut self.core, now, stream);
                }
                Wake::FileRead(FileRead { stream, read }) => {
                    let now = self.now();
                    self.files.read_done(stream, &read);
                    self.core.stream_read(now, stream, read.map(|bytes| bytes.map(SharedBytes::from)));
                }
                Wake::Command(Some(Command::Leave { done })) => {
                    self.leave().await;
                    done.send(()).ok();
                    return;
                }
                Wake::Command(None) => {
                    self.leave().await;
                    return;
                }
                Wake::Relay(report) => self.on_relay(report),
                Wake::Datagram(datagram) => self.on_datagram(datagram),
                Wake::Timeout => self.on_timeout(),
            }
        }
    }

    /// The earliest of the core's and the connections' deadlines (far off if none).
    fn deadline(&self) -> tokio::time::Instant {
        let core = self.core.poll_timeout().map(|at| self.origin + Duration::from_micros(at.as_micros()));
        let conns = self.conns.values().filter_map(|c| c.deadline);
        let earliest = core.into_iter().chain(conns).min();
        let far = std::time::Instant::now() + Duration::from_secs(3600);
        tokio::time::Instant::from_std(earliest.unwrap_or(far))
    }

    fn on_timeout(&mut self) {
        let now = self.now();
        self.core.handle_timeout(now);
        let at = std::time::Instant::now();
        for conn in self.conns.values_mut() {
            conn.tick(at);
        }
    }

    fn on_relay(&mut self, report: RelayReport) {
        let RelayReport { relay, generation, kind } = report;
        if self.relays.get(relay.0).and_then(Option::as_ref).is_none_or(|s| s.generation != generation) {
            return;
        }
        let input = match kind {
            RelayReportKind::Opened => Input::RelayOpened { relay },
            RelayReportKind::Message(data) => match relay_message_len(&data) {
                len if len > MAX_RELAY_MESSAGE_LEN => Input::RelayMessageTooLarge { relay, len },
                _ => Input::RelayMessage { relay, data },
            },
            RelayReportKind::Closed(reason) => {
                self.relays[relay.0] = None;
                Input::RelayClosed { relay, reason }
            }
        };
        let now = self.now();
        self.core.handle_input(now, input);
    }

    fn on_datagram(&mut self, datagram: Datagram) {
        let Datagram { data, source, destination } = datagram;
        let now = std::time::Instant::now();
        if let Some(conn) = self.conns.values_mut().find(|c| c.accepts(source, destination, &data)) {
            conn.receive(now, source, destination, &data);
        }
    }

    fn send(
        &mut self,
        action: String,
        kind: PayloadKind,
        data: Vec<u8>,
        targets: Option<Vec<String>>,
        done: oneshot::Sender<Result<usize, SendFailure>>,
    ) {
        let request =
            SendRequest { action, kind, payload: SharedBytes::from(data), metadata: None, targets, progress: false };
        let now = self.now();
        match self.core.send(now, request) {
            Ok(id) => {
                self.sends.insert(id, done);
            }
            Err(e) => {
                done.send(Err(SendFailure::Refused(e))).ok();
            }
        }
    }

    /// Leaves: the core closes every connection (str0m sends the closes at once) and relay; then
    /// the relay tasks get a moment to send what the strategy said last and close.
    async fn leave(&mut self) {
        let now = self.now();
        self.core.leave(now);
        self.drain();
        for conn in self.conns.values_mut() {
            conn.close();
        }
        self.flush_connections();
        self.relays.clear();
        let until = tokio::time::Instant::now() + RELAY_GOODBYE_WAIT;
        for task in self.relay_tasks.drain(..) {
            tokio::time::timeout_at(until, task).await.ok();
        }
    }

    /// Carries out every output of the core and of the connections until neither has more.
    fn drain(&mut self) {
        loop {
            while let Some(output) = self.core.poll_output() {
                self.perform(output);
            }
            if !self.flush_connections() {
                return;
            }
        }
    }

    /// Sends what the connections want sent and feeds the core what they report; whether the
    /// core heard anything.
    fn flush_connections(&mut self) -> bool {
        let mut transmits: Vec<Transmit> = Vec::new();
        let mut inputs = Vec::new();
        for (&conn, connection) in &mut self.conns {
            let mut notes = Vec::new();
            connection.poll(&mut transmits, &mut notes);
            for note in notes {
                inputs.push(match note {
                    PeerNote::Opened => {
                        let mut rooms = vec![0; TAG_LEN];
                        rooms.push(HUB_ROOMS);
                        rooms.extend_from_slice(&self.tag.0);
                        connection.send(&rooms);
                        let max_message_size = match connection.max_message_size() {
                            0 => 0.0,
                            max => max.saturating_sub(TAG_LEN as u64) as f64,
                        };
                        Input::ConnectionOpened { conn, max_message_size: Some(max_message_size) }
                    }
                    PeerNote::Message(message) => match message.get(..TAG_LEN) {
                        Some(tag) if tag == self.tag.0 => {
                            Input::Frame { conn, frame: SharedBytes::from(message[TAG_LEN..].to_vec()) }
                        }
                        _ => continue,
                    },
                    PeerNote::Connectivity(state) => Input::Connectivity { conn, state },
                    PeerNote::BufferedLow(amount) => Input::Buffered { conn, amount },
                    PeerNote::Closed => Input::ConnectionClosed { conn },
                });
            }
        }
        for t in &transmits {
            self.sockets.send(t.source, t.destination, &t.data);
        }
        let heard = !inputs.is_empty();
        let now = self.now();
        for input in inputs {
            self.core.handle_input(now, input);
        }
        heard || !transmits.is_empty()
    }

    fn perform(&mut self, output: Output<SharedBytes>) {
        let now = self.now();
        match output {
            Output::OpenRelay { relay, url, protocols } => self.open_relay(relay, url, protocols),
            Output::CloseRelay { relay } => self.relays[relay.0] = None,
            Output::SendRelay { relay, data } => {
                if let Some(socket) = &self.relays[relay.0] {
                    socket.send(data);
                }
            }
            Output::CreateConnection { conn, .. } => {
                let addresses: Vec<SocketAddr> = self.sockets.addresses();
                self.conns.insert(conn, PeerConnection::new(&addresses, std::time::Instant::now()));
            }
            Output::Negotiate { conn, step } => {
                let (outcome, stable) = match self.conns.get_mut(&conn) {
                    Some(connection) => connection.negotiate(step),
                    None => (Err("the connection is gone".to_owned()), true),
                };
                self.core.handle_input(now, Input::Negotiated { conn, outcome, stable });
            }
            Output::AddCandidate { conn, candidate } => {
                if let Some(connection) = self.conns.get_mut(&conn) {
                    if !connection.add_candidate(&candidate) {
                        self.emit(RoomEvent::Warning(format!("a peer's ICE candidate was not read: {candidate}")));
                    }
                }
            }
            Output::SendFrame { conn, frame } => {
                let Some(connection) = self.conns.get_mut(&conn) else { return };
                let mut message = Vec::with_capacity(TAG_LEN + frame.len() as usize);
                message.extend_from_slice(&self.tag.0);
                message.extend_from_slice(&frame.header);
                if let Some(body) = &frame.body {
                    message.extend_from_slice(body.as_slice());
                }
                match connection.send(&message) {
                    Some(amount) if frame.body.is_some() => {
                        self.core.handle_input(now, Input::Buffered { conn, amount })
                    }
                    Some(_) => {}
                    None => {
                        let error = format!("cannot send a frame of {} bytes", message.len());
                        self.core.handle_input(now, Input::ConnectionFailed { conn, error });
                    }
                }
            }
            Output::CloseConnection { conn } => {
                if let Some(mut connection) = self.conns.remove(&conn) {
                    connection.close();
                    let mut transmits = Vec::new();
                    connection.poll(&mut transmits, &mut Vec::new());
                    for t in &transmits {
                        self.sockets.send(t.source, t.destination, &t.data);
                    }
                }
            }
            Output::ReadStream { stream, offset, max } => self.files.read(stream, offset, max),
            Output::Event(event) => self.on_event(now, event),
        }
    }

    fn open_relay(&mut self, relay: RelayId, url: String, protocols: &'static [&'static str]) {
        self.next_generation += 1;
        let (socket, task) = RelaySocket::open(url, protocols, relay, self.next_generation, self.relay_reports.clone());
        self.relay_tasks.retain(|task| !task.is_finished());
        self.relay_tasks.push(task);
        self.relays[relay.0] = Some(socket);
    }

    fn on_event(&mut self, now: Instant, event: Event<SharedBytes>) {
        match event {
            Event::PeerJoined { peer } => self.emit(RoomEvent::PeerJoined { peer }),
            Event::PeerLeft { peer } => self.emit(RoomEvent::PeerLeft { peer }),
            Event::JoinError { peer, error } => self.emit(RoomEvent::JoinError { peer, error }),
            Event::Warning(warning) => self.emit(RoomEvent::Warning(warning)),
            Event::Received { peer, action, kind, metadata, parts, total } => {
                let mut data = Vec::with_capacity(total as usize);
                for part in &parts {
                    data.extend_from_slice(part.as_slice());
                }
                self.emit(RoomEvent::Message { peer, action, kind, data, metadata });
            }
            Event::SendDone { send, result } => {
                if let Some(done) = self.sends.remove(&send) {
                    done.send(result.map_err(SendFailure::Failed)).ok();
                }
            }
            event @ (Event::StreamStarted { .. }
            | Event::StreamData { .. }
            | Event::StreamEnded { .. }
            | Event::StreamSent { .. }) => {
                if let Some(event) = self.files.on_event(&mut self.core, now, event) {
                    self.emit(event);
                }
            }
            _ => {}
        }
    }

    fn emit(&self, event: RoomEvent) {
        self.events.send(event).ok();
    }
}

/// A relay message's length as the room limits it: UTF-16 units for text (as in the browser),
/// bytes for binary.
fn relay_message_len(data: &RelayData) -> u64 {
    match data {
        RelayData::Text(text) => text.encode_utf16().count() as u64,
        RelayData::Binary(bytes) => bytes.len() as u64,
    }
}
