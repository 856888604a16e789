//! Streamed receiving: a peer's stream is handed to the app piece by piece as it arrives, never
//! held whole, and verified before it is reported complete.
//!
//! Rules: only a joined peer may stream to us, at most [`MAX_INCOMING_STREAMS`] streams at once
//! (further ones are refused); each piece is handed on at once ([`Event::StreamData`]) and
//! hashed through the room's scratch buffer, so the room holds no payload byte; data must come in
//! order, within the credit granted ([`STREAM_WINDOW`] from the open, confirmed to the sender at
//! once, then more as the app reports bytes consumed: a fresh grant once half the window is
//! consumed) and within the size announced,
//! or the stream is refused and fails; at the end frame the size and SHA-256 are compared with
//! what arrived, and the stream ends `Ok` only if both match (else [`StreamError::Integrity`]),
//! the sender told either way; the app may cancel a stream, and the sender is told; a stream cut
//! off with its connection waits for the sender to come back (see `stream_resume`), and one the
//! app staged may be picked up by its next page (see `stream_adoption`).

use super::error::StreamError;
use super::stream_adoption::NO_CONNECTION;
use super::streams_out::STREAM_WINDOW;
use super::{ConnId, Event, IncomingStreamId, Room};
use crate::digest::PayloadDigest;
use crate::payload::Payload;
use crate::stream_frame::{
    encode_closed, encode_credit, encode_resume, CloseReason, StreamOpen, DIGEST_LEN, STREAM_ID_LEN,
};
use crate::time::Instant;

/// Streams one peer may send us at once, at most.
pub const MAX_INCOMING_STREAMS: usize = 16;

/// A stream a peer is sending us.
pub(super) struct IncomingStream {
    pub conn: ConnId,
    pub peer: String,
    /// The sender's id for it, the same on every connection.
    pub id: [u8; STREAM_ID_LEN],
    /// When its connection was lost (see `stream_resume`).
    pub parked: Option<Instant>,
    pub handle: u32,
    pub size: Option<u64>,
    /// Bytes arrived (the offset of the next piece).
    pub received: u64,
    /// Bytes the app consumed.
    pub consumed: u64,
    /// The sender may send up to this offset.
    pub granted: u64,
    pub digest: PayloadDigest,
    /// The app stages it to pick it up after a reload (see `stream_adoption`).
    pub staged: bool,
    /// Staged bytes of an adopted stream still to be hashed before the sender is answered.
    pub rehash_left: u64,
}

impl IncomingStream {
    /// A stream from `peer` with `id`, named `handle` on `conn`, nothing of it arrived yet.
    pub fn new(conn: ConnId, peer: String, id: [u8; STREAM_ID_LEN], handle: u32, size: Option<u64>) -> Self {
        Self {
            conn,
            peer,
            id,
            parked: None,
            handle,
            size,
            received: 0,
            consumed: 0,
            granted: STREAM_WINDOW,
            digest: PayloadDigest::default(),
            staged: false,
            rehash_left: 0,
        }
    }
}

impl<P: Payload> Room<P> {
    /// The app has consumed `total` bytes of stream `stream` in all (written them to its sink):
    /// the sender may send that much further. A total is reported rather than an increment, so
    /// a report that never arrives is made good by the next.
    pub fn stream_consumed(&mut self, now: Instant, stream: IncomingStreamId, total: u64) {
        self.now = now;
        let Some(s) = self.streams_in.get_mut(&stream) else { return };
        s.consumed = s.consumed.max(total.min(s.received));
        if s.consumed.saturating_add(STREAM_WINDOW) >= s.granted.saturating_add(STREAM_WINDOW / 2) {
            s.granted = s.consumed.saturating_add(STREAM_WINDOW);
            let (conn, frame) = (s.conn, encode_credit(s.handle, s.granted));
            self.send_control(conn, frame);
        }
    }

    /// The app no longer wants stream `stream`: the sender is told to stop.
    pub fn cancel_incoming_stream(&mut self, now: Instant, stream: IncomingStreamId) {
        self.now = now;
        if let Some(s) = self.streams_in.remove(&stream) {
            if s.conn != NO_CONNECTION {
                self.send_control(s.conn, encode_closed(s.handle, CloseReason::Cancelled));
            }
            // A sender cut off meanwhile learns it when it opens the stream anew.
            self.remember_finished(s.peer, s.id, CloseReason::Cancelled);
        }
    }

    /// The peer of `conn` opens a stream to us.
    pub(super) fn on_stream_open(&mut self, conn: ConnId, open: StreamOpen) {
        let Some(peer) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else { return };
        if let Some(stream) = self.earlier_incoming(&peer, &open.id, conn) {
            return self.resume_incoming(stream, conn, open.handle);
        }
        if let Some(reason) = self.finished_lately(&peer, &open.id) {
            return self.send_control(conn, encode_closed(open.handle, reason));
        }
        // Streams waiting for the peer to come back count too.
        let from_peer = self.streams_in.values().filter(|s| s.peer == peer).count();
        let duplicate = self.streams_in.iter().find(|(_, s)| s.conn == conn && s.handle == open.handle);
        if let Some((&stream, _)) = duplicate {
            return self.refuse_incoming(stream, format!("it opened stream {} twice", open.handle));
        }
        if from_peer >= MAX_INCOMING_STREAMS || open.offset != 0 {
            self.warn_about(conn, format!("refused a stream (at most {MAX_INCOMING_STREAMS} at once, from the start)"));
            return self.send_control(conn, encode_closed(open.handle, CloseReason::Refused));
        }
        let stream = IncomingStreamId(self.next_incoming_stream);
        self.next_incoming_stream += 1;
        self.streams_in.insert(stream, IncomingStream::new(conn, peer.clone(), open.id, open.handle, open.size));
        // The sender learns at once that we take the stream (a peer of an older version would
        // ignore it), with the credit it already assumed.
        self.send_control(conn, encode_credit(open.handle, STREAM_WINDOW));
        let StreamOpen { id, action, kind, metadata, size, .. } = open;
        self.emit(Event::StreamStarted { stream, peer, id, action, kind, metadata, size });
    }

    /// Stream `stream`, cut off with its connection, is opened anew as `handle` on `conn`: the
    /// sender learns how much we hold and may send, and goes on from there.
    fn resume_incoming(&mut self, stream: IncomingStreamId, conn: ConnId, handle: u32) {
        let Some(s) = self.streams_in.get_mut(&stream) else { return };
        s.conn = conn;
        s.handle = handle;
        s.parked = None;
        // An adopted stream answers once its staged bytes are hashed (`stream_rehash`).
        if s.rehash_left == 0 {
            self.answer_reopen(stream);
        }
    }

    /// Tells the sender of stream `stream`, opened anew, how much we hold and may take.
    pub(super) fn answer_reopen(&mut self, stream: IncomingStreamId) {
        let Some(s) = self.streams_in.get(&stream) else { return };
        let (conn, handle, received, granted) = (s.conn, s.handle, s.received, s.granted);
        self.send_control(conn, encode_resume(handle, received));
        self.send_control(conn, encode_credit(handle, granted));
    }

    /// The stream named `handle` the peer of `conn` sends us (a waiting stream's connection is
    /// gone, and connection ids are never reused).
    fn incoming_on(&self, conn: ConnId, handle: u32) -> Option<IncomingStreamId> {
        self.streams_in.iter().find(|(_, s)| s.conn == conn && s.handle == handle).map(|(&id, _)| id)
    }

    /// Bytes `data` at `offset` of the stream `handle` the peer of `conn` sends us.
    pub(super) fn on_stream_data(&mut self, conn: ConnId, handle: u32, offset: u64, data: P) {
        let Some(stream) = self.incoming_on(conn, handle) else { return };
        let Some(s) = self.streams_in.get_mut(&stream) else { return };
        let end = offset.saturating_add(data.len());
        let broken = if offset != s.received || data.is_empty() {
            Some(format!("it sent bytes at {offset} where {} were expected", s.received))
        } else if end > s.granted {
            Some(format!("it sent past the {} bytes it was granted", s.granted))
        } else {
            s.size.filter(|&size| end > size).map(|size| format!("it sent more than the {size} bytes announced"))
        };
        if let Some(reason) = broken {
            return self.refuse_incoming(stream, reason);
        }
        s.received = end;
        s.digest.update(&data, &mut self.scratch);
        self.emit(Event::StreamData { stream, data });
    }

    /// The peer of `conn` ended its stream `handle` at `size` bytes whose SHA-256 is `digest`.
    pub(super) fn on_stream_end(&mut self, conn: ConnId, handle: u32, size: u64, digest: [u8; DIGEST_LEN]) {
        let Some(stream) = self.incoming_on(conn, handle) else { return };
        let Some(s) = self.streams_in.get(&stream) else { return };
        if size != s.received || s.size.is_some_and(|announced| announced != size) {
            let reason = format!("it ended the stream at {size} bytes, {} of them received", s.received);
            return self.refuse_incoming(stream, reason);
        }
        let Some(s) = self.streams_in.remove(&stream) else { return };
        let verified = s.digest.finish() == digest;
        let reason = if verified { CloseReason::Verified } else { CloseReason::Integrity };
        self.send_control(conn, encode_closed(handle, reason));
        if verified {
            self.remember_finished(s.peer.clone(), s.id, CloseReason::Verified);
        }
        let result = if verified { Ok(size) } else { Err(StreamError::Integrity { peer: s.peer }) };
        self.emit(Event::StreamEnded { stream, result });
    }

    /// The peer of `conn` gave its stream `handle` up.
    pub(super) fn on_stream_abort(&mut self, conn: ConnId, handle: u32) {
        let Some(stream) = self.incoming_on(conn, handle) else { return };
        let Some(s) = self.streams_in.remove(&stream) else { return };
        self.emit(Event::StreamEnded { stream, result: Err(StreamError::Aborted { peer: s.peer }) });
    }

    /// Fails incoming stream `stream`, whose sender broke the protocol, and tells the sender.
    fn refuse_incoming(&mut self, stream: IncomingStreamId, reason: String) {
        let Some(s) = self.streams_in.remove(&stream) else { return };
        self.warn_about(s.conn, format!("dropped a stream: {reason}"));
        self.send_control(s.conn, encode_closed(s.handle, CloseReason::Refused));
        self.emit(Event::StreamEnded { stream, result: Err(StreamError::Refused { peer: s.peer, reason }) });
    }
}
