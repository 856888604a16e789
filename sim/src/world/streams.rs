//! Streamed transfers in the simulation: sources read from memory a millisecond after each read
//! is asked for, and sinks that consume what arrives at once or when a test says.

use super::{Action, PeerIndex, World};
use rendez_core::frame::PayloadKind;
use rendez_core::payload::{Payload, SharedBytes};
use rendez_core::room::{IncomingStreamId, RoomError, StreamError, StreamId, StreamRequest};
use rendez_core::stream_ticket::StreamTicket;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a simulated source takes to hand over a read.
const READ_DELAY: Duration = Duration::from_millis(1);

/// What one peer's app saw of a stream sent to it.
#[derive(Debug, Default, Clone)]
pub struct IncomingLog {
    pub peer: String,
    pub action: String,
    pub metadata: Option<String>,
    pub size: Option<u64>,
    /// What a page needs to pick the stream up after a reload (none for an adopted one).
    pub ticket: Option<StreamTicket>,
    pub bytes: Vec<u8>,
    /// Bytes arrived that the app has not consumed yet, and those it has.
    pub unconsumed: u64,
    pub consumed: u64,
    /// The most bytes arrived and not consumed at any time.
    pub most_unconsumed: u64,
    pub result: Option<Result<u64, StreamError>>,
}

/// Streams of one peer: its sources and its incoming streams.
#[derive(Default)]
pub(super) struct PeerStreams {
    /// What each stream we send reads from, and how many reads were asked for.
    sources: BTreeMap<StreamId, SharedBytes>,
    pub reads: u64,
    /// Whether arriving bytes are consumed at once.
    pub holding: bool,
}

impl World {
    /// `p` streams `bytes` to `target` on `action`, announcing their size or not.
    pub fn send_stream(
        &mut self,
        p: PeerIndex,
        target: PeerIndex,
        action: &str,
        bytes: Vec<u8>,
        announce_size: bool,
    ) -> Result<StreamId, RoomError> {
        let size = announce_size.then_some(bytes.len() as u64);
        self.stream_from(p, target, action, bytes, size, true)
    }

    /// `p` streams `bytes` to `target` on `action`, announcing `size` whatever they hold.
    pub fn send_stream_announcing(
        &mut self,
        p: PeerIndex,
        target: PeerIndex,
        action: &str,
        bytes: Vec<u8>,
        size: u64,
    ) -> Result<StreamId, RoomError> {
        self.stream_from(p, target, action, bytes, Some(size), true)
    }

    /// `p` streams `bytes` to `target` as from a source read only once (a `ReadableStream`).
    pub fn send_stream_unseekable(
        &mut self,
        p: PeerIndex,
        target: PeerIndex,
        action: &str,
        bytes: Vec<u8>,
    ) -> Result<StreamId, RoomError> {
        let size = Some(bytes.len() as u64);
        self.stream_from(p, target, action, bytes, size, false)
    }

    fn stream_from(
        &mut self,
        p: PeerIndex,
        target: PeerIndex,
        action: &str,
        bytes: Vec<u8>,
        size: Option<u64>,
        seekable: bool,
    ) -> Result<StreamId, RoomError> {
        let request = StreamRequest {
            peer: self.peers[target].id.clone(),
            action: action.to_owned(),
            kind: PayloadKind::Binary,
            metadata: None,
            size,
            seekable,
        };
        let source = SharedBytes::from(bytes);
        let now = self.now;
        let stream = self.peers[p].room.send_stream(now, request)?;
        self.peers[p].streams.sources.insert(stream, source);
        self.drain(p);
        Ok(stream)
    }

    /// How many reads `p`'s sources were asked for.
    pub fn stream_reads(&self, p: PeerIndex) -> u64 {
        self.peers[p].streams.reads
    }

    /// Whether `p`'s app holds what streams bring instead of consuming it at once.
    pub fn hold_streams(&mut self, p: PeerIndex, holding: bool) {
        self.peers[p].streams.holding = holding;
    }

    /// `p`'s app consumes `bytes` more of incoming stream `stream`.
    pub fn consume(&mut self, p: PeerIndex, stream: IncomingStreamId, bytes: u64) {
        let Some(log) = self.peers[p].log.streams.get_mut(&stream) else { return };
        let bytes = bytes.min(log.unconsumed);
        log.unconsumed -= bytes;
        log.consumed += bytes;
        let total = log.consumed;
        self.app(p, |room, now| room.stream_consumed(now, stream, total));
    }

    /// `p`'s app stages incoming `stream` to pick it up after a reload.
    pub fn stage_incoming_stream(&mut self, p: PeerIndex, stream: IncomingStreamId) {
        self.app(p, |room, now| room.stage_incoming_stream(now, stream));
    }

    /// `p`'s app adopts the stream `ticket` names with the bytes an earlier page staged, handed
    /// back at once; what follows is logged as for any incoming stream.
    pub fn adopt_stream(
        &mut self,
        p: PeerIndex,
        ticket: &StreamTicket,
        staged: &[u8],
    ) -> Result<IncomingStreamId, RoomError> {
        let stream = self.adopt_stream_unhashed(p, ticket, staged.len() as u64)?;
        self.rehash(p, stream, staged)?;
        Ok(stream)
    }

    /// `p`'s app adopts the stream `ticket` names, of which an earlier page staged `staged` bytes
    /// that it hands back later ([`World::rehash`]).
    pub fn adopt_stream_unhashed(
        &mut self,
        p: PeerIndex,
        ticket: &StreamTicket,
        staged: u64,
    ) -> Result<IncomingStreamId, RoomError> {
        let stream = self.app(p, |room, now| room.adopt_stream(now, ticket, staged))?;
        let incoming = IncomingLog {
            peer: ticket.peer.clone(),
            action: ticket.action.clone(),
            metadata: ticket.metadata.clone(),
            size: ticket.size,
            consumed: staged,
            ..IncomingLog::default()
        };
        self.peers[p].log.streams.insert(stream, incoming);
        Ok(stream)
    }

    /// `p`'s app hands back the staged bytes of adopted stream `stream`, 1 MiB at a time.
    pub fn rehash(&mut self, p: PeerIndex, stream: IncomingStreamId, staged: &[u8]) -> Result<(), RoomError> {
        for piece in staged.chunks(1 << 20) {
            let piece = SharedBytes::from(piece.to_vec());
            self.app(p, |room, now| room.stream_rehash(now, stream, &piece))?;
        }
        Ok(())
    }

    pub fn cancel_incoming_stream(&mut self, p: PeerIndex, stream: IncomingStreamId) {
        self.app(p, |room, now| room.cancel_incoming_stream(now, stream));
    }

    pub fn abort_stream(&mut self, p: PeerIndex, stream: StreamId) {
        self.app(p, |room, now| room.abort_stream(now, stream));
    }

    /// `p`'s room asks for a read of `stream`'s source.
    pub(super) fn read_asked(&mut self, p: PeerIndex, stream: StreamId, offset: u64, max: u64) {
        self.peers[p].streams.reads += 1;
        self.schedule(READ_DELAY, Action::Read(p, stream, offset, max));
    }

    /// The read of `max` bytes at `offset` of `p`'s `stream` completes.
    pub(super) fn read_done(&mut self, p: PeerIndex, stream: StreamId, offset: u64, max: u64) {
        let Some(source) = self.peers[p].streams.sources.get(&stream) else { return };
        let len = source.len();
        let read = (offset < len).then(|| source.slice(offset..len.min(offset + max)));
        self.app(p, |room, now| room.stream_read(now, stream, Ok(read)));
    }

    /// Bytes of `p`'s incoming `stream` arrived: consumed a moment later unless the app holds them.
    pub(super) fn stream_data(&mut self, p: PeerIndex, stream: IncomingStreamId, data: &SharedBytes) {
        let holding = self.peers[p].streams.holding;
        let Some(log) = self.peers[p].log.streams.get_mut(&stream) else { return };
        log.bytes.extend_from_slice(data.as_slice());
        log.unconsumed += data.len();
        log.most_unconsumed = log.most_unconsumed.max(log.unconsumed);
        if !holding {
            self.schedule(Duration::ZERO, Action::Consume(p, stream, data.len()));
        }
    }

    /// `p`'s stream `stream` ended: its source is dropped.
    pub(super) fn stream_sent(&mut self, p: PeerIndex, stream: StreamId) {
        self.peers[p].streams.sources.remove(&stream);
    }
}
