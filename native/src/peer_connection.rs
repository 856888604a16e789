//! One WebRTC peer connection over str0m: the room's pre-negotiated data channel (id 0, as the
//! browser makes it), negotiation steps carried out at once (str0m's candidates are our
//! sockets' addresses, known up front, so descriptions need no gathering), and str0m's outputs
//! turned into the room's inputs.

use rendez_core::room::{Connectivity, NegotiationStep};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::channel::{ChannelConfig, ChannelId};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

/// The label and stream id of the room's data channel, the same as the browser driver's.
const CHANNEL_LABEL: &str = "rendez";
const CHANNEL_ID: u16 = 0;
/// Bytes buffered on the channel below which str0m reports that more may be sent.
const LOW_WATER: usize = rendez_core::room::LOW_WATER as usize;
/// Most bytes the channel buffers unsent: Chromium's 16 MiB. The core stops sending chunks at
/// [`rendez_core::room::HIGH_WATER`] (8 MiB), so control frames always fit on top; str0m's
/// default (128 KiB) would refuse chunks the core counts on.
const MAX_BUFFERED: usize = 16 * 1024 * 1024;
/// What a peer that advertises no `a=max-message-size` takes (RFC 8841).
const DEFAULT_MAX_MESSAGE_SIZE: u64 = 64 * 1024;

/// What the connection has to tell the room, in the room's terms.
pub(crate) enum PeerNote {
    Opened,
    Message(Vec<u8>),
    Connectivity(Connectivity),
    BufferedLow(u64),
    Closed,
}

/// A datagram str0m wants sent.
pub(crate) struct Transmit {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub data: Vec<u8>,
}

pub(crate) struct PeerConnection {
    rtc: Rtc,
    /// Our offer awaiting its answer.
    pending: Option<SdpPendingOffer>,
    channel: Option<ChannelId>,
    /// The peer's `a=max-message-size` (RFC 8841: 64 KiB when absent, 0 for no limit).
    remote_max_message_size: u64,
    /// Whether the room was told the connection closed.
    closed: bool,
    /// When str0m next wants [`Input::Timeout`].
    pub deadline: Option<Instant>,
}

impl PeerConnection {
    /// A connection whose host candidates are `addresses`.
    pub fn new(addresses: &[SocketAddr], now: Instant) -> Self {
        let mut rtc = Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .set_sctp_max_buffered_amount(MAX_BUFFERED)
            .build(now);
        for &address in addresses {
            if let Ok(candidate) = Candidate::host(address, "udp") {
                rtc.add_local_candidate(candidate);
            }
        }
        Self {
            rtc,
            pending: None,
            channel: None,
            remote_max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            closed: false,
            deadline: Some(now),
        }
    }

    /// Carries out `step`: the local SDP it made (offers and answers) or why it failed, and
    /// whether the signaling state is stable afterwards.
    pub fn negotiate(&mut self, step: NegotiationStep) -> (Result<Option<String>, String>, bool) {
        let outcome = match step {
            NegotiationStep::MakeOffer => self.offer(false),
            NegotiationStep::RestartIce => self.offer(true),
            NegotiationStep::ApplyOffer(sdp) | NegotiationStep::AnswerRestart(sdp) => self.answer(&sdp),
            NegotiationStep::ApplyAnswer(sdp) => self.apply_answer(&sdp),
            NegotiationStep::Rollback => {
                self.pending = None;
                Ok(None)
            }
        };
        (outcome, self.pending.is_none())
    }

    fn offer(&mut self, restart: bool) -> Result<Option<String>, String> {
        let mut api = self.rtc.sdp_api();
        if restart {
            api.ice_restart(true);
        }
        if self.channel.is_none() {
            self.channel = Some(api.add_channel_with_config(channel_config()));
        }
        let (offer, pending) = api.apply().ok_or("nothing to offer")?;
        self.pending = Some(pending);
        Ok(Some(offer.to_sdp_string()))
    }

    fn answer(&mut self, sdp: &str) -> Result<Option<String>, String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| format!("a malformed offer: {e}"))?;
        self.pending = None;
        self.remote_max_message_size = max_message_size(sdp);
        let answer = self.rtc.sdp_api().accept_offer(offer).map_err(|e| format!("cannot answer: {e}"))?;
        if self.channel.is_none() {
            self.channel = Some(self.rtc.direct_api().create_data_channel(channel_config()));
        }
        Ok(Some(answer.to_sdp_string()))
    }

    fn apply_answer(&mut self, sdp: &str) -> Result<Option<String>, String> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("a malformed answer: {e}"))?;
        let pending = self.pending.take().ok_or("no offer awaits an answer")?;
        self.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| format!("cannot apply the answer: {e}"))?;
        self.remote_max_message_size = max_message_size(sdp);
        Ok(None)
    }

    /// The largest message the peer takes (0: no limit).
    pub fn max_message_size(&self) -> u64 {
        self.remote_max_message_size
    }

    /// Adds the peer's trickled candidate (`RTCIceCandidateInit` JSON); whether it was read. An
    /// end-of-candidates one (no candidate line) and one named by an mDNS `.local` host name
    /// (which only the peer's own network resolves) count as read and are skipped.
    pub fn add_candidate(&mut self, init: &str) -> bool {
        let Ok(CandidateInit { candidate }) = serde_json::from_str(init) else { return false };
        if candidate.is_empty() || candidate.split(' ').any(|part| part.ends_with(".local")) {
            return true;
        }
        match Candidate::from_sdp_string(&candidate) {
            Ok(candidate) => {
                self.rtc.add_remote_candidate(candidate);
                true
            }
            Err(_) => false,
        }
    }

    /// Whether `datagram` is for this connection.
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, data: &[u8]) -> bool {
        receive(source, destination, data).is_some_and(|r| self.rtc.accepts(&Input::Receive(Instant::now(), r)))
    }

    /// Feeds a datagram that [`PeerConnection::accepts`].
    pub fn receive(&mut self, now: Instant, source: SocketAddr, destination: SocketAddr, data: &[u8]) {
        if let Some(r) = receive(source, destination, data) {
            self.rtc.handle_input(Input::Receive(now, r)).ok();
        }
    }

    /// Feeds the time, if str0m asked for it by now.
    pub fn tick(&mut self, now: Instant) {
        if self.deadline.is_some_and(|at| at <= now) {
            self.deadline = None;
            self.rtc.handle_input(Input::Timeout(now)).ok();
        }
    }

    /// Sends one message on the data channel; the bytes it holds unsent afterwards, or `None` if
    /// it is not open or refused the message (its buffer full).
    pub fn send(&mut self, message: &[u8]) -> Option<u64> {
        let mut channel = self.rtc.channel(self.channel?)?;
        if !channel.write(true, message).ok()? {
            return None;
        }
        Some(channel.buffered_amount() as u64)
    }

    /// Drains str0m: datagrams to send, then what the room is to hear; arms the deadline.
    pub fn poll(&mut self, transmits: &mut Vec<Transmit>, notes: &mut Vec<PeerNote>) {
        loop {
            if !self.rtc.is_alive() {
                self.deadline = None;
                if !std::mem::replace(&mut self.closed, true) {
                    notes.push(PeerNote::Closed);
                }
                return;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.deadline = Some(at);
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    transmits.push(Transmit { source: t.source, destination: t.destination, data: t.contents.to_vec() })
                }
                Ok(Output::Event(event)) => self.on_event(event, notes),
                Err(_) => {
                    self.rtc.disconnect();
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, notes: &mut Vec<PeerNote>) {
        match event {
            Event::ChannelOpen(id, _) if Some(id) == self.channel => {
                if let Some(mut channel) = self.rtc.channel(id) {
                    channel.set_buffered_amount_low_threshold(LOW_WATER);
                }
                notes.push(PeerNote::Opened);
            }
            Event::ChannelData(data) if Some(data.id) == self.channel => notes.push(PeerNote::Message(data.data)),
            // The peer closed the channel or the connection: the next poll reports it closed.
            Event::ChannelClose(id) if Some(id) == self.channel => self.rtc.disconnect(),
            Event::Closed => self.rtc.disconnect(),
            Event::ChannelBufferedAmountLow(id) if Some(id) == self.channel => {
                let amount = self.rtc.channel(id).map_or(0, |mut c| c.buffered_amount() as u64);
                notes.push(PeerNote::BufferedLow(amount));
            }
            Event::IceConnectionStateChange(state) => match state {
                IceConnectionState::Connected | IceConnectionState::Completed => {
                    notes.push(PeerNote::Connectivity(Connectivity::Connected))
                }
                IceConnectionState::Disconnected => notes.push(PeerNote::Connectivity(Connectivity::Disconnected)),
                _ => {}
            },
            _ => {}
        }
    }

    /// Closes the connection: str0m queues the SCTP shutdown and DTLS close_notify, which the
    /// next [`PeerConnection::poll`] hands out, so the peer learns at once.
    pub fn close(&mut self) {
        self.closed = true;
        if self.rtc.close().is_err() {
            self.rtc.disconnect();
        }
    }
}

/// What the browser's `RTCIceCandidate.toJSON()` says, of what str0m reads.
#[derive(Deserialize)]
struct CandidateInit {
    candidate: String,
}

fn channel_config() -> ChannelConfig {
    ChannelConfig { label: CHANNEL_LABEL.to_owned(), negotiated: Some(CHANNEL_ID), ..ChannelConfig::default() }
}

/// The `a=max-message-size` of an SDP, or RFC 8841's default.
fn max_message_size(sdp: &str) -> u64 {
    sdp.lines()
        .find_map(|line| line.strip_prefix("a=max-message-size:")?.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_MESSAGE_SIZE)
}

fn receive(source: SocketAddr, destination: SocketAddr, data: &[u8]) -> Option<Receive<'_>> {
    Some(Receive { proto: Protocol::Udp, source, destination, contents: data.try_into().ok()? })
}
