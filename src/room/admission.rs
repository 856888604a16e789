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
use crate::time::Instant;
use std::time::Duration;

/// Default time from an open data channel to admission.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Action name of handshake transfers.
const HANDSHAKE_ACTION: &str = "handshake";
/// Largest handshake payload, either way; larger ones are refused.
pub const MAX_HANDSHAKE_DATA: u64 = 64 * 1024;

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
                self.emit(Event::HandshakeStarted { peer: remote, conn, initiator });
            }
        }
    }

    /// Sends handshake data over `conn`, whose peer is being admitted (the handshake that
    /// [`Event::HandshakeStarted`] started); its [`Event::SendDone`] tells when the peer
    /// confirmed it.
    pub fn handshake_send(
        &mut self,
        now: Instant,
        conn: ConnId,
        mut data: SendRequest<P>,
    ) -> Result<SendId, RoomError> {
        self.now = now;
        let peer = self.admitting_peer(conn).ok_or(RoomError::NotConnected { peer: String::new() })?;
        data.action = HANDSHAKE_ACTION.to_owned();
        self.check_send(&data)?;
        if data.payload.len() > MAX_HANDSHAKE_DATA {
            return Err(RoomError::Invalid(format!("handshake data is limited to {MAX_HANDSHAKE_DATA} bytes")));
        }
        self.start_send(data, vec![(peer, conn)], Purpose::Handshake, Owner::App)
    }

    /// The app's handshake over `conn` passed (`Ok`) or failed with a message: its peer is
    /// admitted, or dropped and reported. Nothing happens if that connection is no longer being
    /// admitted (a handshake that outlived its connection cannot decide for a newer one).
    pub fn handshake_done(&mut self, now: Instant, conn: ConnId, result: Result<(), String>) {
        self.now = now;
        let Some(peer) = self.admitting_peer(conn) else { return };
        match result {
            Ok(()) => self.admit(conn),
            Err(message) => {
                self.remove_conn(conn);
                let error =
                    if message.starts_with("handshake ") { message } else { format!("handshake failed: {message}") };
                self.join_error(&peer, error);
            }
        }
    }

    /// The peer of `conn` if it is being admitted.
    fn admitting_peer(&self, conn: ConnId) -> Option<String> {
        self.conns.get(&conn).filter(|c| c.is_admitting()).and_then(|c| c.remote.clone())
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
            self.emit(Event::HandshakeEnded { peer: peer.clone(), conn });
        }
        self.emit(Event::PeerJoined { peer });
        self.introduce(conn);
        self.resume_streams(conn);
        self.claim_streams(conn);
        self.reschedule();
        self.capacity_freed = true;
    }
}
