//! A room whose key is still being derived (a browser derives it with WebCrypto, off the main
//! thread): meanwhile it connects to its relays and makes its first offers, holds the signaling
//! relays deliver, and seals nothing. Once [`Room::key_derived`] hands the key in, the held
//! signaling is read in arrival order and the announcements that waited go out.

use super::Room;
use crate::crypto::RoomKey;
use crate::payload::Payload;
use crate::signaling::SignalEvent;
use crate::time::Instant;

/// Most relay messages held while the key is derived; later ones are dropped (their senders
/// announce again), so a flooding relay cannot grow memory meanwhile.
pub const MAX_HELD_SIGNALS: usize = 256;

impl<P: Payload> Room<P> {
    /// The room key, derived: held signaling is read and waiting announcements go out. A second
    /// key, or one that comes after the room left, is ignored.
    pub fn key_derived(&mut self, now: Instant, key: RoomKey) {
        self.now = now;
        if self.key.is_some() || self.left {
            return;
        }
        self.key = Some(key);
        for event in std::mem::take(&mut self.held_signals) {
            self.on_signal(event);
        }
        self.finish_round_if_complete();
        self.announce_if_due();
    }

    /// How many relay messages wait for the key.
    pub fn held_signals(&self) -> usize {
        self.held_signals.len()
    }

    /// Holds `event` until the key is derived (dropped beyond [`MAX_HELD_SIGNALS`]).
    pub(super) fn hold_signal(&mut self, event: SignalEvent) {
        if self.held_signals.len() < MAX_HELD_SIGNALS {
            self.held_signals.push(event);
        }
    }
}
