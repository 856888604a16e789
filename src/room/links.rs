//! Rooms over shared connections: a room reaches a peer over a link the page already has with it
//! (see `crate::hub`), without signaling.
//!
//! Rules: a room bound over a link first sends its proof that it holds the room key (sealed and
//! stamped, bound to sender and recipient, marked passive or not); the connection opens, and
//! admission starts, once the peer's proof opens; a proof that does not open drops the connection
//! with a join error, and one seen before is ignored; a connection over a link is never replaced
//! by signaling, and replaces one still being set up.

use super::connection::Role;
use super::{ConnId, Room};
use crate::frame::{encode_link_proof, read_header, Header};
use crate::payload::Payload;
use crate::signaling::link_context;
use crate::time::Instant;

impl<P: Payload> Room<P> {
    /// Reaches `peer` over a link the page shares with other rooms: a connection that needs no
    /// signaling and opens once the peer proves it holds the room key. `max_message_size` is the
    /// link's SCTP limit less its room tag. If the room already has a connection to `peer`, one
    /// being set up is replaced; an open one (or one over a link) is kept and none is made,
    /// unless `forced` (the peer leads and already bound its side), which replaces it too. None
    /// while the room key is being derived.
    pub fn bind_link(
        &mut self,
        now: Instant,
        peer: &str,
        forced: bool,
        max_message_size: Option<f64>,
    ) -> Option<ConnId> {
        self.now = now;
        if !self.accepts_signal_from(peer) || self.key.is_none() {
            return None;
        }
        if let Some(&existing) = self.by_peer.get(peer) {
            let settled =
                self.conns.get(&existing).is_some_and(|c| c.is_open() || matches!(c.role, Role::Linked { .. }));
            if settled && !forced {
                return None;
            }
            self.forget_heard(peer);
            self.drop_peer(existing);
        }
        let proof = self.seal_stamped(&self.mark(""), &link_context(&self.config.self_id, peer))?;
        let conn = self.new_conn(Role::Linked { max_message_size })?;
        self.assign(conn, peer, false);
        self.send_control(conn, encode_link_proof(&proof));
        Some(conn)
    }

    /// Whether the peer of connection `conn` is in the room (open, and admitted both ways).
    pub fn is_joined(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.is_joined())
    }

    /// The peer of connection `conn`, once known.
    pub fn peer_of(&self, conn: ConnId) -> Option<&str> {
        self.conns.get(&conn)?.remote.as_deref()
    }

    /// A frame on `conn` before it opened: only a link proof is read (on a connection over a link).
    pub(super) fn on_unopened_link_frame(&mut self, conn: ConnId, frame: &P) {
        let linked = self.conns.get(&conn).is_some_and(|c| matches!(c.role, Role::Linked { .. }));
        let Ok((Header::LinkProof, offset)) = read_header(frame) else { return };
        if !linked {
            return;
        }
        if let Some(text) = self.read_text(conn, frame, offset) {
            self.on_link_proof(conn, &text);
        }
    }

    fn on_link_proof(&mut self, conn: ConnId, proof: &str) {
        let Some(remote) = self.conns.get(&conn).and_then(|c| c.remote.clone()) else { return };
        let marked = match self.open_stamped(proof, &link_context(&remote, &self.config.self_id)) {
            Ok(marked) => marked,
            Err(e) => {
                self.remove_conn(conn);
                return self.join_error(&remote, format!("cannot open its link proof: {e}"));
            }
        };
        if !self.replays.first_sighting(proof, self.now) {
            return;
        }
        let Some((_, passive)) = self.read_mark(&marked) else {
            self.remove_conn(conn);
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.remote_passive = passive;
        let Role::Linked { max_message_size } = c.role else { return };
        self.on_connection_opened(conn, max_message_size);
    }
}
