//! Resuming streams cut off with their connection: when a connection drops mid-stream and the peer
//! comes back on a new one, the stream goes on from the bytes the receiver holds, not from zero.
//!
//! Rules: when a connection goes away, a stream to its peer whose source can be read again from
//! any offset, and every stream from its peer, wait up to [`RESUME_WAIT`] (the app sees nothing
//! meanwhile; a one-way source fails the stream at once, with `left`); when the peer joins again,
//! the sender opens the stream anew with the same id and sends nothing until the receiver answers:
//! with a resume frame (it holds the first `offset` bytes; the sender restores its digest from the
//! latest state at or before that offset, reads the bytes between again only to hash them, and
//! sends from the offset), with credit alone (it does not know the stream: everything goes again),
//! or with "verified" or "cancelled" (it ended the stream before the connection dropped, or its app
//! cancelled it meanwhile); a resume offset beyond what was sent fails the stream; the sender keeps its
//! digest's state at each of the last [`MAX_DIGEST_STATES`] reads, which covers every offset the
//! receiver can hold (the window plus the read-ahead back from what was framed), and the state
//! at zero; a receiver remembers the streams it ended for [`RESUME_WAIT`] (at most
//! [`MAX_FINISHED_STREAMS`]); a stream still waiting after [`RESUME_WAIT`] fails with `left`; a
//! peer that leaves the room tells its peers, whose streams with it end at once.

use super::error::StreamError;
use super::streams_in::IncomingStream;
use super::streams_out::OutgoingStream;
use super::{ConnId, Event, IncomingStreamId, Room, StreamId};
use crate::digest::PayloadDigest;
use crate::payload::Payload;
use crate::stream_frame::{encode_open, CloseReason, STREAM_ID_LEN};
use crate::time::Instant;
use std::time::Duration;

/// How long a stream cut off with its connection waits for its peer to come back.
pub const RESUME_WAIT: Duration = Duration::from_secs(60);
/// States of a sender's digest kept for resuming (one per read).
pub const MAX_DIGEST_STATES: usize = 16;
/// Streams a receiver remembers having finished, for a sender that lost the verdict.
pub const MAX_FINISHED_STREAMS: usize = 64;

/// A stream we received lately, for a sender that lost our verdict with its connection.
pub(super) struct FinishedStream {
    peer: String,
    id: [u8; STREAM_ID_LEN],
    /// Verified, or cancelled by the app.
    reason: CloseReason,
    at: Instant,
}

impl<P: Payload> OutgoingStream<P> {
    /// Keeps the digest's state at the offset about to be read.
    pub(super) fn snapshot(&mut self) {
        if self.snapshots.back().is_some_and(|&(at, _)| at == self.read) {
            return;
        }
        if self.snapshots.len() == MAX_DIGEST_STATES {
            self.snapshots.pop_front();
        }
        self.snapshots.push_back((self.read, self.digest.clone()));
    }

    /// Goes on from `offset`, which the receiver holds: the digest from the latest state at or
    /// before it, the bytes up to `offset` read again only to be hashed.
    pub(super) fn restart_at(&mut self, offset: u64) {
        let (at, digest) = self
            .snapshots
            .iter()
            .rev()
            .find(|&&(at, _)| at <= offset)
            .map_or((0, PayloadDigest::default()), |(at, digest)| (*at, digest.clone()));
        // States past the one taken are of bytes read again now: they are kept anew.
        self.snapshots.retain(|&(kept, _)| kept <= at);
        self.digest = digest;
        self.read = at;
        self.skip_until = offset;
        self.framed = offset;
        self.pending.clear();
        self.pending_len = 0;
        self.exhausted = false;
        self.ended = None;
        self.stale_read = self.reading;
    }
}

impl<P: Payload> Room<P> {
    /// The connection `conn` to `peer` went away: its streams wait for the peer to come back,
    /// but those whose source cannot be read again fail.
    pub(super) fn park_streams_on(&mut self, conn: ConnId, peer: &str) {
        let now = self.now;
        let mut failed = Vec::new();
        for (&stream, s) in self.streams_out.iter_mut().filter(|(_, s)| s.conn == conn && s.parked.is_none()) {
            if !s.seekable {
                failed.push(stream);
                continue;
            }
            s.parked = Some(now);
            s.framed_before = s.framed_before.max(s.framed);
            s.deadline = Some(now + RESUME_WAIT);
            s.pending.clear();
            s.pending_len = 0;
        }
        for stream in failed {
            self.streams_out.remove(&stream);
            self.emit(Event::StreamSent { stream, result: Err(StreamError::Left { peer: peer.to_owned() }) });
        }
        for (_, s) in self.streams_in.iter_mut().filter(|(_, s)| s.conn == conn) {
            s.parked.get_or_insert(now);
        }
        self.note_deadline(now + RESUME_WAIT);
    }

    /// The peer of `conn` joined: the streams to it that were cut off are opened anew.
    pub(super) fn resume_streams(&mut self, conn: ConnId) {
        let Some(peer) = self.conns.get(&conn).and_then(|c| c.remote.as_deref()) else { return };
        let parked: Vec<StreamId> =
            self.streams_out.iter().filter(|(_, s)| s.parked.is_some() && s.peer == peer).map(|(&id, _)| id).collect();
        for &stream in &parked {
            self.reopen_stream(stream, conn);
        }
        if !parked.is_empty() {
            self.queue_for_sending(conn);
        }
    }

    /// Opens stream `stream` anew on `conn`; nothing more goes out until the receiver answers.
    pub(super) fn reopen_stream(&mut self, stream: StreamId, conn: ConnId) {
        let handle = self.next_stream_handle;
        let Some(s) = self.streams_out.get_mut(&stream) else { return };
        s.description.handle = handle;
        let Ok(open) = encode_open(&s.description) else { return };
        self.next_stream_handle = handle.wrapping_add(1);
        s.conn = conn;
        s.handle = handle;
        s.open = Some(open);
        s.parked = None;
        s.reopened = true;
        s.deadline = None;
        s.pending.clear();
        s.pending_len = 0;
    }

    /// The receiver of our stream `handle` on `conn` holds its first `offset` bytes.
    pub(super) fn on_stream_resume(&mut self, conn: ConnId, handle: u32, offset: u64) {
        let Some(stream) = self.outgoing_on(conn, handle) else { return };
        let Some(s) = self.streams_out.get_mut(&stream) else { return };
        if !s.reopened {
            return;
        }
        if offset > s.framed_before {
            let (peer, framed) = (s.peer.clone(), s.framed_before);
            let reason = format!("it claims {offset} bytes of a stream we sent {framed} of");
            return self.end_stream_refused(stream, peer, reason);
        }
        s.reopened = false;
        s.opened = None;
        s.deadline = None;
        // The credit frame that follows is the receiver's anew (a page that picked the stream
        // up grants from what it staged, which may be below what the old page was granted).
        s.credit = offset;
        s.restart_at(offset);
        self.read_streams();
    }

    /// A stream from `peer` with `id` on a connection other than `conn` (waiting for it, or on a
    /// connection whose loss we have not noticed yet), if any.
    pub(super) fn earlier_incoming(
        &self,
        peer: &str,
        id: &[u8; STREAM_ID_LEN],
        conn: ConnId,
    ) -> Option<IncomingStreamId> {
        let earlier = |s: &&IncomingStream| s.peer == peer && &s.id == id && s.conn != conn;
        self.streams_in.iter().find(|(_, s)| earlier(s)).map(|(&i, _)| i)
    }

    /// How we ended a stream from `peer` with `id` lately (verified or cancelled), if we did.
    pub(super) fn finished_lately(&self, peer: &str, id: &[u8; STREAM_ID_LEN]) -> Option<CloseReason> {
        self.finished_streams.iter().find(|f| f.peer == peer && &f.id == id).map(|f| f.reason)
    }

    /// Remembers that we ended the stream from `peer` with `id`, for `reason`.
    pub(super) fn remember_finished(&mut self, peer: String, id: [u8; STREAM_ID_LEN], reason: CloseReason) {
        if self.finished_streams.len() == MAX_FINISHED_STREAMS {
            self.finished_streams.pop_front();
        }
        self.finished_streams.push_back(FinishedStream { peer, id, reason, at: self.now });
    }

    /// Fails the streams whose peer did not come back within [`RESUME_WAIT`], and forgets old
    /// finished streams.
    pub(super) fn expire_waiting_streams(&mut self) {
        let now = self.now;
        let expired = |since: Option<Instant>| since.is_some_and(|at| now.since(at) >= RESUME_WAIT);
        let outgoing: Vec<(StreamId, String)> =
            self.streams_out.iter().filter(|(_, s)| expired(s.parked)).map(|(&id, s)| (id, s.peer.clone())).collect();
        for (stream, peer) in outgoing {
            self.streams_out.remove(&stream);
            self.emit(Event::StreamSent { stream, result: Err(StreamError::Left { peer }) });
        }
        let incoming: Vec<(IncomingStreamId, String)> =
            self.streams_in.iter().filter(|(_, s)| expired(s.parked)).map(|(&id, s)| (id, s.peer.clone())).collect();
        for (stream, peer) in incoming {
            self.streams_in.remove(&stream);
            self.emit(Event::StreamEnded { stream, result: Err(StreamError::Left { peer }) });
        }
        self.finished_streams.retain(|f| now.since(f.at) < RESUME_WAIT);
    }

    /// When the earliest waiting stream expires.
    pub(super) fn waiting_stream_deadline(&self) -> Option<Instant> {
        let outgoing = self.streams_out.values().filter_map(|s| s.parked);
        let incoming = self.streams_in.values().filter_map(|s| s.parked);
        outgoing.chain(incoming).min().map(|at| at + RESUME_WAIT)
    }
}
