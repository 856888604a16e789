//! Sending payloads: chunking into frames within the peer's message limit, backpressure on the
//! data channel's buffer, round-robin between a connection's transfers, and each transfer's
//! verdict (ack, reject, timeout, the peer leaving).
//!
//! Rules: a frame goes out only while the channel holds at most [`HIGH_WATER`] bytes with it; the
//! receiver must ack a transfer within [`ACK_TIMEOUT`] of its last chunk leaving (while the
//! channel still holds data, the wait goes on, up to [`MAX_ACK_WAIT`] from the hand-over), or the
//! transfer fails and the receiver is told to drop it (an abort frame); a reject stops a transfer
//! at once; a send settles when every target settled, with the first failure.

use super::error::SendError;
use super::requests::RequestId;
use super::RoomError;
use super::{ConnId, Event, OutFrame, Output, Room, SendId, SendRequest, ACK_TIMEOUT, HIGH_WATER};
use crate::collections::Map;
use crate::frame::{encode_abort, encode_chunk_header, encode_data_header, DataHeader, Purpose, TransferStart};
use crate::payload::Payload;
use crate::time::Instant;
use std::collections::VecDeque;
use std::time::Duration;

/// Longest wait for an ack after a transfer's last chunk was handed to the channel, however slowly
/// the channel drains.
pub const MAX_ACK_WAIT: Duration = Duration::from_secs(600);

/// A transfer with chunks still to send.
struct Outgoing<P> {
    transfer: u32,
    send: SendId,
    /// The first chunk's header (it carries the transfer's description), until it is sent.
    first_header: Option<Vec<u8>>,
    /// `None` for a transfer of no bytes made by the room itself (a refusal).
    payload: Option<P>,
    offset: u64,
    seq: u32,
    progress: bool,
}

/// A transfer waiting for its verdict.
struct Unsettled {
    send: SendId,
    /// When its last chunk was handed to the channel.
    handed_over: Option<Instant>,
    /// When to give up waiting for the ack (once handed over).
    deadline: Option<Instant>,
}

/// One connection's outgoing transfers.
pub(super) struct Outbox<P> {
    queue: VecDeque<Outgoing<P>>,
    unsettled: Map<u32, Unsettled>,
    next_transfer: u32,
    /// Whether the connection is in the room's round of connections with chunks to send.
    in_turn: bool,
}

impl<P> Default for Outbox<P> {
    fn default() -> Self {
        Self { queue: VecDeque::new(), unsettled: Map::default(), next_transfer: 0, in_turn: false }
    }
}

impl<P> Outbox<P> {
    pub fn next_deadline(&self) -> Option<Instant> {
        self.unsettled.values().filter_map(|u| u.deadline).min()
    }

    pub fn has_chunks(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Puts the connection in the round of connections with frames to send: whether it was not.
    pub fn take_turn(&mut self) -> bool {
        !std::mem::replace(&mut self.in_turn, true)
    }

    /// Transfers of no bytes (refusals) waiting to be sent.
    pub fn queued_without_payload(&self) -> usize {
        self.queue.iter().filter(|o| o.payload.is_none()).count()
    }
}

/// Who waits for a send's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    /// The app, told by [`Event::SendDone`].
    App,
    /// Our request, whose reply timeout starts once it is delivered.
    Request(RequestId),
    /// Nobody: a reply or refusal to a peer's request.
    Room,
}

struct SendState {
    targets: usize,
    remaining: usize,
    error: Option<SendError>,
    owner: Owner,
}

/// A send whose every target settled: `Ok` with the number of targets, or the first failure.
pub(super) struct Settled {
    send: SendId,
    owner: Owner,
    result: Result<usize, SendError>,
}

/// Every send in flight.
#[derive(Default)]
pub(super) struct Sends {
    next: u64,
    active: Map<SendId, SendState>,
}

impl Sends {
    /// One target of send `id` settled.
    fn settle(&mut self, id: SendId, result: Result<(), SendError>) -> Option<Settled> {
        let state = self.active.get_mut(&id)?;
        if let Err(e) = result {
            state.error.get_or_insert(e);
        }
        state.remaining -= 1;
        if state.remaining > 0 {
            return None;
        }
        let result = state.error.take().map_or(Ok(state.targets), Err);
        let owner = state.owner;
        self.active.remove(&id);
        Some(Settled { send: id, owner, result })
    }

    /// Fails every transfer of `outbox` (whose connection to `peer` closed).
    pub fn fail_conn<P>(&mut self, outbox: &Outbox<P>, peer: &str) -> Vec<Settled> {
        let unsettled = outbox.unsettled.values();
        unsettled.filter_map(|u| self.settle(u.send, Err(SendError::Left { peer: peer.to_owned() }))).collect()
    }

    /// Fails every send with `error`.
    pub fn fail_all(&mut self, error: SendError) -> Vec<Settled> {
        let drained = self.active.drain();
        drained.map(|(send, state)| Settled { send, owner: state.owner, result: Err(error.clone()) }).collect()
    }
}

impl<P: Payload> Room<P> {
    /// Queues `request`'s payload, for `purpose`, to every target; refuses a description that
    /// cannot be encoded.
    pub(super) fn start_send(
        &mut self,
        request: SendRequest<P>,
        targets: Vec<(String, ConnId)>,
        purpose: Purpose,
        owner: Owner,
    ) -> Result<SendId, RoomError> {
        let start = TransferStart {
            action: request.action,
            total: request.payload.len(),
            kind: request.kind,
            metadata: request.metadata,
            purpose,
        };
        self.queue_transfer(start, Some(request.payload), request.progress, targets, owner)
    }

    /// Queues a transfer described by `start` to every target.
    pub(super) fn queue_transfer(
        &mut self,
        start: TransferStart,
        payload: Option<P>,
        progress: bool,
        targets: Vec<(String, ConnId)>,
        owner: Owner,
    ) -> Result<SendId, RoomError> {
        let first = |transfer| encode_data_header(&DataHeader { transfer, seq: 0, start: Some(start.clone()) });
        first(0).map_err(|e| RoomError::Invalid(e.to_string()))?;
        let id = SendId(self.sends.next);
        self.sends.next += 1;
        if targets.is_empty() {
            self.settled(Settled { send: id, owner, result: Ok(0) });
            return Ok(id);
        }
        let state = SendState { targets: targets.len(), remaining: targets.len(), error: None, owner };
        self.sends.active.insert(id, state);
        for (_, conn) in targets {
            self.queue_for_sending(conn);
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            let transfer = c.outbox.next_transfer;
            c.outbox.next_transfer = transfer.wrapping_add(1);
            c.outbox.unsettled.insert(transfer, Unsettled { send: id, handed_over: None, deadline: None });
            c.outbox.queue.push_back(Outgoing {
                transfer,
                send: id,
                first_header: first(transfer).ok(),
                payload: payload.clone(),
                offset: 0,
                seq: 0,
                progress,
            });
        }
        Ok(id)
    }

    /// Puts `conn` in the round of connections with frames to send.
    pub(super) fn queue_for_sending(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.outbox.take_turn() {
            self.sending.push_back(conn);
        }
    }

    /// Tells whoever waits for it that a send settled.
    pub(super) fn settled(&mut self, settled: Settled) {
        let Settled { send, owner, result } = settled;
        match owner {
            Owner::App => self.emit(Event::SendDone { send, result }),
            Owner::Request(request) => self.request_delivered(request, result),
            Owner::Room => {}
        }
    }

    /// Settles every send in `all`.
    pub(super) fn settle_all(&mut self, all: Vec<Settled>) {
        for settled in all {
            self.settled(settled);
        }
    }

    /// Gives send `send` up: its unsent chunks are dropped, its receivers told to drop what they
    /// hold, and it fails with [`SendError::Aborted`].
    pub(super) fn abort_send(&mut self, send: SendId) {
        let mut aborted = Vec::new();
        for (&conn, c) in self.conns.iter_mut() {
            c.outbox.queue.retain(|o| o.send != send);
            c.outbox.unsettled.retain(|&transfer, u| {
                if u.send == send {
                    aborted.push((conn, transfer));
                }
                u.send != send
            });
        }
        for (conn, transfer) in aborted {
            self.send_control(conn, encode_abort(transfer));
        }
        if let Some(state) = self.sends.active.remove(&send) {
            self.settled(Settled { send, owner: state.owner, result: Err(SendError::Aborted) });
        }
    }

    /// The next data frame for a channel with room in its buffer, taking connections in turn.
    pub(super) fn next_chunk(&mut self) -> Option<Output<P>> {
        for _ in 0..self.sending.len() {
            let conn = self.sending.pop_front()?;
            let streaming = self.has_stream_frame(conn);
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            let transferring = c.outbox.has_chunks();
            if !transferring && !streaming {
                c.outbox.in_turn = false;
                continue;
            }
            self.sending.push_back(conn);
            if c.buffered + c.frame_len <= HIGH_WATER {
                // Transfers and streams take turns.
                let stream_next = streaming && !(transferring && c.last_was_stream);
                c.last_was_stream = stream_next;
                return if stream_next { self.stream_frame_for(conn) } else { self.chunk_for(conn) };
            }
        }
        None
    }

    /// The next chunk of `conn`'s next transfer.
    fn chunk_for(&mut self, conn: ConnId) -> Option<Output<P>> {
        let now = self.now;
        let c = self.conns.get_mut(&conn)?;
        let mut out = c.outbox.queue.pop_front()?;
        let header = out.first_header.take().unwrap_or_else(|| encode_chunk_header(out.transfer, out.seq));
        let total = out.payload.as_ref().map_or(0, P::len);
        let room = c.frame_len.saturating_sub(header.len() as u64).max(1);
        let end = total.min(out.offset + room);
        let body = out.payload.as_ref().filter(|_| end > out.offset).map(|p| p.slice(out.offset..end));
        let frame = OutFrame { header, body };
        c.buffered += frame.len();
        c.last_sent = now;
        out.offset = end;
        out.seq = out.seq.wrapping_add(1);
        let progress = out.progress.then_some((out.send, end, total));
        let mut ack_deadline = None;
        if end >= total {
            if let Some(unsettled) = c.outbox.unsettled.get_mut(&out.transfer) {
                ack_deadline = Some(now + ACK_TIMEOUT);
                unsettled.handed_over = Some(now);
                unsettled.deadline = ack_deadline;
            }
        } else {
            c.outbox.queue.push_back(out);
        }
        if let Some((send, sent, total)) = progress {
            let peer = c.remote.clone().unwrap_or_default();
            match self.sends.active.get(&send).map(|s| s.owner) {
                Some(Owner::Request(request)) => self.emit(Event::RequestProgress { request, peer, sent, total }),
                _ => self.emit(Event::SendProgress { send, peer, sent, total }),
            }
        }
        if let Some(at) = ack_deadline {
            self.note_deadline(at);
        }
        Some(Output::SendFrame { conn, frame })
    }

    /// The peer acked (`delivered`) or rejected our `transfer`.
    pub(super) fn on_verdict(&mut self, conn: ConnId, transfer: u32, delivered: bool) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Some(unsettled) = c.outbox.unsettled.remove(&transfer) else { return };
        c.outbox.queue.retain(|o| o.transfer != transfer);
        let peer = c.remote.clone().unwrap_or_default();
        let result = if delivered { Ok(()) } else { Err(SendError::Refused { peer }) };
        if let Some(settled) = self.sends.settle(unsettled.send, result) {
            self.settled(settled);
        }
    }

    /// Fails transfers whose ack is overdue, telling their receivers to drop them. While the
    /// channel still holds data, the last chunks may not have left: the wait goes on.
    pub(super) fn overdue_acks(&mut self) {
        let now = self.now;
        let mut overdue = Vec::new();
        let mut next_check = None;
        for (&conn, c) in self.conns.iter_mut() {
            let draining = c.buffered > 0;
            let peer = c.remote.clone().unwrap_or_default();
            c.outbox.unsettled.retain(|&transfer, u| {
                let (Some(deadline), Some(handed_over)) = (u.deadline, u.handed_over) else { return true };
                if deadline > now {
                    return true;
                }
                let limit = handed_over + MAX_ACK_WAIT;
                if draining && now < limit {
                    let later = (now + ACK_TIMEOUT).min(limit);
                    u.deadline = Some(later);
                    next_check = Some(next_check.map_or(later, |at: Instant| at.min(later)));
                    return true;
                }
                overdue.push((conn, transfer, u.send, peer.clone()));
                false
            });
        }
        if let Some(at) = next_check {
            self.note_deadline(at);
        }
        for (conn, transfer, send, peer) in overdue {
            self.send_control(conn, encode_abort(transfer));
            if let Some(settled) = self.sends.settle(send, Err(SendError::Timeout { peer })) {
                self.settled(settled);
            }
        }
    }
}
