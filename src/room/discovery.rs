//! Finding peers: announcing on ready relays, and reacting to presence, offers and answers.
//!
//! Rules: a round of announcements goes out when the cadence (see `cadence`) says and when a relay
//! becomes ready, only to ready relays; a round makes a fresh offer pool only if the last one is
//! at least [`BRISK_FIRST`] old (so a relay that keeps dropping and coming back cannot make us
//! pile up connections), else it announces without offers; unanswered pool offers close after
//! [`OFFER_TTL`]; at most [`MAX_UNOPENED_CONNECTIONS`] connections are being set up at once;
//! every sealed message is stamped with the sender's time and bound to its sender (and, for
//! direct offers and answers, to its recipient); a copy of a presence proof or offer seen before
//! is ignored, and an answer is used once (its offer is then settled); descriptions are fitted
//! within [`MAX_SIGNALED_SDP_LEN`] (candidates left out, lowest priority first); of two
//! concurrent attempts between the same peers, the one offered by the smaller peer id wins; a
//! connection over a shared link wins over signaling.

use super::admission::Admission;
use super::cadence::BRISK_FIRST;
use super::connection::{Connection, Role};
use super::negotiation::StepKind;
use super::waiting_offers::WaitingOffer;
use super::{ConnId, Event, NegotiationStep, Output, Room, MAX_UNOPENED_CONNECTIONS, OFFER_TTL};
use crate::payload::Payload;
use crate::random::is_peer_id;
use crate::sdp::{self, MAX_SIGNALED_SDP_LEN};
use crate::signaling::{
    answer_context, direct_offer_context, offer_context, presence_context, stamp, unstamp, PeerMessage, SealedOffer,
    SignalEvent,
};
use crate::strategy::{Discovery, RelayId};
use crate::time::Instant;

/// Length of offer ids.
pub(super) const OFFER_ID_LEN: usize = 20;

/// When and where to announce next.
pub(super) struct Announcer {
    /// Ready relays owed an announcement.
    due: Vec<RelayId>,
    /// When the next round goes (none: the room is settled and we are not its keeper).
    pub next_round: Option<Instant>,
    /// When the last round went (or the room started).
    pub last_round: Instant,
    /// Whether the room was looking for peers when last scheduled.
    pub looking: bool,
    /// Rounds since the room last started looking.
    pub brisk_rounds: u32,
    /// When the last offer pool was made.
    last_pool: Option<Instant>,
    /// The last offer pool that went to the relays.
    pub sent_pool: Option<SentPool>,
    /// A round whose offers are still being made.
    round: Option<Round>,
}

/// An offer pool that went to the relays, for introductions to wait on its answers.
pub(super) struct SentPool {
    pub at: Instant,
    /// Its connections.
    pub conns: Vec<ConnId>,
    /// How many peers we had when it went.
    pub known: usize,
}

struct Round {
    relays: Vec<RelayId>,
    /// Pool connections whose offer is not made yet.
    pending: Vec<ConnId>,
    /// Pool connections whose offer is made, with its description: sealed when the round goes
    /// (the room key may still be being derived while offers are made).
    made: Vec<(ConnId, String)>,
}

impl Announcer {
    pub fn new(now: Instant) -> Self {
        Self {
            due: Vec::new(),
            next_round: Some(now + BRISK_FIRST),
            last_round: now,
            looking: true,
            brisk_rounds: 0,
            last_pool: None,
            sent_pool: None,
            round: None,
        }
    }

    /// `relay` is owed an announcement.
    pub fn due(&mut self, relay: RelayId) {
        if !self.due.contains(&relay) {
            self.due.push(relay);
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_round
    }
}

impl<P: Payload> Room<P> {
    /// Starts a round of announcements if one is due and none is being made.
    pub(super) fn announce_if_due(&mut self) {
        if self.left {
            return;
        }
        if self.announcer.next_round.is_some_and(|at| self.now >= at) {
            self.announcer.last_round = self.now;
            if self.announcer.looking {
                self.announcer.brisk_rounds = self.announcer.brisk_rounds.saturating_add(1);
            }
            self.reschedule();
            let ready: Vec<RelayId> = self.relays.ready().collect();
            for relay in ready {
                self.announcer.due(relay);
            }
        }
        if self.announcer.round.is_some() {
            return;
        }
        let mut relays = std::mem::take(&mut self.announcer.due);
        relays.retain(|&r| self.relays.is_ready(r) && self.relays.may_announce(r, self.now));
        if relays.is_empty() {
            return;
        }
        match self.discovery {
            Discovery::Presence if self.is_dormant() => {}
            Discovery::OfferPool { .. } if self.is_dormant() => self.announce_on(&relays, Vec::new(), ""),
            Discovery::Presence => match self.seal_stamped(&self.mark(""), &presence_context(&self.config.self_id)) {
                Some(proof) => self.announce_on(&relays, Vec::new(), &proof),
                None => self.announcer.due = relays,
            },
            Discovery::OfferPool { size }
                if self.pool_size(size) == 0
                    || self.announcer.last_pool.is_some_and(|at| self.now - at < BRISK_FIRST) =>
            {
                self.announce_on(&relays, Vec::new(), "");
            }
            Discovery::OfferPool { size } => {
                self.announcer.last_pool = Some(self.now);
                let wanted = self.pool_size(size);
                let pool: Vec<ConnId> = (0..wanted).map_while(|_| self.new_conn(Role::PoolOffer)).collect();
                let expiry = self.now + OFFER_TTL;
                self.note_deadline(expiry);
                let mut pending = Vec::new();
                for conn in pool {
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.deadline = Some(expiry);
                    }
                    self.negotiate(conn, NegotiationStep::MakeOffer);
                    pending.push(conn);
                }
                self.announcer.round = Some(Round { relays, pending, made: Vec::new() });
                self.finish_round_if_complete();
            }
        }
    }

    /// Announces on every ready relay now (a passive room woke up).
    pub(super) fn announce_now(&mut self) {
        let ready: Vec<RelayId> = self.relays.ready().collect();
        for relay in ready {
            self.announcer.due(relay);
        }
        self.announce_if_due();
    }

    /// Seals and publishes the round's offers once every one of them is made (or given up) and
    /// the room key is derived.
    pub(super) fn finish_round_if_complete(&mut self) {
        if self.left {
            self.announcer.round = None;
            return;
        }
        if self.key.is_none() || self.announcer.round.as_ref().is_none_or(|round| !round.pending.is_empty()) {
            return;
        }
        let Some(Round { relays, made, .. }) = self.announcer.round.take() else { return };
        let context = offer_context(&self.config.self_id);
        let (mut offers, mut conns) = (Vec::new(), Vec::new());
        for (conn, sdp) in made {
            if let Some(offer) = self.register_offer(conn, &sdp, &context) {
                offers.push(offer);
                conns.push(conn);
            }
        }
        let relays: Vec<RelayId> = relays.into_iter().filter(|&r| self.relays.is_ready(r)).collect();
        if !offers.is_empty() && !relays.is_empty() {
            self.announcer.sent_pool = Some(SentPool { at: self.now, conns, known: self.by_peer.len() });
        }
        self.announce_on(&relays, offers, "");
        self.announce_if_due();
    }

    /// Announces on `relays` with `offers` or `proof`, noting when.
    fn announce_on(&mut self, relays: &[RelayId], offers: Vec<SealedOffer>, proof: &str) {
        for &relay in relays {
            self.relays.announced(relay, self.now);
        }
        self.with_strategy(|strategy, cx| strategy.announce(relays, offers, proof, cx));
    }

    /// Connection `conn` left the round it was being made for: its offer `sdp` is made, or it
    /// failed or closed (then an offer it made is left out too).
    pub(super) fn leave_round(&mut self, conn: ConnId, sdp: Option<String>) {
        let Some(round) = self.announcer.round.as_mut() else { return };
        if let Some(at) = round.pending.iter().position(|&c| c == conn) {
            round.pending.swap_remove(at);
            round.made.extend(sdp.map(|sdp| (conn, sdp)));
            self.finish_round_if_complete();
        } else if sdp.is_none() {
            round.made.retain(|&(made, _)| made != conn);
        }
    }

    /// A new connection for `role`, unless [`MAX_UNOPENED_CONNECTIONS`] are being set up: then
    /// none, so a flood of made-up peers cannot pile up connections (warned once per spell).
    pub(super) fn new_conn(&mut self, role: Role) -> Option<ConnId> {
        if self.setup_capacity_full() {
            self.warn_setup_full();
            return None;
        }
        self.setup_full = false;
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let linked = matches!(role, Role::Linked { .. });
        let mut connection = Connection::new(role, self.config.limits, self.now);
        if let Role::Answer { offer_id } = &connection.role {
            connection.offer_id = Some(offer_id.clone());
        }
        self.conns.insert(conn, Box::new(connection));
        if !linked {
            let trickle = self.trickles();
            self.outputs.push_back(Output::CreateConnection { conn, trickle });
        }
        Some(conn)
    }

    /// Warns, once per spell, that [`MAX_UNOPENED_CONNECTIONS`] connections are being set up.
    pub(super) fn warn_setup_full(&mut self) {
        if !std::mem::replace(&mut self.setup_full, true) {
            self.warn(format!(
                "{MAX_UNOPENED_CONNECTIONS} connections are being set up; new ones wait until some open or time out"
            ));
        }
    }

    /// Binds connection `conn` to peer `remote` (passive or not) and starts its connect timeout.
    pub(super) fn assign(&mut self, conn: ConnId, remote: &str, passive: bool) {
        let deadline = self.now + self.config.connect_timeout;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.remote = Some(remote.to_owned());
        c.remote_passive = passive;
        c.deadline = Some(deadline);
        self.by_peer.insert(remote.to_owned(), conn);
        self.note_deadline(deadline);
    }

    /// Closes and forgets connection `conn`, failing what was pending on it; returns its peer id
    /// and whether the peer had joined.
    pub(super) fn remove_conn(&mut self, conn: ConnId) -> Option<(String, bool)> {
        let c = self.conns.remove(&conn)?;
        self.capacity_freed = true;
        self.outputs.push_back(Output::CloseConnection { conn });
        self.offers.retain(|_, id| *id != conn);
        self.leave_round(conn, None);
        let joined = c.is_joined();
        let admitting = c.is_admitting();
        let remote = c.remote?;
        if self.by_peer.get(&remote) == Some(&conn) {
            self.by_peer.remove(&remote);
        }
        let settled = self.sends.fail_conn(&c.outbox, &remote);
        self.settle_all(settled);
        self.fail_requests_on(conn, &remote);
        self.pings.fail_conn(conn, &remote, &mut self.outputs);
        self.park_streams_on(conn, &remote);
        if admitting && self.config.admission == Admission::Handshake {
            self.emit(Event::HandshakeEnded { peer: remote.clone(), conn });
        }
        Some((remote, joined))
    }

    /// Closes connection `conn`; tells the app if its peer had joined.
    pub(super) fn drop_peer(&mut self, conn: ConnId) {
        if let Some((peer, true)) = self.remove_conn(conn) {
            self.emit(Event::PeerLeft { peer });
            self.reschedule();
        }
        self.use_setup_capacity();
        self.follow_heard();
        self.keep_warm_offer();
    }

    /// Whether signaling from `from` is worth reading: the room is live, and `from` is a peer id
    /// that is not ours.
    pub(super) fn accepts_signal_from(&self, from: &str) -> bool {
        !self.left && from != self.config.self_id && is_peer_id(from)
    }

    /// `body` stamped with our time and sealed under `context`; none while the room key is
    /// being derived.
    pub(super) fn seal_stamped(&mut self, body: &str, context: &str) -> Option<String> {
        let unix = self.config.clock.unix_secs(self.now);
        Some(self.key.as_ref()?.seal(&mut self.random, &stamp(unix, body), context))
    }

    /// The body of a message sealed under `context` whose stamp is within the window.
    pub(super) fn open_stamped(&self, sealed: &str, context: &str) -> Result<String, String> {
        let key = self.key.as_ref().ok_or("the room key is still being derived")?;
        let plaintext = key.open(sealed, context).map_err(|e| e.to_string())?;
        let unix = self.config.clock.unix_secs(self.now);
        unstamp(&plaintext, unix).map(str::to_owned).map_err(|e| e.to_string())
    }

    pub(super) fn on_signal(&mut self, event: SignalEvent) {
        if self.key.is_none() {
            return self.hold_signal(event);
        }
        match event {
            SignalEvent::Presence { from, proof } => self.on_presence(&from, &proof),
            SignalEvent::Offer { from, offer_id, sealed_sdp } => self.on_offer(&from, offer_id, &sealed_sdp, None),
            SignalEvent::Answer { from, offer_id, sealed_sdp } => self.on_answer(&from, &offer_id, &sealed_sdp),
            SignalEvent::Candidate { from, offer_id, sealed } => self.on_candidate(&from, &offer_id, &sealed, false),
        }
    }

    /// A peer announced itself: unless a connection to it exists or is under way, it is offered
    /// one (see `presences`).
    fn on_presence(&mut self, from: &str, proof: &str) {
        if self.discovery != Discovery::Presence || !self.accepts_signal_from(from) || self.by_peer.contains_key(from) {
            return;
        }
        let body = match self.open_stamped(proof, &presence_context(from)) {
            Ok(body) => body,
            Err(e) => return self.join_error(from, format!("cannot open its presence proof: {e}")),
        };
        if !self.replays.first_sighting(proof, self.now) {
            return;
        }
        let Some((_, passive)) = self.read_mark(&body) else { return };
        self.on_heard(from, passive);
    }

    /// Peer `from` offers a connection, through the relays or carried by peer `via` (then the
    /// answer goes back the same way).
    pub(super) fn on_offer(&mut self, from: &str, offer_id: String, sealed_sdp: &str, via: Option<String>) {
        if !self.accepts_signal_from(from) {
            return;
        }
        let context = match self.discovery {
            Discovery::OfferPool { .. } if via.is_none() => offer_context(from),
            _ => direct_offer_context(from, &self.config.self_id),
        };
        let marked = match self.open_stamped(sealed_sdp, &context) {
            Ok(marked) => marked,
            Err(e) => return self.join_error(from, format!("cannot open its offer: {e}")),
        };
        if !self.replays.first_sighting(sealed_sdp, self.now) {
            return;
        }
        let Some((sdp, passive)) = self.read_mark(&marked) else { return };
        let sdp = sdp.to_owned();
        self.answer_offer(WaitingOffer { from: from.to_owned(), offer_id, sdp, passive, via, at: self.now });
    }

    /// Answers offer `offer`, unless a connection to its peer that wins the tie-break exists;
    /// while set-up capacity is full, the offer waits for it.
    pub(super) fn answer_offer(&mut self, offer: WaitingOffer) {
        if !self.accepts_signal_from(&offer.from) || !self.should_replace(&offer.from, None, true) {
            return;
        }
        if self.setup_capacity_full() {
            return self.wait_for_capacity(offer);
        }
        let WaitingOffer { from, offer_id, sdp, passive, via, .. } = offer;
        let Some(conn) = self.new_conn(Role::Answer { offer_id }) else { return };
        self.assign(conn, &from, passive);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.via = via;
        }
        self.negotiate(conn, NegotiationStep::ApplyOffer(sdp));
    }

    pub(super) fn on_answer(&mut self, from: &str, offer_id: &str, sealed_sdp: &str) {
        let Some(&conn) = self.offers.get(offer_id) else { return self.on_restart_signal(from, offer_id, sealed_sdp) };
        let addressed_elsewhere = self.conns.get(&conn).and_then(|c| c.remote.as_deref()).is_some_and(|r| r != from);
        if !self.accepts_signal_from(from) || addressed_elsewhere {
            return;
        }
        let marked = match self.open_stamped(sealed_sdp, &answer_context(from, &self.config.self_id, offer_id)) {
            Ok(marked) => marked,
            Err(e) => return self.join_error(from, format!("cannot open its answer: {e}")),
        };
        let Some((sdp, passive)) = self.read_mark(&marked) else { return };
        let sdp = sdp.to_owned();
        if !self.should_replace(from, Some(conn), false) {
            return;
        }
        self.offers.remove(offer_id);
        self.assign(conn, from, passive);
        self.negotiate(conn, NegotiationStep::ApplyAnswer(sdp));
    }

    /// If peer `from` already has a connection other than `candidate`, decides whether the
    /// candidate, where `from` is the offerer (`their_offer`) or we are, should replace it. Of two
    /// concurrent attempts the one offered by the smaller peer id wins, so both sides keep the
    /// same one; of two offers of ours, the one the peer answered wins (it ignores the other).
    fn should_replace(&mut self, from: &str, candidate: Option<ConnId>, their_offer: bool) -> bool {
        let Some(&existing) = self.by_peer.get(from) else { return true };
        if Some(existing) == candidate {
            return true;
        }
        let Some(c) = self.conns.get(&existing) else { return true };
        if c.is_open() || matches!(c.role, Role::Linked { .. }) {
            return false;
        }
        if c.offered_by_self() != their_offer {
            // An offer still being made has no id yet, and is unanswered too.
            let unanswered = c.offer_id.as_ref().is_none_or(|id| self.offers.contains_key(id));
            let answered_wins = !their_offer && unanswered;
            if answered_wins {
                self.remove_conn(existing);
            }
            return answered_wins;
        }
        let self_id = self.config.self_id.as_str();
        let new_offerer_wins = if their_offer { from < self_id } else { self_id < from };
        if new_offerer_wins {
            self.remove_conn(existing);
        }
        new_offerer_wins
    }

    /// The initial negotiation step `step` of connection `conn` finished with `outcome`.
    pub(super) fn on_described(&mut self, conn: ConnId, step: StepKind, outcome: Result<Option<String>, String>) {
        let Some(c) = self.conns.get(&conn) else { return };
        let remote = c.remote.clone().unwrap_or_default();
        let role = c.role.clone();
        let sdp = match (step, outcome) {
            (StepKind::ApplyAnswer, Ok(_)) => return self.on_remote_described(conn),
            (_, Ok(Some(sdp))) => sdp,
            (_, Ok(None)) => return self.give_up(conn, "cannot create an offer: no local description".to_owned()),
            // The first exchange makes no restart steps; their kinds are named with their kin.
            (StepKind::MakeOffer | StepKind::RestartIce | StepKind::Rollback, Err(e)) => {
                return self.give_up(conn, format!("cannot create an offer: {e}"))
            }
            (StepKind::ApplyOffer | StepKind::AnswerRestart, Err(e)) => {
                return self.give_up(conn, format!("cannot answer peer {remote}: {e}"))
            }
            (StepKind::ApplyAnswer, Err(e)) => {
                return self.give_up(conn, format!("cannot accept the answer of peer {remote}: {e}"))
            }
        };
        let (fitted, dropped) = sdp::fit(&sdp, MAX_SIGNALED_SDP_LEN);
        if dropped > 0 {
            self.warn(format!(
                "a description of {} bytes was too large for relays: {dropped} ICE candidates (lowest priority first) were left out",
                sdp.len()
            ));
        }
        let sdp = if dropped > 0 { fitted.into_owned() } else { sdp };
        match role {
            Role::PoolOffer => self.leave_round(conn, Some(sdp)),
            Role::DirectOffer if self.warm_offer_made(conn, &sdp) => {}
            Role::DirectOffer => self.send_direct_offer(conn, &remote, &sdp),
            Role::Linked { .. } => {}
            Role::Answer { offer_id } => {
                let context = answer_context(&self.config.self_id, &remote, &offer_id);
                let Some(sealed_sdp) = self.seal_stamped(&self.mark(&sdp), &context) else { return };
                let from = self.config.self_id.clone();
                self.send_signaling(conn, &remote, PeerMessage::Answer { from, offer_id, sealed_sdp });
                self.on_remote_described(conn);
            }
        }
    }

    /// Seals our offer `sdp` of connection `conn` under a fresh offer id and remembers it for the
    /// answer; none while the room key is being derived.
    pub(super) fn register_offer(&mut self, conn: ConnId, sdp: &str, context: &str) -> Option<SealedOffer> {
        let sealed_sdp = self.seal_stamped(&self.mark(sdp), context)?;
        let offer_id = self.random.id(OFFER_ID_LEN);
        self.offers.insert(offer_id.clone(), conn);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.offer_id = Some(offer_id.clone());
        }
        Some(SealedOffer { offer_id, sealed_sdp })
    }

    fn give_up(&mut self, conn: ConnId, warning: String) {
        self.warn(warning);
        self.drop_peer(conn);
    }

    pub(super) fn on_connection_failed(&mut self, conn: ConnId, error: &str) {
        if self.conns.contains_key(&conn) {
            self.give_up(conn, error.to_owned());
        }
    }

    pub(super) fn on_connection_opened(&mut self, conn: ConnId, max_message_size: Option<f64>) {
        let now = self.now;
        let self_id = self.config.self_id.clone();
        let deadline = now + self.config.handshake_timeout;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Some(remote) = c.remote.clone().filter(|_| !c.is_open()) else { return };
        c.open(now, max_message_size, &self_id, deadline);
        self.note_deadline(deadline);
        self.start_admission(conn, remote);
        self.use_setup_capacity();
        self.follow_heard();
    }

    pub(super) fn on_connection_closed(&mut self, conn: ConnId) {
        self.drop_peer(conn);
    }

    /// Gives up connections that did not open in time, peers not admitted in time, and pool
    /// offers nobody answered.
    pub(super) fn connection_timeouts(&mut self) {
        let now = self.now;
        let expired: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| c.deadline.is_some_and(|at| at <= now)).map(|(&id, _)| id).collect();
        let timeout_ms = self.config.connect_timeout.as_millis() as u64;
        let handshake_ms = self.config.handshake_timeout.as_millis() as u64;
        for conn in expired {
            let admitting = self.conns.get(&conn).is_some_and(|c| c.is_admitting());
            let stage = self.conns.get(&conn).map_or("", |c| c.setup_stage());
            let introduced = self
                .conns
                .get(&conn)
                .filter(|c| !admitting && c.offered_by_self())
                .and_then(|c| Some((c.remote.clone()?, c.remote_passive, c.via.clone()?)));
            if let Some((peer, passive, via)) = introduced {
                self.retry_introduction(&peer, passive, &via);
            }
            if let Some((peer, _)) = self.remove_conn(conn) {
                let error = match (admitting, self.config.admission) {
                    (true, Admission::Handshake) => format!("handshake timed out after {handshake_ms}ms"),
                    (true, Admission::Immediate) => format!("the peer did not admit us within {handshake_ms} ms"),
                    (false, _) => format!("the connection did not open within {timeout_ms} ms: {stage}"),
                };
                self.join_error(&peer, error);
            }
        }
        self.use_setup_capacity();
        self.follow_heard();
    }
}
