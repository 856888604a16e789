//! Noticing peers that vanish without a goodbye (a crashed tab, a dropped network).
//!
//! Every [`INTERVAL_MS`] each open connection is sent a ping; any frame from the peer counts as
//! a sign of life. A peer silent for [`SILENT_TICKS`] ticks in a row is dropped and reported by
//! `onPeerLeave`, so a vanished peer leaves within `INTERVAL_MS * (SILENT_TICKS + 1)` = 20 s.

use super::{call, WeakRoom};
use crate::frame::encode_ping;
use crate::web::console::warn;
use js_sys::Uint8Array;

/// Period of heartbeat ticks.
pub const INTERVAL_MS: u32 = 5_000;
/// Silent ticks after which a peer is considered gone.
pub const SILENT_TICKS: u32 = 3;
/// Nonce of heartbeat pings; their pongs match no pending `ping()` and only count as life.
const HEARTBEAT_NONCE: u32 = u32::MAX;

pub(crate) fn tick(weak: &WeakRoom) {
    let Some(room) = weak.upgrade() else { return };
    let mut state = room.borrow_mut();
    let ping = Uint8Array::from(&encode_ping(HEARTBEAT_NONCE)[..]);
    let mut gone = Vec::new();
    for (&key, conn) in state.conns.iter_mut().filter(|(_, c)| c.open) {
        conn.silent_ticks = if conn.heard { 0 } else { conn.silent_ticks + 1 };
        conn.heard = false;
        if conn.silent_ticks >= SILENT_TICKS {
            gone.push(key);
        } else {
            let _ = conn.peer.send(&ping);
        }
    }
    let left: Vec<String> =
        gone.into_iter().filter_map(|key| state.remove_conn(key)).map(|(peer_id, _)| peer_id).collect();
    let callback = state.on_peer_leave.clone();
    drop(state);
    for peer_id in left {
        warn(&format!("peer {peer_id} stopped responding"));
        call(callback.clone(), &[peer_id.into()]);
    }
}
