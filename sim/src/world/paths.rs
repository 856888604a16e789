//! Network paths between simulated peers: a test cuts the path of a connection (a network
//! change), the browsers notice it [`DISCONNECT_NOTICE`] later, and an ICE restart finds a new
//! path, over which SCTP delivers what was sent meanwhile.

use super::{Action, PeerIndex, World};
use rendez_core::payload::SharedBytes;
use rendez_core::room::{ConnId, Connectivity, Input};
use std::time::Duration;

/// How long after its path is cut a connection reports `disconnected` (about what Chromium takes).
pub const DISCONNECT_NOTICE: Duration = Duration::from_secs(5);
/// How long after a restart's answer is applied the new path carries packets.
const RECONNECT: Duration = Duration::from_millis(50);

/// The path state of one simulated connection.
#[derive(Debug, Default)]
pub(super) struct Path {
    /// The path is cut: frames wait in `held` (as SCTP holds them) until a restart finds a new one.
    pub down: bool,
    pub held: Vec<SharedBytes>,
    /// ICE restart offers made so far; the latest one's credentials are the local ones.
    pub restarts: u32,
}

/// `sdp` of the ICE restart numbered `restart` (its credentials).
pub(super) fn with_restart(sdp: &str, restart: u32) -> String {
    format!("{sdp} ice={restart}")
}

/// The number of the ICE restart an SDP belongs to, if any.
pub(super) fn restart_of(sdp: &str) -> Option<u32> {
    sdp.rsplit_once(" ice=")?.1.parse().ok()
}

impl World {
    /// Cuts the path of the open connection between `p` and `q`, both ways.
    pub fn cut_path(&mut self, p: PeerIndex, q: PeerIndex) {
        let Some((pc, qc)) = self.open_pair(p, q) else { return };
        for (peer, conn) in [(p, pc), (q, qc)] {
            if let Some(sim_pc) = self.peers[peer].pcs.get_mut(&conn) {
                sim_pc.path.down = true;
            }
            let input = Input::Connectivity { conn, state: Connectivity::Disconnected };
            self.schedule(DISCONNECT_NOTICE, Action::Input(peer, input));
        }
    }

    /// The cut path between `p` and `q` comes back by itself (a brief outage), with no restart.
    pub fn restore_path(&mut self, p: PeerIndex, q: PeerIndex) {
        if let Some((pc, _)) = self.open_pair(p, q) {
            self.path_up(p, pc);
        }
    }

    /// Whether an ICE restart finds a new path (true unless a test says the network stays down).
    pub fn set_paths_heal(&mut self, heal: bool) {
        self.paths_heal = heal;
    }

    /// `p`'s connection `conn` applied the answer to its ICE restart numbered `restart`: unless
    /// it answers an older offer than the latest (the credentials differ: a browser's ICE would
    /// fail), if its path is cut and paths heal, a new one carries packets shortly.
    pub(super) fn restart_answered(&mut self, p: PeerIndex, conn: ConnId, restart: u32) {
        let Some(pc) = self.peers[p].pcs.get(&conn) else { return };
        if restart != pc.path.restarts {
            let latest = pc.path.restarts;
            self.violations
                .push(format!("peer {p}: applied the answer to ICE restart {restart} over restart {latest}"));
            return;
        }
        if pc.path.down && self.paths_heal {
            self.schedule(RECONNECT, Action::PathUp(p, conn));
        }
    }

    /// A new path joins `p`'s connection `conn` and its remote: held frames go out, in order, and
    /// both ends report the transport connected.
    pub(super) fn path_up(&mut self, p: PeerIndex, conn: ConnId) {
        let Some(remote) = self.peers[p].pcs.get(&conn).and_then(|pc| pc.remote) else { return };
        let latency = self.latency;
        for ((from, from_conn), (to, to_conn)) in [((p, conn), remote), (remote, (p, conn))] {
            let Some(pc) = self.peers[from].pcs.get_mut(&from_conn) else { continue };
            pc.path.down = false;
            for frame in std::mem::take(&mut pc.path.held) {
                self.schedule(latency, Action::Input(to, Input::Frame { conn: to_conn, frame }));
            }
            let input = Input::Connectivity { conn: from_conn, state: Connectivity::Connected };
            self.schedule(Duration::ZERO, Action::Input(from, input));
        }
    }

    /// The connections of `p` and `q` to each other, if open at both ends.
    fn open_pair(&self, p: PeerIndex, q: PeerIndex) -> Option<(ConnId, ConnId)> {
        let pcs = &self.peers[p].pcs.0;
        let (index, pc) = pcs.iter().enumerate().rev().find_map(|(i, pc)| {
            pc.as_ref().filter(|pc| pc.open && pc.remote.is_some_and(|(rp, _)| rp == q)).map(|pc| (i, pc))
        })?;
        let (_, qc) = pc.remote?;
        Some((ConnId(index as u64), qc))
    }
}
