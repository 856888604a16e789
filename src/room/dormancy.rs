//! Passive peers: a passive peer (a backup or relay peer, say) stays dormant — listening, not
//! announcing itself — until it hears a peer that is not passive; its signaling is marked
//! passive, and passive peers ignore each other's, so they never connect to each other.
//!
//! Rules: a passive room is awake while a non-passive peer is joined or was heard within
//! [`STAY_AWAKE`]; waking up announces at once; a dormant room announces on trackers only to be
//! offered connections (no offers of its own) and not at all where peers announce presence.

use super::Room;
use crate::payload::Payload;
use crate::signaling::{mark_passive, split_passive};
use std::time::Duration;

/// How long a passive room stays awake after it last heard a non-passive peer.
pub const STAY_AWAKE: Duration = Duration::from_secs(60);

impl<P: Payload> Room<P> {
    /// Whether the room was joined as passive.
    pub fn is_passive(&self) -> bool {
        self.config.passive
    }

    /// Whether the room is passive and nothing woke it.
    pub(super) fn is_dormant(&self) -> bool {
        if !self.config.passive {
            return false;
        }
        let heard = self.active_heard.is_some_and(|at| self.now - at < STAY_AWAKE);
        !heard && !self.conns.values().any(|c| c.is_joined() && !c.remote_passive)
    }

    /// Signaling `body` with our mark.
    pub(super) fn mark(&self, body: &str) -> String {
        mark_passive(body, self.config.passive)
    }

    /// The body of signaling that carried `marked`, and whether its sender is passive; `None`
    /// when both sides are passive (it is ignored). A non-passive sender wakes a dormant room.
    pub(super) fn read_mark<'a>(&mut self, marked: &'a str) -> Option<(&'a str, bool)> {
        let (passive, body) = split_passive(marked);
        if passive && self.config.passive {
            return None;
        }
        if self.config.passive && !passive {
            let was_dormant = self.is_dormant();
            self.active_heard = Some(self.now);
            if was_dormant {
                self.announce_now();
            }
        }
        Some((body, passive))
    }
}
