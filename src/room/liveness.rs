//! Noticing peers that vanish without a goodbye (a crashed tab, a dropped network).
//!
//! Every [`HEARTBEAT_INTERVAL`] each open connection from which nothing arrived for that long is
//! sent a ping; any frame from the peer counts as a sign of life (so of two live peers, the one
//! that pings keeps the other from needing to). A peer silent for [`SILENCE_LIMIT`] at a
//! heartbeat is dropped and reported as left, so a vanished peer leaves within
//! `SILENCE_LIMIT + HEARTBEAT_INTERVAL` (20 s), while a live one answers every ping within one
//! interval and is never silent that long.

use super::pings::HEARTBEAT_NONCE;
use super::{ConnId, Room, HEARTBEAT_INTERVAL, SILENCE_LIMIT};
use crate::frame::encode_ping;
use crate::payload::Payload;
use std::time::Duration;

impl<P: Payload> Room<P> {
    pub(super) fn heartbeat(&mut self) {
        let now = self.now;
        let silent: Vec<(ConnId, Duration)> =
            self.conns.iter().filter(|(_, c)| c.is_open()).map(|(&id, c)| (id, now - c.last_heard)).collect();
        for &(conn, silence) in &silent {
            if (HEARTBEAT_INTERVAL..SILENCE_LIMIT).contains(&silence) {
                self.send_control(conn, encode_ping(HEARTBEAT_NONCE));
            }
        }
        for (conn, _) in silent.into_iter().filter(|&(_, silence)| silence >= SILENCE_LIMIT) {
            let peer = self.conns.get(&conn).and_then(|c| c.remote.clone()).unwrap_or_default();
            self.warn(format!("peer {peer} stopped responding"));
            self.drop_peer(conn);
        }
    }
}
