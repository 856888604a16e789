//! The handle a program holds: joins a room on a thread of its own, sends it commands, receives
//! its events.

use crate::driver;
use rendez_core::frame::PayloadKind;
use rendez_core::room::{RoomError, SendError, StreamError};
use std::fmt;
use std::path::PathBuf;
use tokio::sync::{mpsc, oneshot, watch};

/// How peers meet: the relay protocol of a room's relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StrategyKind {
    /// WebTorrent trackers (`wss://…`).
    Torrent,
    /// Nostr relays (NIP-01).
    Nostr,
    /// MQTT 3.1.1 brokers over WebSocket.
    Mqtt,
}

impl StrategyKind {
    /// The public relays a room of this strategy meets through when it names none (as the
    /// browser builds use them).
    pub fn default_relay_urls(self) -> Vec<String> {
        let (urls, count) = match self {
            Self::Torrent => (rendez_torrent::DEFAULT_RELAY_URLS, rendez_torrent::DEFAULT_RELAY_REDUNDANCY),
            Self::Nostr => (rendez_nostr::DEFAULT_RELAY_URLS, rendez_nostr::DEFAULT_RELAY_REDUNDANCY),
            Self::Mqtt => (rendez_mqtt::DEFAULT_RELAY_URLS, rendez_mqtt::DEFAULT_RELAY_REDUNDANCY),
        };
        urls.iter().take(count).map(|url| (*url).to_owned()).collect()
    }
}

/// What a room is: its app, strategy, relays and password.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JoinConfig {
    /// The app's id: rooms of other apps never meet ours.
    pub app_id: String,
    pub strategy: StrategyKind,
    /// The relays to meet peers through.
    pub relay_urls: Vec<String>,
    /// Seals signaling with a key from this password instead of from the app and room ids.
    pub password: Option<String>,
}

impl JoinConfig {
    /// A room of `app_id` met through `relay_urls`, sealed without a password.
    pub fn new(app_id: impl Into<String>, strategy: StrategyKind, relay_urls: Vec<String>) -> Self {
        Self { app_id: app_id.into(), strategy, relay_urls, password: None }
    }

    /// The same room, sealed with `password`.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }
}

/// Why a room could not be joined.
#[derive(Debug)]
#[non_exhaustive]
pub enum JoinError {
    /// The room id is empty.
    NoRoomId,
    /// No relay URL was given.
    NoRelays,
    /// No network interface has an address to offer peers.
    NoAddress,
    /// The room's thread or sockets could not be made.
    Io(std::io::Error),
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRoomId => f.write_str("a room id is required"),
            Self::NoRelays => f.write_str("no relay URLs to connect to"),
            Self::NoAddress => f.write_str("no network interface has an address for peers to reach"),
            Self::Io(e) => write!(f, "cannot start the room: {e}"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendFailure {
    /// The room refused the call at once (a target not connected, the room left, …).
    Refused(RoomError),
    /// A target did not take the payload.
    Failed(SendError),
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => e.fmt(f),
            Self::Failed(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SendFailure {}

/// Why a streamed file did not go or arrive whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamFailure {
    /// The room refused the call at once (the peer not connected, the room left, …).
    Refused(RoomError),
    /// The stream failed: the peer cancelled or left, a timeout, or a SHA-256 mismatch
    /// (`integrity`: the received file is then removed).
    Failed(StreamError),
    /// The file could not be read or written (the OS error).
    File(String),
}

impl fmt::Display for StreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => e.fmt(f),
            Self::Failed(e) => e.fmt(f),
            Self::File(e) => write!(f, "file error: {e}"),
        }
    }
}

impl std::error::Error for StreamFailure {}

/// A stream a peer offers us (see [`RoomEvent::StreamOffered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IncomingStream(pub(crate) u64);

/// What happens in a room.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// A peer is in the room.
    PeerJoined { peer: String },
    /// A peer left or vanished.
    PeerLeft { peer: String },
    /// A peer could not join.
    JoinError { peer: String, error: String },
    /// A whole payload arrived on `action`: UTF-8 JSON or text, or bytes, by `kind`.
    Message { peer: String, action: String, kind: PayloadKind, data: Vec<u8>, metadata: Option<String> },
    /// A peer streams us a payload on `action` (`size` bytes when it knows them): take it with
    /// [`Room::receive_file`] or refuse it with [`Room::cancel_stream`]. Until then at most the
    /// stream's window (8 MiB) of it is held, and the sender waits; of more than 8 such streams,
    /// the oldest is refused.
    StreamOffered { stream: IncomingStream, peer: String, action: String, metadata: Option<String>, size: Option<u64> },
    /// Something was dropped or went wrong without stopping the room.
    Warning(String),
}

/// A call to the room's thread.
pub(crate) enum Command {
    Send {
        action: String,
        kind: PayloadKind,
        data: Vec<u8>,
        targets: Option<Vec<String>>,
        done: oneshot::Sender<Result<usize, SendFailure>>,
    },
    SendFile {
        peer: String,
        action: String,
        path: PathBuf,
        metadata: Option<String>,
        progress: Option<watch::Sender<u64>>,
        done: oneshot::Sender<Result<u64, StreamFailure>>,
    },
    ReceiveFile {
        stream: IncomingStream,
        path: PathBuf,
        resumable: bool,
        progress: Option<watch::Sender<u64>>,
        done: oneshot::Sender<Result<u64, StreamFailure>>,
    },
    ResumeFile {
        path: PathBuf,
        progress: Option<watch::Sender<u64>>,
        done: oneshot::Sender<Result<u64, StreamFailure>>,
    },
    CancelStream {
        stream: IncomingStream,
    },
    Leave {
        done: oneshot::Sender<()>,
    },
}

/// A room this program is in. Dropping it leaves the room.
pub struct Room {
    self_id: String,
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<RoomEvent>,
}

impl Room {
    /// Joins `room_id`: connects to the relays and starts meeting peers on a thread of its own.
    pub fn join(config: JoinConfig, room_id: &str) -> Result<Self, JoinError> {
        if room_id.is_empty() {
            return Err(JoinError::NoRoomId);
        }
        if config.relay_urls.is_empty() {
            return Err(JoinError::NoRelays);
        }
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let self_id = driver::spawn(config, room_id.to_owned(), command_rx, event_tx)?;
        Ok(Self { self_id, commands, events })
    }

    /// Our peer id in this room.
    pub fn self_id(&self) -> &str {
        &self.self_id
    }

    /// The next event; `None` once the room is left.
    pub async fn next_event(&mut self) -> Option<RoomEvent> {
        self.events.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_next_event(&mut self) -> Option<RoomEvent> {
        self.events.try_recv().ok()
    }

    /// Sends `data` (UTF-8 JSON) on `action` to `targets` (every peer if `None`); resolves with
    /// the number of peers that confirmed it.
    pub async fn send(&self, action: &str, data: Vec<u8>, targets: Option<Vec<String>>) -> Result<usize, SendFailure> {
        self.send_kind(action, PayloadKind::Json, data, targets).await
    }

    /// As [`Room::send`], with the payload's kind: JSON, text or bytes.
    pub async fn send_kind(
        &self,
        action: &str,
        kind: PayloadKind,
        data: Vec<u8>,
        targets: Option<Vec<String>>,
    ) -> Result<usize, SendFailure> {
        let (done, result) = oneshot::channel();
        let command = Command::Send { action: action.to_owned(), kind, data, targets, done };
        if self.commands.send(command).is_err() {
            return Err(SendFailure::Refused(RoomError::Closed));
        }
        result.await.unwrap_or(Err(SendFailure::Refused(RoomError::Closed)))
    }

    /// Streams the file at `path` to `peer` on `action` (with `metadata`, JSON text), read piece
    /// by piece as the peer takes it; `progress`, if given, follows the bytes read (which run at
    /// most the stream's window ahead of the peer). Resolves with the file's size once the peer
    /// received it whole and its SHA-256 matched.
    pub async fn send_file(
        &self,
        peer: &str,
        action: &str,
        path: impl Into<PathBuf>,
        metadata: Option<String>,
        progress: Option<watch::Sender<u64>>,
    ) -> Result<u64, StreamFailure> {
        let (done, result) = oneshot::channel();
        let (peer, action, path) = (peer.to_owned(), action.to_owned(), path.into());
        self.call(Command::SendFile { peer, action, path, metadata, progress, done }, result).await
    }

    /// Takes an offered stream into a new file at `path` (one that exists is refused), granting the
    /// sender more as the bytes are written; `progress`, if given, follows the bytes written.
    /// A `resumable` one keeps its ticket beside the file (`<file>.rendez-ticket`) until it ends,
    /// and leaving does not end it for the sender, which waits 60 s for [`Room::resume_file`]
    /// (from this program's next run, say). Resolves with its size once it arrived whole and its
    /// SHA-256 matched.
    pub async fn receive_file(
        &self,
        stream: IncomingStream,
        path: impl Into<PathBuf>,
        resumable: bool,
        progress: Option<watch::Sender<u64>>,
    ) -> Result<u64, StreamFailure> {
        let (done, result) = oneshot::channel();
        self.call(Command::ReceiveFile { stream, path: path.into(), resumable, progress, done }, result).await
    }

    /// Resumes the stream whose ticket [`Room::receive_file`] left beside the file at `path`,
    /// from the file's length, once its sender is in the room: the bytes already there are
    /// hashed again, so the whole file is verified. Fails with `gone` if the sender no longer
    /// has the stream.
    pub async fn resume_file(
        &self,
        path: impl Into<PathBuf>,
        progress: Option<watch::Sender<u64>>,
    ) -> Result<u64, StreamFailure> {
        let (done, result) = oneshot::channel();
        self.call(Command::ResumeFile { path: path.into(), progress, done }, result).await
    }

    /// Refuses or stops an offered stream: the sender is told it was cancelled.
    pub fn cancel_stream(&self, stream: IncomingStream) {
        self.commands.send(Command::CancelStream { stream }).ok();
    }

    async fn call(
        &self,
        command: Command,
        result: oneshot::Receiver<Result<u64, StreamFailure>>,
    ) -> Result<u64, StreamFailure> {
        let closed = || Err(StreamFailure::Refused(RoomError::Closed));
        if self.commands.send(command).is_err() {
            return closed();
        }
        result.await.unwrap_or_else(|_| closed())
    }

    /// Leaves the room: says goodbye to its peers and closes every connection.
    pub async fn leave(self) {
        let (done, left) = oneshot::channel();
        if self.commands.send(Command::Leave { done }).is_ok() {
            left.await.ok();
        }
    }
}
