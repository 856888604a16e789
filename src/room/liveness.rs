//! Noticing peers that vanish without a goodbye (a crashed tab, a dropped network).
//!
//! Every [`HEARTBEAT_INTERVAL`] each open connection we handed nothing for that long is sent a
//! ping, so every live peer hears from us at least every two intervals, whatever we receive; any
//! frame from the peer, or an ICE restart signal over the relays (see `recovery`), counts as a
//! sign of life. A peer silent for [`SILENCE_LIMIT`] at a heartbeat is dropped and reported as
//! left, so a vanished peer leaves within `SILENCE_LIMIT + HEARTBEAT_INTERVAL` (20 s). Pinging on what we send rather than on what we
//! hear keeps a receiver speaking while a slow transfer fills our send buffer: its pings travel
//! the empty direction, where our pongs would wait behind megabytes of data.

use super::pings::HEARTBEAT_NONCE;
use super::{ConnId, Room, HEARTBEAT_INTERVAL, SILENCE_LIMIT};
use crate::frame::encode_ping;
use crate::payload::Payload;
use std::time::Duration;

impl<P: Payload> Room<P> {
    pub(super) fn heartbeat(&mut self) {
        let now = self.now;
        let open: Vec<(ConnId, Duration, Duration)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_open())
            .map(|(&id, c)| (id, now - c.last_heard, now - c.last_sent))
            .collect();
        for &(conn, silence, quiet) in &open {
            if silence < SILENCE_LIMIT && quiet >= HEARTBEAT_INTERVAL {
                self.send_control(conn, encode_ping(HEARTBEAT_NONCE));
            }
        }
        for (conn, _, _) in open.into_iter().filter(|&(_, silence, _)| silence >= SILENCE_LIMIT) {
            let peer = self.conns.get(&conn).and_then(|c| c.remote.clone()).unwrap_or_default();
            self.warn(format!("peer {peer} stopped responding"));
            self.drop_peer(conn);
        }
    }
}
