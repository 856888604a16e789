//! Admission: a peer whose data channel opened joins the room only once each side admitted the
//! other, so an app's handshake can vet a peer before it sees or sends anything else.
//!
//! Rules: each side sends a ready frame once it admits the peer (at once, or when the app's
//! handshake passes); the peer joins when both sides did; until then only handshake data and
//! control frames pass, and other data is refused; a peer not admitted within the handshake
//! timeout, or refused by the app's handshake, is dropped and reported as a join error.

use super::connection::Phase;
use super::io::Event;
use super::outbox::Owner;
use super::{ConnId, Room, RoomError, SendId, SendRequest};
use crate::frame::{encode_ready, Purpose};
use crate::payload::Payload;
use std::time::Duration;

/// Default time from an open data channel to admission.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Action name of handshake transfers.
const HANDSHAKE_ACTION: &str = "handshake";

/// How peers are admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// At once.
    Immediate,
    /// Once the app's handshake passes ([`Room::handshake_done`]); [`Event::HandshakeStarted`]
    /// starts it.
    Handshake,
}

impl<P: Payload> Room<P> {
    /// The data channel of `conn` opened: admission starts.
    pub(super) fn start_admission(&mut self, conn: ConnId, remote: String) {
        match self.config.admission {
            Admission::Immediate => self.admit(conn),
            Admission::Handshake => {
                let initiator = self.config.self_id < remote;
                self.emit(Event::HandshakeStarted { peer: remote, initiator });
            }
        }
    }

    /// Sends handshake data to `peer`, which is being admitted; its [`Event::SendDone`] tells
    /// when the peer confirmed it.
    pub fn handshake_send(
        &mut self,
        now: crate::time::Instant,
        peer: &str,
        mut data: SendRequest<P>,
    ) -> Result<SendId, RoomError> {
        self.now = now;
        let conn = self.admitting_conn(peer).ok_or_else(|| RoomError::NotConnected { peer: peer.to_owned() })?;
        data.action = HANDSHAKE_ACTION.to_owned();
        self.check_send(&data)?;
        self.start_send(data, vec![(peer.to_owned(), conn)], Purpose::Handshake, Owner::App)
    }

    /// The app's handshake with `peer` passed (`Ok`) or failed with a message: the peer is
    /// admitted, or dropped and reported. Nothing happens if the peer is no longer being admitted.
    pub fn handshake_done(&mut self, now: crate::time::Instant, peer: &str, result: Result<(), String>) {
        self.now = now;
        let Some(conn) = self.admitting_conn(peer) else { return };
        match result {
            Ok(()) => self.admit(conn),
            Err(message) => {
                self.remove_conn(conn);
                let error =
                    if message.starts_with("handshake ") { message } else { format!("handshake failed: {message}") };
                self.join_error(peer, error);
            }
        }
    }

    /// The connection to `peer` if the peer is being admitted.
    fn admitting_conn(&self, peer: &str) -> Option<ConnId> {
        self.by_peer.get(peer).copied().filter(|id| self.conns.get(id).is_some_and(|c| c.is_admitting()))
    }

    /// We admit the peer of `conn`.
    fn admit(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Phase::Admitting { admitted_by_us, .. } = &mut c.phase else { return };
        *admitted_by_us = true;
        self.send_control(conn, encode_ready());
        self.join_if_admitted(conn);
    }

    /// The peer of `conn` admitted us.
    pub(super) fn on_ready(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Phase::Admitting { admitted_us, .. } = &mut c.phase else { return };
        *admitted_us = true;
        self.join_if_admitted(conn);
    }

    fn join_if_admitted(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if c.phase != (Phase::Admitting { admitted_by_us: true, admitted_us: true }) {
            return;
        }
        c.phase = Phase::Joined;
        c.deadline = None;
        let peer = c.remote.clone().unwrap_or_default();
        if self.config.admission == Admission::Handshake {
            self.emit(Event::HandshakeEnded { peer: peer.clone() });
        }
        self.emit(Event::PeerJoined { peer });
    }
}
