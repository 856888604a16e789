//! Noticing peers that vanish without a goodbye (a crashed tab, a dropped network).
//!
//! Every [`HEARTBEAT_INTERVAL`] each open connection is sent a ping; any frame from the peer
//! counts as a sign of life. A peer silent for [`SILENCE_LIMIT`] at a heartbeat is dropped and
//! reported as left, so a vanished peer leaves within `SILENCE_LIMIT + HEARTBEAT_INTERVAL` (20 s).

use super::pings::HEARTBEAT_NONCE;
use super::{ConnId, Room, SILENCE_LIMIT};
use crate::frame::encode_ping;
use crate::payload::Payload;

impl<P: Payload> Room<P> {
    pub(super) fn heartbeat(&mut self) {
        let now = self.now;
        let (gone, alive): (Vec<(ConnId, bool)>, _) = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_open())
            .map(|(&id, c)| (id, now - c.last_heard >= SILENCE_LIMIT))
            .partition(|&(_, silent)| silent);
        for (conn, _) in alive {
            self.send_control(conn, encode_ping(HEARTBEAT_NONCE));
        }
        for (conn, _) in gone {
            let peer = self.conns.get(&conn).and_then(|c| c.remote.clone()).unwrap_or_default();
            self.warn(format!("peer {peer} stopped responding"));
            self.drop_peer(conn);
        }
    }
}
