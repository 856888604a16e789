//! Relay connections: opening, reconnecting with backoff, pausing. A relay's failure count is
//! reset only once it has stayed usable (its session established) for [`STABLE_AFTER`], so a
//! relay that accepts and then refuses or drops us is retried ever more slowly, and the user is
//! warned once per spell of failures.

use super::{Output, Room};
use crate::backoff::{backoff_delay, BACKOFF_MAX_MS};
use crate::payload::Payload;
use crate::strategy::{AnnounceHints, RelayData, RelayId};
use crate::time::Instant;
use std::time::Duration;

/// How long a relay's session must last for the relay to count as usable again.
pub const STABLE_AFTER: Duration = Duration::from_millis(BACKOFF_MAX_MS as u64);
/// The shortest announce period taken from a relay.
const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// Failures in a row after which a relay that gave no reason is warned about.
const QUIET_FAILURES_WARNED: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The driver is opening a connection.
    Connecting,
    /// Connected; the strategy is setting its session up.
    Open,
    /// The session is established since then.
    Ready(Instant),
    /// Waiting to reconnect until then.
    Waiting(Instant),
    /// Dropped while reconnection was paused; waits for resumption.
    Paused,
    /// Closed for good (the room was left).
    Closed,
}

struct Relay {
    url: String,
    state: State,
    /// Failures since the relay was last usable.
    failures: u32,
    /// Whether this spell of failures has been warned about.
    warned: bool,
    /// What the relay last said about announcing (this session).
    hints: AnnounceHints,
    /// When we last announced on it (this session).
    last_announced: Option<Instant>,
}

/// The room's relays.
pub(super) struct Relays {
    relays: Vec<Relay>,
    paused: bool,
}

impl Relays {
    pub fn new(urls: &[String]) -> Self {
        let relays = urls
            .iter()
            .map(|url| Relay {
                url: url.clone(),
                state: State::Closed,
                failures: 0,
                warned: false,
                hints: AnnounceHints::default(),
                last_announced: None,
            })
            .collect();
        Self { relays, paused: false }
    }

    /// The relays whose session is established.
    pub fn ready(&self) -> impl Iterator<Item = RelayId> + '_ {
        self.relays.iter().enumerate().filter(|(_, r)| matches!(r.state, State::Ready(_))).map(|(i, _)| RelayId(i))
    }

    /// Since when the longest-established ready relay has been ready, if any is.
    pub fn ready_since(&self) -> Option<Instant> {
        self.relays
            .iter()
            .filter_map(|r| match r.state {
                State::Ready(since) => Some(since),
                _ => None,
            })
            .min()
    }

    pub fn is_ready(&self, relay: RelayId) -> bool {
        self.relays.get(relay.0).is_some_and(|r| matches!(r.state, State::Ready(_)))
    }

    fn is_connected(&self, relay: RelayId) -> bool {
        self.relays.get(relay.0).is_some_and(|r| matches!(r.state, State::Open | State::Ready(_)))
    }

    /// Whether `relay` allows an announcement at `now` (its `min interval` passed).
    pub fn may_announce(&self, relay: RelayId, now: Instant) -> bool {
        self.relays.get(relay.0).is_some_and(|r| match (r.last_announced, r.hints.min_interval) {
            (Some(at), Some(min)) => now - at >= min,
            _ => true,
        })
    }

    /// We announced on `relay` at `now`.
    pub fn announced(&mut self, relay: RelayId, now: Instant) {
        if let Some(r) = self.relays.get_mut(relay.0) {
            r.last_announced = Some(now);
        }
    }

    pub fn set_hints(&mut self, relay: RelayId, hints: AnnounceHints) {
        if let Some(r) = self.relays.get_mut(relay.0) {
            r.hints = hints;
        }
    }

    /// The largest swarm a ready relay reported (us included), if any did.
    pub fn swarm_size(&self) -> Option<u64> {
        self.ready().filter_map(|relay| self.relays[relay.0].hints.swarm_size).max()
    }

    /// The shortest announce period a ready relay asked for (at least 10 s), if any did.
    pub fn shortest_interval(&self) -> Option<Duration> {
        self.ready().filter_map(|relay| self.relays[relay.0].hints.interval).min().map(|i| i.max(MIN_INTERVAL))
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.relays
            .iter()
            .filter_map(|r| match r.state {
                State::Waiting(until) => Some(until),
                _ => None,
            })
            .min()
    }
}

impl<P: Payload> Room<P> {
    pub(super) fn connect_all_relays(&mut self) {
        for index in 0..self.relays.relays.len() {
            self.connect_relay(RelayId(index));
        }
    }

    fn connect_relay(&mut self, relay: RelayId) {
        let Some(r) = self.relays.relays.get_mut(relay.0) else { return };
        r.state = State::Connecting;
        let url = r.url.clone();
        self.outputs.push_back(Output::OpenRelay { relay, url, protocols: self.strategy.protocols() });
    }

    pub(super) fn on_relay_opened(&mut self, relay: RelayId) {
        let Some(r) = self.relays.relays.get_mut(relay.0) else { return };
        if r.state != State::Connecting {
            return;
        }
        r.state = State::Open;
        self.with_strategy(|strategy, cx| strategy.on_open(relay, cx));
    }

    pub(super) fn on_relay_ready(&mut self, relay: RelayId) {
        let now = self.now;
        let Some(r) = self.relays.relays.get_mut(relay.0) else { return };
        if r.state != State::Open {
            return;
        }
        r.state = State::Ready(now);
        if self.is_looking() || self.is_keeper() {
            self.announcer.due(relay);
            self.announce_if_due();
        }
        self.keep_warm_offer();
    }

    pub(super) fn on_relay_message(&mut self, relay: RelayId, data: RelayData) {
        if !self.relays.is_connected(relay) {
            return;
        }
        let mut fault = None;
        self.with_strategy(|strategy, cx| fault = strategy.on_message(relay, data, cx).err());
        if let Some(fault) = fault {
            self.outputs.push_back(Output::CloseRelay { relay });
            self.relay_lost(relay, Some(fault.0));
        }
    }

    pub(super) fn on_relay_message_too_large(&mut self, relay: RelayId, len: u64) {
        let Some(r) = self.relays.relays.get(relay.0) else { return };
        let message = format!("relay {} sent an oversized message ({len} bytes); dropped", r.url);
        self.warn_about_relays(message);
    }

    pub(super) fn on_relay_closed(&mut self, relay: RelayId, reason: Option<String>) {
        let connected = self
            .relays
            .relays
            .get(relay.0)
            .is_some_and(|r| matches!(r.state, State::Connecting | State::Open | State::Ready(_)));
        if connected {
            self.relay_lost(relay, reason);
        }
    }

    /// Sends on `relay` if its connection is open.
    pub(super) fn send_to_relay(&mut self, relay: RelayId, data: RelayData) {
        if self.relays.is_connected(relay) {
            self.outputs.push_back(Output::SendRelay { relay, data });
        }
    }

    /// The connection to `relay` ended (`reason`: why, when known): schedule a reconnection.
    fn relay_lost(&mut self, relay: RelayId, reason: Option<String>) {
        self.strategy.on_close(relay);
        let now = self.now;
        let jitter = self.random.unit();
        let paused = self.relays.paused;
        let Some(r) = self.relays.relays.get_mut(relay.0) else { return };
        if matches!(r.state, State::Ready(since) if now - since >= STABLE_AFTER) {
            r.failures = 0;
            r.warned = false;
        }
        r.failures = r.failures.saturating_add(1);
        r.hints = AnnounceHints::default();
        r.last_announced = None;
        r.state = if paused {
            State::Paused
        } else {
            State::Waiting(now + Duration::from_millis(u64::from(backoff_delay(r.failures - 1, jitter))))
        };
        let warning = match reason {
            Some(reason) if !r.warned => Some(format!("relay {}: {reason}; reconnecting", r.url)),
            None if !r.warned && r.failures >= QUIET_FAILURES_WARNED => Some(format!(
                "relay {} failed {} times in a row; reconnecting with backoff (up to {} s)",
                r.url,
                r.failures,
                BACKOFF_MAX_MS / 1000
            )),
            _ => None,
        };
        if let Some(warning) = warning.filter(|_| self.config.relay_warnings) {
            r.warned = true;
            self.warn(warning);
        }
        self.keep_warm_offer();
    }

    /// Reconnects the relays whose wait is over.
    pub(super) fn relay_timeouts(&mut self) {
        let now = self.now;
        for index in 0..self.relays.relays.len() {
            if matches!(self.relays.relays[index].state, State::Waiting(until) if until <= now) {
                if self.relays.paused {
                    self.relays.relays[index].state = State::Paused;
                } else {
                    self.connect_relay(RelayId(index));
                }
            }
        }
    }

    pub(super) fn pause_relays(&mut self, paused: bool) {
        self.relays.paused = paused;
        if paused || self.left {
            return;
        }
        for index in 0..self.relays.relays.len() {
            let relay = &mut self.relays.relays[index];
            if matches!(relay.state, State::Paused | State::Waiting(_)) {
                relay.failures = 0;
                relay.warned = false;
                self.connect_relay(RelayId(index));
            }
        }
    }

    /// Reconnects at once the relays waiting to, unless reconnection is paused.
    pub(super) fn reconnect_waiting_relays(&mut self) {
        if !self.relays.paused {
            self.pause_relays(false);
        }
    }

    pub(super) fn close_all_relays(&mut self) {
        for index in 0..self.relays.relays.len() {
            let relay = &mut self.relays.relays[index];
            if matches!(relay.state, State::Connecting | State::Open | State::Ready(_)) {
                self.outputs.push_back(Output::CloseRelay { relay: RelayId(index) });
            }
            relay.state = State::Closed;
        }
    }
}
