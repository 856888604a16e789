//! `ping`: a round-trip probe over the data channel, failed at once if the peer leaves.

use super::error::PingError;
use super::{ConnId, Event, Output, PingId, Room, PING_TIMEOUT};
use crate::collections::Map;
use crate::frame::encode_ping;
use crate::payload::Payload;
use crate::time::Instant;
use std::collections::VecDeque;

/// Nonce of heartbeat pings; their pongs match no pending ping and only count as signs of life.
pub(super) const HEARTBEAT_NONCE: u32 = u32::MAX;

struct Pending {
    conn: ConnId,
    nonce: u32,
    peer: String,
    sent: Instant,
}

/// Pings awaiting their pong.
#[derive(Default)]
pub(super) struct Pings {
    next: u64,
    pending: Map<PingId, Pending>,
}

impl Pings {
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.sent + PING_TIMEOUT).min()
    }

    fn finish<P>(
        &mut self,
        id: PingId,
        result: Result<std::time::Duration, PingError>,
        outputs: &mut VecDeque<Output<P>>,
    ) {
        self.pending.remove(&id);
        outputs.push_back(Output::Event(Event::PingDone { ping: id, result }));
    }

    /// Fails the pings to `peer` over `conn`, which closed.
    pub fn fail_conn<P>(&mut self, conn: ConnId, peer: &str, outputs: &mut VecDeque<Output<P>>) {
        let ids: Vec<PingId> = self.pending.iter().filter(|(_, p)| p.conn == conn).map(|(&id, _)| id).collect();
        for id in ids {
            self.finish(id, Err(PingError::Left { peer: peer.to_owned() }), outputs);
        }
    }

    /// Fails every ping with `error`.
    pub fn fail_all<P>(&mut self, error: PingError, outputs: &mut VecDeque<Output<P>>) {
        let ids: Vec<PingId> = self.pending.keys().copied().collect();
        for id in ids {
            self.finish(id, Err(error.clone()), outputs);
        }
    }
}

impl<P: Payload> Room<P> {
    pub(super) fn start_ping(&mut self, conn: ConnId, peer: &str) -> PingId {
        let id = PingId(self.pings.next);
        self.pings.next += 1;
        // Keyed by connection too, so only the pinged peer can answer; never the heartbeat's nonce.
        let nonce = (id.0 % u64::from(HEARTBEAT_NONCE)) as u32;
        self.pings.pending.insert(id, Pending { conn, nonce, peer: peer.to_owned(), sent: self.now });
        self.send_control(conn, encode_ping(nonce));
        id
    }

    pub(super) fn on_pong(&mut self, conn: ConnId, nonce: u32) {
        let found =
            self.pings.pending.iter().find(|(_, p)| p.conn == conn && p.nonce == nonce).map(|(&id, p)| (id, p.sent));
        if let Some((id, sent)) = found {
            let rtt = self.now - sent;
            self.pings.finish(id, Ok(rtt), &mut self.outputs);
        }
    }

    pub(super) fn ping_timeouts(&mut self) {
        let now = self.now;
        let late: Vec<(PingId, String)> = self
            .pings
            .pending
            .iter()
            .filter(|(_, p)| p.sent + PING_TIMEOUT <= now)
            .map(|(&id, p)| (id, p.peer.clone()))
            .collect();
        for (id, peer) in late {
            self.pings.finish(id, Err(PingError::Timeout { peer }), &mut self.outputs);
        }
    }
}
