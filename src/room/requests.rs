//! Requests to one peer and their replies.
//!
//! Rules: a request's reply timeout, if it has one, starts once the peer confirmed holding the
//! whole request; a reply is taken only from the peer asked, once; a request fails at once when
//! its peer leaves or we leave; a peer's request to an action the app does not serve yet is held
//! for up to [`REQUEST_HOLD`] (at most [`MAX_HELD_REQUESTS`] at once) and served when the app
//! starts serving the action, else refused with "request handler unavailable"; a peer that
//! leaves withdraws the requests it made.

use super::error::RequestError;
use super::outbox::Owner;
use super::{ConnId, Event, Room, RoomError, SendId, SendRequest};
use crate::collections::{Map, Set};
use crate::frame::{PayloadKind, Purpose, TransferStart};
use crate::payload::Payload;
use crate::time::Instant;
use std::collections::VecDeque;
use std::time::Duration;

/// How long a request to an action nobody serves yet waits for the app to serve it.
pub const REQUEST_HOLD: Duration = Duration::from_secs(5);
/// Requests held for the app at most; more are refused at once.
pub const MAX_HELD_REQUESTS: usize = 64;
/// Longest refusal message sent, in bytes; longer ones are cut.
const MAX_REFUSAL_LEN: usize = 1024;
/// Refusals waiting to go to one peer at most.
const MAX_QUEUED_REFUSALS: usize = 64;
/// What a held request that nobody served is refused with.
const UNSERVED: &str = "request handler unavailable";

/// One of our requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A peer's request to us, to answer with [`Room::reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IncomingId(pub u64);

/// A whole payload as it arrived: its parts in order (views of the received frames).
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<P> {
    pub kind: PayloadKind,
    pub metadata: Option<String>,
    pub parts: Vec<P>,
    pub total: u64,
}

struct Outgoing {
    conn: ConnId,
    peer: String,
    /// The id the peer's reply names.
    wire: u32,
    /// The send carrying the request, until the peer confirmed it.
    send: Option<SendId>,
    timeout: Option<Duration>,
    deadline: Option<Instant>,
}

struct Incoming {
    conn: ConnId,
    wire: u32,
    action: String,
    /// Whether the app was handed it (so it must be told if the peer withdraws it).
    served: bool,
}

struct Held<P> {
    id: IncomingId,
    peer: String,
    until: Instant,
    delivery: Delivery<P>,
}

/// Every request in flight, both ways.
pub(super) struct Requests<P> {
    next_out: u64,
    next_wire: u32,
    next_in: u64,
    outgoing: Map<RequestId, Outgoing>,
    incoming: Map<IncomingId, Incoming>,
    /// Requests waiting for the app to serve their action, oldest first.
    held: VecDeque<Held<P>>,
    /// Actions whose requests the app serves.
    serving: Set<String>,
}

impl<P> Default for Requests<P> {
    fn default() -> Self {
        Self {
            next_out: 0,
            next_wire: 0,
            next_in: 0,
            outgoing: Map::default(),
            incoming: Map::default(),
            held: VecDeque::new(),
            serving: Set::default(),
        }
    }
}

impl<P> Requests<P> {
    pub fn next_deadline(&self) -> Option<Instant> {
        let replies = self.outgoing.values().filter_map(|o| o.deadline).min();
        replies.into_iter().chain(self.held.front().map(|h| h.until)).min()
    }
}

impl<P: Payload> Room<P> {
    /// Sends `request` to its one target; its [`Event::RequestDone`] tells the reply or why
    /// there is none. `timeout` counts from the peer confirming it holds the whole request.
    pub fn request(
        &mut self,
        now: Instant,
        request: SendRequest<P>,
        timeout: Option<Duration>,
    ) -> Result<RequestId, RoomError> {
        self.now = now;
        self.check_send(&request)?;
        let target = match request.targets.as_deref() {
            Some([peer]) => peer.clone(),
            _ => return Err(RoomError::Invalid("a request has exactly one target".to_owned())),
        };
        let targets = self.targets(Some(std::slice::from_ref(&target)))?;
        let conn = targets[0].1;
        let id = RequestId(self.requests.next_out);
        self.requests.next_out += 1;
        let wire = self.requests.next_wire;
        self.requests.next_wire = wire.wrapping_add(1);
        let outgoing = Outgoing { conn, peer: target, wire, send: None, timeout, deadline: None };
        self.requests.outgoing.insert(id, outgoing);
        match self.start_send(request, targets, Purpose::Request(wire), Owner::Request(id)) {
            Ok(send) => {
                if let Some(o) = self.requests.outgoing.get_mut(&id) {
                    o.send = Some(send);
                }
                Ok(id)
            }
            Err(e) => {
                self.requests.outgoing.remove(&id);
                Err(e)
            }
        }
    }

    /// Gives request `id` up: it fails with [`RequestError::Aborted`] and a reply is ignored.
    pub fn abort_request(&mut self, now: Instant, id: RequestId) {
        self.now = now;
        let Some(outgoing) = self.requests.outgoing.get(&id) else { return };
        match outgoing.send {
            Some(send) => self.abort_send(send),
            None => self.finish_request(id, Err(RequestError::Aborted)),
        }
    }

    /// Gives up send `id`, unsettled: it fails with [`crate::room::SendError::Aborted`].
    pub fn abort(&mut self, now: Instant, id: SendId) {
        self.now = now;
        self.abort_send(id);
    }

    /// Answers a peer's request: `Ok` with the reply's kind and payload, or `Err` with why it was
    /// refused. Nothing happens if the peer left meanwhile.
    pub fn reply(&mut self, now: Instant, id: IncomingId, reply: Result<(PayloadKind, P), String>) {
        self.now = now;
        let Some(incoming) = self.requests.incoming.remove(&id) else { return };
        let Some(peer) = self.conns.get(&incoming.conn).filter(|c| c.is_joined()).and_then(|c| c.remote.clone()) else {
            return;
        };
        let target = vec![(peer, incoming.conn)];
        let sent = match reply {
            Ok((kind, payload)) => {
                let reply = SendRequest {
                    action: incoming.action,
                    kind,
                    payload,
                    metadata: None,
                    targets: None,
                    progress: false,
                };
                self.start_send(reply, target, Purpose::Reply(incoming.wire), Owner::Room).map(drop)
            }
            Err(message) => self.refuse(incoming.action, incoming.wire, &message, target),
        };
        if let Err(e) = sent {
            self.warn(format!("cannot send the reply to a request: {e}"));
        }
    }

    /// Starts (`true`) or stops serving requests to `action`; starting hands the app the requests
    /// held for it.
    pub fn serve(&mut self, now: Instant, action: &str, serving: bool) {
        self.now = now;
        if !serving {
            self.requests.serving.remove(action);
            return;
        }
        self.requests.serving.insert(action.to_owned());
        let (ready, waiting) = std::mem::take(&mut self.requests.held)
            .into_iter()
            .partition(|h| self.requests.incoming.get(&h.id).is_some_and(|i| i.action == action));
        self.requests.held = waiting;
        let ready: VecDeque<Held<P>> = ready;
        for held in ready {
            self.hand_request(held.id, held.peer, held.delivery);
        }
    }

    /// Peer `peer` on `conn` sent request `wire` to `action`.
    pub(super) fn on_request(&mut self, conn: ConnId, peer: String, action: String, wire: u32, delivery: Delivery<P>) {
        let id = IncomingId(self.requests.next_in);
        self.requests.next_in += 1;
        let serving = self.requests.serving.contains(&action);
        if !serving && self.requests.held.len() >= MAX_HELD_REQUESTS {
            if let Err(e) = self.refuse(action, wire, UNSERVED, vec![(peer, conn)]) {
                self.warn(format!("cannot refuse a request: {e}"));
            }
            return;
        }
        self.requests.incoming.insert(id, Incoming { conn, wire, action, served: false });
        if serving {
            self.hand_request(id, peer, delivery);
        } else {
            let until = self.now + REQUEST_HOLD;
            self.requests.held.push_back(Held { id, peer, until, delivery });
        }
    }

    fn hand_request(&mut self, id: IncomingId, peer: String, delivery: Delivery<P>) {
        let Some(incoming) = self.requests.incoming.get_mut(&id) else { return };
        incoming.served = true;
        let action = incoming.action.clone();
        self.emit(Event::RequestReceived { request: id, peer, action, delivery });
    }

    /// Peer on `conn` answered our request `wire`: a reply, or a refusal with its message.
    pub(super) fn on_reply(&mut self, conn: ConnId, wire: u32, reply: Result<Delivery<P>, String>) {
        let found = self.requests.outgoing.iter().find(|(_, o)| o.conn == conn && o.wire == wire);
        let Some((&id, outgoing)) = found else { return };
        let peer = outgoing.peer.clone();
        self.finish_request(id, reply.map_err(|message| RequestError::Rejected { peer, message }));
    }

    /// The send carrying request `id` settled.
    pub(super) fn request_delivered(&mut self, id: RequestId, result: Result<usize, crate::room::SendError>) {
        let now = self.now;
        let Some(outgoing) = self.requests.outgoing.get_mut(&id) else { return };
        outgoing.send = None;
        match result {
            Ok(_) => outgoing.deadline = outgoing.timeout.map(|t| now + t),
            Err(e) => self.finish_request(id, Err(e.into())),
        }
    }

    fn finish_request(&mut self, id: RequestId, result: Result<Delivery<P>, RequestError>) {
        if self.requests.outgoing.remove(&id).is_some() {
            self.emit(Event::RequestDone { request: id, result });
        }
    }

    /// Fails requests whose reply is overdue, and refuses held requests nobody served in time.
    pub(super) fn request_timeouts(&mut self) {
        let now = self.now;
        let late: Vec<(RequestId, String)> = self
            .requests
            .outgoing
            .iter()
            .filter(|(_, o)| o.deadline.is_some_and(|at| at <= now))
            .map(|(&id, o)| (id, o.peer.clone()))
            .collect();
        for (id, peer) in late {
            self.finish_request(id, Err(RequestError::Timeout { peer }));
        }
        while self.requests.held.front().is_some_and(|h| h.until <= now) {
            let Some(held) = self.requests.held.pop_front() else { break };
            let Some(incoming) = self.requests.incoming.remove(&held.id) else { continue };
            if let Err(e) = self.refuse(incoming.action, incoming.wire, UNSERVED, vec![(held.peer, incoming.conn)]) {
                self.warn(format!("cannot refuse a request: {e}"));
            }
        }
    }

    /// Connection `conn` to `peer` closed: our requests to it fail, and its requests are withdrawn.
    pub(super) fn fail_requests_on(&mut self, conn: ConnId, peer: &str) {
        let ours: Vec<RequestId> =
            self.requests.outgoing.iter().filter(|(_, o)| o.conn == conn).map(|(&id, _)| id).collect();
        for id in ours {
            self.finish_request(id, Err(RequestError::Left { peer: peer.to_owned() }));
        }
        let theirs: Vec<(IncomingId, bool)> =
            self.requests.incoming.iter().filter(|(_, i)| i.conn == conn).map(|(&id, i)| (id, i.served)).collect();
        for (id, served) in theirs {
            self.requests.incoming.remove(&id);
            if served {
                self.emit(Event::RequestWithdrawn { request: id });
            }
        }
        self.requests.held.retain(|h| h.peer != peer);
    }

    /// We left: every request fails, and the peers' requests are dropped (withdrawn from the app).
    pub(super) fn fail_all_requests(&mut self) {
        let ours: Vec<RequestId> = self.requests.outgoing.keys().copied().collect();
        for id in ours {
            self.finish_request(id, Err(RequestError::Closed));
        }
        let theirs: Vec<(IncomingId, Incoming)> = self.requests.incoming.drain().collect();
        for (request, incoming) in theirs {
            if incoming.served {
                self.emit(Event::RequestWithdrawn { request });
            }
        }
        self.requests.held.clear();
    }

    /// Refuses request `wire` to `action` with `message` (cut to [`MAX_REFUSAL_LEN`] bytes).
    /// A refusal is dropped instead while [`MAX_QUEUED_REFUSALS`] wait to go to the peer, so a
    /// peer that floods requests and reads nothing cannot grow our queue.
    fn refuse(
        &mut self,
        action: String,
        wire: u32,
        message: &str,
        target: Vec<(String, ConnId)>,
    ) -> Result<(), RoomError> {
        let conn = target.first().and_then(|(_, conn)| self.conns.get(conn));
        if conn.map_or(0, |c| c.outbox.queued_without_payload()) >= MAX_QUEUED_REFUSALS {
            return Ok(());
        }
        let mut end = message.len().min(MAX_REFUSAL_LEN);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let metadata = serde_json::to_string(&message[..end]).ok();
        let start =
            TransferStart { action, total: 0, kind: PayloadKind::Text, metadata, purpose: Purpose::Refusal(wire) };
        self.queue_transfer(start, None, false, target, Owner::Room).map(drop)
    }
}
