//! When to announce: briskly while the room looks for peers, rarely once it is settled, and then
//! by one peer only, so a settled room costs public relays almost nothing.
//!
//! Rules: the room is looking while it has no peer, or while a tracker counts more peers in the
//! room's swarm than we have; while looking, rounds follow [`BRISK_FIRST`] apart, doubling up to
//! the settled period, and start over whenever the room starts looking again; once settled only
//! the keeper announces (the non-passive peer with the smallest id among us and our peers: the
//! one newcomers reach, to be introduced to everyone else), at the tracker's `interval` (trackers
//! forget peers that miss it: aquatic_ws after 180 s) or, without one, every [`SETTLED_INTERVAL`];
//! a relay that becomes ready again is announced to only by a looking room or the keeper; a peer that becomes keeper (the keeper left) or starts looking
//! announces at once; no relay gets announcements more often than its `min interval`; offers go
//! to trackers only while looking, one per peer still missing (up to the pool size), none while
//! the swarm holds only us. A passive room looks only while it has no peer (passive peers never
//! meet each other, so the swarm's size says nothing to it).

use super::Room;
use crate::payload::Payload;
use std::time::Duration;

/// The first gap between rounds while the room looks for peers; each next gap doubles.
pub const BRISK_FIRST: Duration = Duration::from_secs(2);
/// The keeper's period between rounds once the room is settled, on relays that ask for none.
pub const SETTLED_INTERVAL: Duration = Duration::from_secs(5 * 60);

impl<P: Payload> Room<P> {
    /// How many peers have joined us.
    pub(super) fn joined_count(&self) -> usize {
        self.conns.values().filter(|c| c.is_joined()).count()
    }

    /// Whether the room is still looking for peers.
    pub(super) fn is_looking(&self) -> bool {
        let joined = self.joined_count() as u64;
        joined == 0 || (!self.config.passive && self.relays.swarm_size().is_some_and(|size| size > joined + 1))
    }

    /// Whether we keep the settled room findable: we are not passive and no peer of ours that
    /// is not passive has a smaller id.
    pub(super) fn is_keeper(&self) -> bool {
        let self_id = self.config.self_id.as_str();
        !self.config.passive
            && self
                .conns
                .values()
                .filter(|c| c.is_joined() && !c.remote_passive)
                .all(|c| c.remote.as_deref().is_none_or(|remote| self_id < remote))
    }

    /// Offers a tracker round should carry: while looking, one per peer the swarm holds that we
    /// neither have nor are connecting to (all `size` when the swarm's size is unknown).
    pub(super) fn pool_size(&self, size: usize) -> usize {
        if !self.is_looking() {
            return 0;
        }
        let known = self.by_peer.len() as u64;
        match self.relays.swarm_size() {
            Some(swarm) => swarm.saturating_sub(known + 1).min(size as u64) as usize,
            None => size,
        }
    }

    /// Sets when the next round goes from the room's state; called whenever it may have changed
    /// (peers joined or left, a relay reported its swarm).
    pub(super) fn reschedule(&mut self) {
        let looking = self.is_looking();
        if looking && !self.announcer.looking {
            self.announcer.brisk_rounds = 0;
        }
        self.announcer.looking = looking;
        let settled = self.relays.shortest_interval().unwrap_or(SETTLED_INTERVAL);
        let delay = if looking {
            Some(BRISK_FIRST.saturating_mul(1 << self.announcer.brisk_rounds.min(16)).min(settled))
        } else if self.is_keeper() {
            Some(settled)
        } else {
            None
        };
        self.announcer.next_round = delay.map(|delay| self.announcer.last_round + delay);
        self.keep_warm_offer();
    }
}
