//! Picking an incoming stream up after the receiver's page reloads: the app staged the bytes it
//! read (e.g. in OPFS) and kept the stream's ticket ([`StreamTicket`]); the new page, under a new
//! peer id, adopts the stream with both and claims it from the sender, which hands it over and
//! goes on from the staged offset.
//!
//! Rules: an incoming stream the app stages ([`Room::stage_incoming_stream`]) is not ended for
//! its sender when we leave (a reload leaves), so the sender waits [`RESUME_WAIT`] for it as for
//! a dropped connection. [`Room::adopt_stream`] takes a ticket and the number of bytes staged
//! and, once the sender is joined, sends it a claim naming the stream's id; meanwhile the app
//! hands the staged bytes back ([`Room::stream_rehash`]), which rebuilds the SHA-256 through the
//! scratch buffer. The sender hands a stream it still has with that id (waiting, or still going
//! to its old receiver, which is told it was aborted) to the claimant and opens it anew there,
//! which ends its wait; once every staged byte is hashed, the claimant answers with a resume
//! frame at the staged offset and the stream goes on as a resumed one (see `stream_resume`), so
//! rehashing a large file takes as long as it needs (a sender waits up to its 10 min
//! [`MAX_ACK_WAIT`](super::outbox::MAX_ACK_WAIT) for the answer to a reopen). A sender that has no such stream answers
//! "gone" and the adopted stream fails with `gone`; one that does not come within
//! [`RESUME_WAIT`] of the adoption fails it with `left`. An adopted stream counts toward its
//! sender's [`MAX_INCOMING_STREAMS`]. Whoever holds the ticket may claim the stream: it is a
//! capability.

use super::error::{RoomError, StreamError};
use super::stream_resume::RESUME_WAIT;
use super::streams_in::{IncomingStream, MAX_INCOMING_STREAMS};
use super::streams_out::STREAM_WINDOW;
use super::{ConnId, Event, IncomingStreamId, Room};
use crate::payload::Payload;
use crate::stream_frame::{encode_abort, encode_claim, encode_gone, STREAM_ID_LEN};
use crate::stream_ticket::StreamTicket;
use crate::time::Instant;

/// The connection of an adopted stream its sender has not taken up yet (connection ids count up
/// from 0 and never reach it).
pub(super) const NO_CONNECTION: ConnId = ConnId(u64::MAX);

impl<P: Payload> Room<P> {
    /// The app stages incoming stream `stream` to pick it up after a reload: leaving the room
    /// does not end it for its sender, which waits [`RESUME_WAIT`] for a claim.
    pub fn stage_incoming_stream(&mut self, now: Instant, stream: IncomingStreamId) {
        self.now = now;
        if let Some(s) = self.streams_in.get_mut(&stream) {
            s.staged = true;
        }
    }

    /// Adopts the stream `ticket` names, of which the app staged the first `staged` bytes: hand
    /// them back with [`Room::stream_rehash`]; the rest follows in [`Event::StreamData`] once the
    /// sender takes the claim.
    pub fn adopt_stream(
        &mut self,
        now: Instant,
        ticket: &StreamTicket,
        staged: u64,
    ) -> Result<IncomingStreamId, RoomError> {
        self.now = now;
        if self.left {
            return Err(RoomError::Closed);
        }
        let invalid = |reason: String| Err(RoomError::Invalid(reason));
        if let Some(size) = ticket.size.filter(|&size| staged > size) {
            return invalid(format!("{staged} bytes are staged of a stream of {size}"));
        }
        if ticket.peer == self.config.self_id {
            return invalid("the ticket names this page as the stream's sender".to_owned());
        }
        let from_peer: Vec<&IncomingStream> = self.streams_in.values().filter(|s| s.peer == ticket.peer).collect();
        if from_peer.iter().any(|s| s.id == ticket.id) {
            return invalid("the stream is being received already".to_owned());
        }
        if from_peer.len() >= MAX_INCOMING_STREAMS {
            return invalid(format!("at most {MAX_INCOMING_STREAMS} streams from one peer at once"));
        }
        let stream = IncomingStreamId(self.next_incoming_stream);
        self.next_incoming_stream += 1;
        let mut s = IncomingStream::new(NO_CONNECTION, ticket.peer.clone(), ticket.id, 0, ticket.size);
        s.received = staged;
        s.consumed = staged;
        s.granted = staged.saturating_add(STREAM_WINDOW);
        s.parked = Some(now);
        s.staged = true;
        s.rehash_left = staged;
        self.streams_in.insert(stream, s);
        self.note_deadline(now + RESUME_WAIT);
        self.claim(stream);
        Ok(stream)
    }

    /// The next staged bytes of adopted stream `stream`, in order, to rebuild its SHA-256.
    pub fn stream_rehash(&mut self, now: Instant, stream: IncomingStreamId, bytes: &P) -> Result<(), RoomError> {
        self.now = now;
        let Some(s) = self.streams_in.get_mut(&stream).filter(|s| s.rehash_left > 0) else {
            return Err(RoomError::Invalid("the stream awaits no staged bytes".to_owned()));
        };
        if bytes.len() > s.rehash_left {
            return Err(RoomError::Invalid(format!("{} bytes more than were staged", bytes.len() - s.rehash_left)));
        }
        s.digest.update(bytes, &mut self.scratch);
        s.rehash_left -= bytes.len();
        if s.rehash_left == 0 && s.conn != NO_CONNECTION && s.parked.is_none() {
            // The sender opened it anew meanwhile and waits for this answer.
            self.answer_reopen(stream);
        }
        Ok(())
    }

    /// The peer of `conn` joined: the adopted streams it sent are claimed from it.
    pub(super) fn claim_streams(&mut self, conn: ConnId) {
        let Some(peer) = self.conns.get(&conn).and_then(|c| c.remote.as_deref()) else { return };
        let adopted: Vec<IncomingStreamId> = self
            .streams_in
            .iter()
            .filter(|(_, s)| s.conn == NO_CONNECTION && s.peer == peer)
            .map(|(&id, _)| id)
            .collect();
        for stream in adopted {
            self.claim(stream);
        }
    }

    /// Claims adopted stream `stream` from its sender, once the sender is joined.
    fn claim(&mut self, stream: IncomingStreamId) {
        let Some(s) = self.streams_in.get(&stream).filter(|s| s.conn == NO_CONNECTION) else { return };
        if let Some(conn) = self.open_conn(&s.peer) {
            let frame = encode_claim(&s.id);
            self.send_control(conn, frame);
        }
    }

    /// The peer of `conn` claims our stream with `id`: its page reloaded under a new peer id.
    pub(super) fn on_stream_claim(&mut self, conn: ConnId, id: [u8; STREAM_ID_LEN]) {
        let Some(peer) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else { return };
        let found = self.streams_out.iter_mut().find(|(_, s)| s.description.id == id);
        let Some((&stream, s)) = found.filter(|(_, s)| s.seekable || s.peer == peer) else {
            return self.send_control(conn, encode_gone(&id));
        };
        if s.peer == peer {
            // Its own stream, which it resumes when the peer joins.
            return;
        }
        let old = s.parked.is_none().then_some((s.conn, s.handle));
        s.framed_before = s.framed_before.max(s.framed);
        s.peer = peer;
        if let Some((old_conn, handle)) = old {
            self.send_control(old_conn, encode_abort(handle));
        }
        self.reopen_stream(stream, conn);
        self.queue_for_sending(conn);
    }

    /// The peer of `conn` no longer has the stream with `id` that we adopted.
    pub(super) fn on_stream_gone(&mut self, conn: ConnId, id: [u8; STREAM_ID_LEN]) {
        let Some(peer) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else { return };
        let adopted = |s: &IncomingStream| s.conn == NO_CONNECTION && s.peer == peer && s.id == id;
        let Some(stream) = self.streams_in.iter().find(|(_, s)| adopted(s)).map(|(&i, _)| i) else { return };
        self.streams_in.remove(&stream);
        self.emit(Event::StreamEnded { stream, result: Err(StreamError::Gone { peer }) });
    }
}
