//! What a driver feeds the room ([`Input`]) and what it carries out ([`Output`]), including the
//! events it hands to the app ([`Event`]).

use super::error::{PingError, RequestError, SendError, StreamError};
use super::requests::{Delivery, IncomingId, RequestId};
use crate::frame::PayloadKind;
use crate::strategy::{RelayData, RelayId};
use crate::stream_ticket::StreamTicket;
use std::time::Duration;

/// A peer connection (an `RTCPeerConnection` with its data channel), named by the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// One app `send` (to one or many peers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SendId(pub u64);

/// A stream we send (see `streams_out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(pub u64);

/// A stream a peer sends us (see `streams_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncomingStreamId(pub u64);

/// One app `ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PingId(pub u64);

/// A step of SDP negotiation on one connection. The room issues one at a time per connection and
/// waits for its [`Input::Negotiated`]; a driver runs it as one uninterrupted sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiationStep {
    /// `setLocalDescription()` (an offer, from the stable state), then wait for ICE gathering;
    /// report the local SDP.
    MakeOffer,
    /// `setRemoteDescription(offer)` (rolling back an offer of ours if one is pending), then
    /// `setLocalDescription()` (the answer) and wait for ICE gathering; report the local SDP.
    ApplyOffer(String),
    /// `setRemoteDescription(answer)`; report no SDP.
    ApplyAnswer(String),
    /// `createOffer({iceRestart: true})` and `setLocalDescription` of it (from the stable state or
    /// over an offer of ours still pending), then wait for the new ICE gathering to end, even on a
    /// trickling connection; report the local SDP.
    RestartIce,
    /// As [`NegotiationStep::ApplyOffer`] for an ICE restart offer: the answer waits for the new
    /// ICE gathering to end, even on a trickling connection.
    AnswerRestart(String),
    /// `setLocalDescription({type: 'rollback'})`: drops an offer of ours still pending; report no
    /// SDP.
    Rollback,
}

/// The state of a connection's ICE transport (`iceConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connectivity {
    /// Packets flow (`connected` or `completed`).
    Connected,
    /// Checks go unanswered; the transport may come back by itself (`disconnected`).
    Disconnected,
    /// No candidate pair works any more: only an ICE restart brings it back (`failed`).
    Failed,
}

/// A data-channel message to send: `header` (in Rust memory) followed by `body` (a payload view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFrame<P> {
    pub header: Vec<u8>,
    pub body: Option<P>,
}

impl<P: crate::payload::Payload> OutFrame<P> {
    /// Length of the whole message.
    pub fn len(&self) -> u64 {
        self.header.len() as u64 + self.body.as_ref().map_or(0, P::len)
    }

    /// Whether the message is empty (never, for frames the room makes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Something that happened outside the room.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<P> {
    /// The connection to `relay` opened.
    RelayOpened { relay: RelayId },
    /// The connection to `relay` closed or could not be made; `reason` when the driver knows one.
    RelayClosed { relay: RelayId, reason: Option<String> },
    /// `relay` sent a message.
    RelayMessage { relay: RelayId, data: RelayData },
    /// `relay` sent a message of `len` bytes (or UTF-16 units), larger than
    /// [`crate::room::MAX_RELAY_MESSAGE_LEN`], which the driver dropped unread.
    RelayMessageTooLarge { relay: RelayId, len: u64 },
    /// The connection could not be created (e.g. a bad ICE server) or could not carry a frame;
    /// `error` says so, for the warning.
    ConnectionFailed { conn: ConnId, error: String },
    /// The step last issued for `conn` finished: the local SDP it made (offers and answers) or why
    /// it failed; `stable` is the connection's signaling state now.
    Negotiated { conn: ConnId, outcome: Result<Option<String>, String>, stable: bool },
    /// `conn` found a local ICE candidate (a trickling connection): `RTCIceCandidate.toJSON()` as
    /// JSON text.
    LocalCandidate { conn: ConnId, candidate: String },
    /// The browser wants to renegotiate `conn` (media was added or removed).
    NegotiationNeeded { conn: ConnId },
    /// The data channel of `conn` opened; `max_message_size` is the remote's SCTP limit, if known.
    ConnectionOpened { conn: ConnId, max_message_size: Option<f64> },
    /// The data channel or connection of `conn` closed, or a connection not yet open failed.
    ConnectionClosed { conn: ConnId },
    /// The ICE transport of `conn` became connected, `disconnected` or `failed`
    /// (`iceconnectionstatechange`); an open connection is restarted, not closed, when it drops.
    Connectivity { conn: ConnId, state: Connectivity },
    /// A binary message arrived on `conn`'s data channel.
    Frame { conn: ConnId, frame: P },
    /// A message that is not binary arrived on `conn`'s data channel.
    NonBinaryFrame { conn: ConnId },
    /// `conn`'s data channel holds `amount` bytes not yet sent (its `bufferedAmount`): after a
    /// payload chunk was sent, and whenever the amount falls to [`crate::room::LOW_WATER`].
    Buffered { conn: ConnId, amount: u64 },
}

/// What the app is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<P> {
    /// A peer is in the room: its data channel opened and each side admitted the other.
    PeerJoined { peer: String },
    /// A peer left or vanished.
    PeerLeft { peer: String },
    /// A peer could not join (reported once per peer).
    JoinError { peer: String, error: String },
    /// A peer's data channel opened (connection `conn`) and the app's handshake with it is to
    /// run: the peer joins once it passes ([`crate::room::Room::handshake_done`]). `initiator` is
    /// true on one side only (the smaller peer id), for handshakes where one side speaks first.
    HandshakeStarted { peer: String, conn: ConnId, initiator: bool },
    /// Handshake data arrived from a peer being admitted over `conn`.
    HandshakeData { peer: String, conn: ConnId, delivery: Delivery<P> },
    /// The handshake over `conn` is over: its peer joined, went away or was refused.
    HandshakeEnded { peer: String, conn: ConnId },
    /// Part of a request went out to its peer.
    RequestProgress { request: RequestId, peer: String, sent: u64, total: u64 },
    /// A peer's request to an action the app serves; answer with [`crate::room::Room::reply`].
    RequestReceived { request: IncomingId, peer: String, action: String, delivery: Delivery<P> },
    /// The peer that made a request handed to the app left: the reply would go nowhere.
    RequestWithdrawn { request: IncomingId },
    /// Our request got its reply, or failed.
    RequestDone { request: RequestId, result: Result<Delivery<P>, RequestError> },
    /// A whole payload arrived: its parts in order (views of the received frames).
    Received { peer: String, action: String, kind: PayloadKind, metadata: Option<String>, parts: Vec<P>, total: u64 },
    /// Part of a payload arrived.
    ReceiveProgress { peer: String, action: String, metadata: Option<String>, received: u64, total: u64 },
    /// Part of a payload went out to one of the send's targets.
    SendProgress { send: SendId, peer: String, sent: u64, total: u64 },
    /// Every target of a send confirmed it (`Ok` with the number of targets), or the first failure.
    SendDone { send: SendId, result: Result<usize, SendError> },
    /// A peer started streaming to us: its data follows in [`Event::StreamData`] events; pass on
    /// what the app consumed with [`crate::room::Room::stream_consumed`] so more may come.
    StreamStarted {
        stream: IncomingStreamId,
        peer: String,
        /// The sender's id for it (see [`crate::stream_ticket::StreamTicket`]).
        id: [u8; crate::stream_frame::STREAM_ID_LEN],
        action: String,
        kind: PayloadKind,
        metadata: Option<String>,
        /// Total bytes, when the sender knows them up front.
        size: Option<u64>,
    },
    /// The next bytes of an incoming stream.
    StreamData { stream: IncomingStreamId, data: P },
    /// An incoming stream ended: `Ok` with its size once every byte arrived and its SHA-256
    /// matched the sender's, or why it failed.
    StreamEnded { stream: IncomingStreamId, result: Result<u64, StreamError> },
    /// A stream we sent was received whole and verified (`Ok` with its size), or failed.
    StreamSent { stream: StreamId, result: Result<u64, StreamError> },
    /// A ping came back after the round trip, or failed.
    PingDone { ping: PingId, result: Result<Duration, PingError> },
    /// Something was dropped or went wrong without stopping the room: worth a console warning.
    Warning(String),
}

impl<P> Event<P> {
    /// The ticket of the stream a [`Event::StreamStarted`] announces, for a later page or run to
    /// pick it up with; none for other events.
    pub fn stream_ticket(&self) -> Option<StreamTicket> {
        let Event::StreamStarted { peer, id, action, kind, metadata, size, .. } = self else { return None };
        let (peer, action, metadata) = (peer.clone(), action.clone(), metadata.clone());
        Some(StreamTicket { peer, id: *id, action, kind: *kind, metadata, size: *size })
    }
}

/// Something for the driver to carry out.
#[derive(Debug, Clone, PartialEq)]
pub enum Output<P> {
    /// Read the bytes of stream `stream` from `offset`, at most `max` of them (more is accepted
    /// from a source that yields larger pieces); report them with
    /// [`crate::room::Room::stream_read`]. One read per stream is asked for at a time.
    ReadStream { stream: StreamId, offset: u64, max: u64 },
    /// Open a WebSocket to `url` offering `protocols`; report [`Input::RelayOpened`] or
    /// [`Input::RelayClosed`].
    OpenRelay { relay: RelayId, url: String, protocols: &'static [&'static str] },
    /// Close the connection to `relay`; no input is expected for it.
    CloseRelay { relay: RelayId },
    /// Send one message on `relay`'s open connection.
    SendRelay { relay: RelayId, data: RelayData },
    /// Create a peer connection with the room's pre-negotiated data channel. A `trickle` one
    /// reports its ICE candidates ([`Input::LocalCandidate`]) and describes itself without
    /// waiting for ICE gathering.
    CreateConnection { conn: ConnId, trickle: bool },
    /// Add the peer's ICE candidate (JSON of an `RTCIceCandidateInit`) to `conn`; no input is
    /// expected for it.
    AddCandidate { conn: ConnId, candidate: String },
    /// Run a negotiation step on `conn`; report [`Input::Negotiated`].
    Negotiate { conn: ConnId, step: NegotiationStep },
    /// Send a frame on `conn`'s data channel; after one with a body (a chunk of a payload),
    /// report the channel's [`Input::Buffered`] amount, which paces the next chunks.
    SendFrame { conn: ConnId, frame: OutFrame<P> },
    /// Close `conn` (the remote sees its channel close); no input is expected for it.
    CloseConnection { conn: ConnId },
    /// Tell the app.
    Event(Event<P>),
}
