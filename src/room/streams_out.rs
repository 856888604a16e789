//! Streamed sending: a payload too large to hold (a file, a `ReadableStream`) is read from its
//! source piece by piece as the receiver makes room for it, and verified end to end.
//!
//! Rules: a stream goes to one joined peer; the room asks the driver for the next piece of the
//! source ([`Output::ReadStream`], one read at a time) only while fewer than [`READ_AHEAD`] bytes
//! are read but not yet framed and the receiver's credit reaches past what is read; the receiver
//! grants [`STREAM_WINDOW`] bytes at the open and more as its app consumes them (credit frames),
//! so a slow sink slows the sender instead of filling memory; frames go out in turn with the
//! connection's other transfers, under the same [`super::HIGH_WATER`] backpressure; the SHA-256
//! of every byte read goes with the end frame, and the stream is done when the receiver says the
//! digest matched ([`Event::StreamSent`]); a source that yields more or fewer bytes than the size
//! announced fails the stream; the receiver's verdict must come within [`ACK_TIMEOUT`] of the
//! end frame leaving (longer while the channel drains, up to [`MAX_ACK_WAIT`]); aborting, the
//! receiver cancelling or refusing and leaving the room end it at once, and the other side is
//! told; a stream cut off with its connection waits for the peer to come back (see
//! `stream_resume`).

use super::error::StreamError;
use super::outbox::MAX_ACK_WAIT;
use super::{
    check_description, ConnId, Event, IncomingStreamId, OutFrame, Output, Room, RoomError, StreamId, ACK_TIMEOUT,
};
use crate::digest::PayloadDigest;
use crate::frame::PayloadKind;
use crate::payload::Payload;
use crate::stream_frame::{
    encode_abort, encode_closed, encode_data, encode_end, encode_open, CloseReason, StreamOpen, STREAM_ID_LEN,
};
use crate::time::Instant;
use std::collections::VecDeque;

/// Bytes a receiver lets a stream's sender send ahead of what its app consumed.
pub const STREAM_WINDOW: u64 = 8 * 1024 * 1024;
/// Bytes read from a source and not yet framed, at most, before the next read is asked for.
pub const READ_AHEAD: u64 = 2 * 1024 * 1024;
/// Bytes asked for in one read.
pub const READ_LEN: u64 = 1024 * 1024;

/// A stream the app asks to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    /// The peer it goes to.
    pub peer: String,
    pub action: String,
    pub kind: PayloadKind,
    pub metadata: Option<String>,
    /// Total bytes, when known up front (a file's size); the source must hold exactly that many.
    pub size: Option<u64>,
    /// Whether the source can be read again from any offset (a file, bytes; not a one-way
    /// stream): then a stream cut off with its connection resumes when the peer comes back.
    pub seekable: bool,
}

/// A stream being sent.
pub(super) struct OutgoingStream<P> {
    pub(super) conn: ConnId,
    pub(super) peer: String,
    pub(super) handle: u32,
    /// The open frame, until it is sent.
    pub(super) open: Option<Vec<u8>>,
    pub(super) size: Option<u64>,
    /// Bytes asked of the source so far (the offset of the next read).
    pub(super) read: u64,
    pub(super) reading: bool,
    /// The source said it holds no more.
    pub(super) exhausted: bool,
    /// Pieces read and not yet framed, in order.
    pub(super) pending: VecDeque<P>,
    pub(super) pending_len: u64,
    /// Bytes framed so far.
    pub(super) framed: u64,
    /// The receiver lets us send up to this offset.
    pub(super) credit: u64,
    pub(super) digest: PayloadDigest,
    /// When the open frame went out, until the receiver answers it.
    pub(super) opened: Option<Instant>,
    /// When the end frame went out.
    pub(super) ended: Option<Instant>,
    /// When to give up waiting for the receiver to take the stream, or for its verdict.
    pub(super) deadline: Option<Instant>,
    /// How it is described at the open (with its id, the same on every connection).
    pub(super) description: StreamOpen,
    /// Whether the source can be read again from any offset, so the stream can resume.
    pub(super) seekable: bool,
    /// Resuming (see `stream_resume`): states of the digest at earlier offsets, bytes read again
    /// only to be hashed (up to this offset), the size the end frame gave, when the connection
    /// was lost, and whether the stream was opened anew and awaits the receiver's answer.
    pub(super) snapshots: VecDeque<(u64, PayloadDigest)>,
    pub(super) skip_until: u64,
    pub(super) ended_size: Option<u64>,
    pub(super) parked: Option<Instant>,
    pub(super) reopened: bool,
    /// The most it framed before its connection was lost (a receiver cannot hold more).
    pub(super) framed_before: u64,
    /// The read in flight was asked for before a restart: its bytes are dropped.
    pub(super) stale_read: bool,
}

impl<P: Payload> OutgoingStream<P> {
    /// Whether a frame of this stream can go out now.
    fn has_frame(&self) -> bool {
        if self.parked.is_some() {
            return false;
        }
        self.open.is_some()
            || (self.pending_len > 0 && self.framed < self.credit)
            || (self.exhausted && self.pending_len == 0 && self.ended.is_none() && !self.reopened)
    }

    /// Whether the next piece of the source should be read now (at the announced size, only its
    /// end is left to read, which needs no credit).
    fn wants_read(&self) -> bool {
        let room = self.read < self.credit.max(self.skip_until) || self.size == Some(self.read);
        let live = self.parked.is_none() && !self.reopened;
        live && !self.reading && !self.exhausted && self.pending_len < READ_AHEAD && room
    }
}

impl<P: Payload> Room<P> {
    /// Starts streaming to a peer: the source is read as [`Output::ReadStream`] asks, and
    /// [`Event::StreamSent`] tells the outcome.
    pub fn send_stream(&mut self, now: Instant, request: StreamRequest) -> Result<StreamId, RoomError> {
        self.now = now;
        let (peer, conn) = self.targets(Some(&[request.peer]))?.remove(0);
        check_description(&request.action, request.metadata.as_deref())?;
        let mut id = [0; STREAM_ID_LEN];
        self.random.fill(&mut id);
        let handle = self.next_stream_handle;
        self.next_stream_handle = handle.wrapping_add(1);
        let description = StreamOpen {
            handle,
            id,
            offset: 0,
            size: request.size,
            kind: request.kind,
            action: request.action,
            metadata: request.metadata,
        };
        let open = encode_open(&description).map_err(|e| RoomError::Invalid(e.to_string()))?;
        let stream = StreamId(self.next_stream);
        self.next_stream += 1;
        self.streams_out.insert(
            stream,
            OutgoingStream {
                conn,
                peer,
                handle,
                open: Some(open),
                size: request.size,
                read: 0,
                reading: false,
                exhausted: false,
                pending: VecDeque::new(),
                pending_len: 0,
                framed: 0,
                credit: STREAM_WINDOW,
                digest: PayloadDigest::default(),
                opened: None,
                ended: None,
                deadline: None,
                description,
                seekable: request.seekable,
                snapshots: VecDeque::new(),
                skip_until: 0,
                ended_size: None,
                parked: None,
                reopened: false,
                framed_before: 0,
                stale_read: false,
            },
        );
        self.queue_for_sending(conn);
        self.read_streams();
        Ok(stream)
    }

    /// The driver read stream `stream`'s source: the next bytes (`Ok(Some)`), its end
    /// (`Ok(None)`), or a failure.
    pub fn stream_read(&mut self, now: Instant, stream: StreamId, read: Result<Option<P>, String>) {
        self.now = now;
        let Some(s) = self.streams_out.get_mut(&stream) else { return };
        s.reading = false;
        if std::mem::take(&mut s.stale_read) {
            return self.read_streams();
        }
        if s.parked.is_some() || s.reopened {
            // Read for a connection since lost: it is read again from where the peer resumes.
            return;
        }
        let failure = match read {
            Ok(Some(bytes)) => {
                if s.seekable {
                    s.snapshot();
                }
                let start = s.read;
                s.read += bytes.len();
                s.digest.update(&bytes, &mut self.scratch);
                let over = s.size.filter(|&size| s.read > size);
                // Bytes the receiver holds already (see `stream_resume`) are only hashed.
                let unsent = bytes.slice(s.skip_until.saturating_sub(start).min(bytes.len())..bytes.len());
                if !unsent.is_empty() {
                    s.pending_len += unsent.len();
                    s.pending.push_back(unsent);
                }
                over.map(|size| format!("the source holds more than the {size} bytes announced"))
            }
            Ok(None) => {
                s.exhausted = true;
                s.size
                    .filter(|&size| s.read != size)
                    .map(|size| format!("the source ended after {} of the {size} bytes announced", s.read))
            }
            Err(e) => Some(e),
        };
        match failure {
            Some(reason) => self.end_outgoing(stream, Err(StreamError::Source(reason)), true),
            None => {
                let conn = s.conn;
                self.queue_for_sending(conn);
                self.read_streams();
            }
        }
    }

    /// The app gives stream `stream` up: the receiver is told to drop it.
    pub fn abort_stream(&mut self, now: Instant, stream: StreamId) {
        self.now = now;
        let peer = self.streams_out.get(&stream).map(|s| s.peer.clone()).unwrap_or_default();
        self.end_outgoing(stream, Err(StreamError::Aborted { peer }), true);
    }

    /// Asks for the next read of every stream that wants one.
    pub(super) fn read_streams(&mut self) {
        for (&stream, s) in self.streams_out.iter_mut() {
            if s.wants_read() {
                s.reading = true;
                let max = READ_LEN.min(s.size.map_or(READ_LEN, |size| size.saturating_sub(s.read)).max(1));
                self.outputs.push_back(Output::ReadStream { stream, offset: s.read, max });
            }
        }
    }

    /// Whether a stream on `conn` has a frame to send.
    pub(super) fn has_stream_frame(&self, conn: ConnId) -> bool {
        self.streams_out.values().any(|s| s.conn == conn && s.has_frame())
    }

    /// The next frame of a stream on `conn`, if one can go out.
    pub(super) fn stream_frame_for(&mut self, conn: ConnId) -> Option<Output<P>> {
        let now = self.now;
        let c = self.conns.get_mut(&conn)?;
        let (_, s) = self.streams_out.iter_mut().find(|(_, s)| s.conn == conn && s.has_frame())?;
        let frame = if let Some(open) = s.open.take() {
            s.opened = Some(now);
            // A peer that took the stream before answers a reopen once it is ready, which takes
            // a page that picked the stream up as long as rehashing what it staged.
            s.deadline = Some(now + if s.reopened { MAX_ACK_WAIT } else { ACK_TIMEOUT });
            OutFrame { header: open, body: None }
        } else if s.pending_len > 0 && s.framed < s.credit {
            let header = encode_data(s.handle, s.framed);
            let room = c.frame_len.saturating_sub(header.len() as u64).max(1).min(s.credit - s.framed);
            let front = s.pending.front_mut()?;
            let take = room.min(front.len());
            let body = front.slice(0..take);
            if take == front.len() {
                s.pending.pop_front();
            } else {
                *front = front.slice(take..front.len());
            }
            s.pending_len -= take;
            s.framed += take;
            OutFrame { header, body: Some(body) }
        } else if s.exhausted && s.pending_len == 0 && s.ended.is_none() {
            let digest = s.digest.clone().finish();
            s.ended = Some(now);
            s.ended_size = Some(s.framed);
            s.deadline = Some(now + ACK_TIMEOUT);
            OutFrame { header: encode_end(s.handle, s.framed, &digest), body: None }
        } else {
            return None;
        };
        let deadline = s.deadline;
        // The driver reports the channel's buffer after frames with a body only.
        if frame.body.is_some() {
            c.buffered += frame.len();
        }
        c.last_sent = now;
        if let Some(at) = deadline {
            self.note_deadline(at);
        }
        self.read_streams();
        Some(Output::SendFrame { conn, frame })
    }

    /// Our stream named `handle` on `conn`.
    pub(super) fn outgoing_on(&self, conn: ConnId, handle: u32) -> Option<StreamId> {
        self.streams_out.iter().find(|(_, s)| s.conn == conn && s.handle == handle).map(|(&id, _)| id)
    }

    /// The receiver of our stream `handle` on `conn` lets us send up to offset `until`.
    pub(super) fn on_stream_credit(&mut self, conn: ConnId, handle: u32, until: u64) {
        let Some(stream) = self.outgoing_on(conn, handle) else { return };
        let Some(s) = self.streams_out.get_mut(&stream) else { return };
        if s.opened.take().is_some() && s.ended.is_none() {
            s.deadline = None;
        }
        if std::mem::take(&mut s.reopened) {
            // Taken as a new stream: everything goes again, within this credit alone.
            s.restart_at(0);
            s.deadline = None;
            s.credit = until;
            self.queue_for_sending(conn);
            return self.read_streams();
        }
        if until > s.credit {
            s.credit = until;
            self.queue_for_sending(conn);
            self.read_streams();
        }
    }

    /// The receiver of our stream `handle` on `conn` closed it, for `reason`.
    pub(super) fn on_stream_closed(&mut self, conn: ConnId, handle: u32, reason: CloseReason) {
        let Some(stream) = self.outgoing_on(conn, handle) else { return };
        let Some(s) = self.streams_out.get(&stream) else { return };
        let peer = s.peer.clone();
        let result = match reason {
            // After its end, or reopened after an end the receiver had verified.
            CloseReason::Verified => s
                .ended_size
                .filter(|_| s.ended.is_some() || s.reopened)
                .ok_or_else(|| StreamError::Refused { peer, reason: "it confirmed the stream before its end".into() }),
            CloseReason::Integrity => Err(StreamError::Integrity { peer }),
            CloseReason::Cancelled => Err(StreamError::Cancelled { peer }),
            CloseReason::Refused => Err(StreamError::Refused { peer, reason: "it does not take the stream".into() }),
            CloseReason::Left => Err(StreamError::Left { peer }),
        };
        self.end_outgoing(stream, result, false);
    }

    /// Fails stream `stream`, whose receiver `peer` broke the protocol, and tells it.
    pub(super) fn end_stream_refused(&mut self, stream: StreamId, peer: String, reason: String) {
        self.warn(format!("dropped a stream to peer {peer}: {reason}"));
        self.end_outgoing(stream, Err(StreamError::Refused { peer, reason }), true);
    }

    /// Ends stream `stream` with `result`, telling the receiver when `tell` (it does not know).
    fn end_outgoing(&mut self, stream: StreamId, result: Result<u64, StreamError>, tell: bool) {
        let Some(s) = self.streams_out.remove(&stream) else { return };
        if tell && s.open.is_none() {
            self.send_control(s.conn, encode_abort(s.handle));
        }
        self.emit(Event::StreamSent { stream, result });
    }

    /// Fails the streams the receiver did not take within [`ACK_TIMEOUT`] of the open frame (a
    /// peer of an older version ignores it), or whose verdict is overdue (the wait goes on while
    /// the channel still holds data, up to [`MAX_ACK_WAIT`] after the end frame).
    pub(super) fn overdue_stream_verdicts(&mut self) {
        let now = self.now;
        let mut overdue = Vec::new();
        for (&stream, s) in self.streams_out.iter_mut().filter(|(_, s)| s.parked.is_none()) {
            let Some(deadline) = s.deadline.filter(|&at| at <= now) else { continue };
            let Some(since) = s.ended.or(s.opened) else { continue };
            let draining = s.ended.is_some() && self.conns.get(&s.conn).is_some_and(|c| c.buffered > 0);
            let limit = since + MAX_ACK_WAIT;
            if draining && now < limit {
                s.deadline = Some((now + ACK_TIMEOUT).min(limit));
            } else {
                overdue.push((stream, s.peer.clone(), deadline.since(since)));
            }
        }
        for (stream, peer, waited) in overdue {
            self.end_outgoing(stream, Err(StreamError::Timeout { peer, waited }), true);
        }
    }

    /// Ends every stream, either way: we left the room. Peers still connected are told, so they
    /// do not wait for us to come back.
    pub(super) fn fail_all_streams(&mut self) {
        let outgoing: Vec<(ConnId, u32)> =
            self.streams_out.values().filter(|s| s.parked.is_none()).map(|s| (s.conn, s.handle)).collect();
        for (conn, handle) in outgoing {
            self.send_control(conn, encode_abort(handle));
        }
        // Streams the app staged wait for its next page to claim them.
        let incoming: Vec<(ConnId, u32)> =
            self.streams_in.values().filter(|s| s.parked.is_none() && !s.staged).map(|s| (s.conn, s.handle)).collect();
        for (conn, handle) in incoming {
            self.send_control(conn, encode_closed(handle, CloseReason::Left));
        }
        let outgoing: Vec<StreamId> = self.streams_out.drain().map(|(id, _)| id).collect();
        for stream in outgoing {
            self.emit(Event::StreamSent { stream, result: Err(StreamError::Closed) });
        }
        let incoming: Vec<IncomingStreamId> = self.streams_in.drain().map(|(id, _)| id).collect();
        for stream in incoming {
            self.emit(Event::StreamEnded { stream, result: Err(StreamError::Closed) });
        }
    }

    /// The deadlines of our streams (the receiver's answer or verdict, a peer's return).
    pub(super) fn stream_deadlines(&self) -> impl Iterator<Item = Instant> + '_ {
        self.streams_out.values().filter_map(|s| s.deadline).chain(self.waiting_stream_deadline())
    }
}
