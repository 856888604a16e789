//! One RTCPeerConnection with its data channel, and the browser side of negotiation steps.
//!
//! Both ends create the same pre-negotiated channel (id 0), so no `datachannel` event is needed
//! and the offer always carries an application m-line. Its events go to [`links`], which routes
//! them to the rooms the connection carries. SDP is exchanged whole, after ICE gathering, unless
//! the room trickles candidates (`trickleIce`) through relays that carry them.

use super::console::warn;
use super::links;
use super::media::Catchable;
use crate::hub::LinkId;
use crate::room::{Connectivity, NegotiationStep, LOW_WATER};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MediaStream, MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelInit, RtcDataChannelState,
    RtcDataChannelType, RtcIceConnectionState, RtcIceGatheringState, RtcOfferOptions, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit, RtcTrackEvent,
};

/// Longest wait for ICE gathering before the SDP is sent with the candidates found so far.
pub const ICE_GATHERING_TIMEOUT_MS: i32 = 5_000;

const GATHERING_EVENT: &str = "icegatheringstatechange";
const CANDIDATE_EVENT: &str = "icecandidate";

#[wasm_bindgen]
extern "C" {
    /// `RTCPeerConnection`, for the methods `web-sys` lacks.
    #[wasm_bindgen(js_name = RTCPeerConnection)]
    pub(crate) type Connection;
    /// `setLocalDescription()` with no argument: the browser makes the offer or answer the
    /// signaling state calls for, in one step (perfect negotiation relies on it).
    #[wasm_bindgen(method, js_class = "RTCPeerConnection", js_name = setLocalDescription)]
    fn set_local_description_implicitly(this: &Connection) -> Promise;
    /// `addIceCandidate(init)` with the peer's `RTCIceCandidateInit` as parsed from JSON.
    #[wasm_bindgen(method, js_class = "RTCPeerConnection", js_name = addIceCandidate)]
    fn add_ice_candidate_init(this: &Connection, candidate: &JsValue) -> Promise;
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// A browser peer connection; closed when dropped.
pub(crate) struct Peer {
    connection: RtcPeerConnection,
    channel: RtcDataChannel,
    /// Whether it trickles ICE candidates (see `Output::CreateConnection`).
    trickle: bool,
    _handlers: [Handler; 9],
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.channel.set_onopen(None);
        self.channel.set_onclose(None);
        self.channel.set_onmessage(None);
        self.channel.set_onbufferedamountlow(None);
        self.connection.set_onconnectionstatechange(None);
        self.connection.set_oniceconnectionstatechange(None);
        self.connection.set_ontrack(None);
        self.connection.set_onnegotiationneeded(None);
        self.connection.set_onicecandidate(None);
        self.channel.close();
        self.connection.close();
    }
}

impl Peer {
    /// Creates connection `link` and its channel, reporting their events (and, if it `trickle`s,
    /// its ICE candidates) to [`links`].
    pub fn new(config: &RtcConfiguration, link: LinkId, trickle: bool) -> Result<Self, JsValue> {
        let connection = RtcPeerConnection::new_with_configuration(config)?;
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(0);
        let channel = connection.create_data_channel_with_data_channel_dict("rendez", &init);
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        channel.set_buffered_amount_low_threshold(LOW_WATER as u32);

        let pc = connection.clone();
        let on_open = Handler::new(move |_| links::on_open(link, max_message_size(&pc)));
        let on_close = Handler::new(move |_| links::on_close(link));
        let on_message =
            Handler::new(move |event: JsValue| links::on_message(link, event.unchecked_into::<MessageEvent>().data()));
        let ch = channel.clone();
        let on_low = Handler::new(move |_| links::on_buffered(link, u64::from(ch.buffered_amount())));
        let (pc, ch) = (connection.clone(), channel.clone());
        // An open connection that fails is the room's to restart (`on_ice_state`), not closed.
        let on_state = Handler::new(move |_| match pc.connection_state() {
            RtcPeerConnectionState::Closed => links::on_close(link),
            RtcPeerConnectionState::Failed if ch.ready_state() != RtcDataChannelState::Open => links::on_close(link),
            _ => {}
        });
        let pc = connection.clone();
        let on_ice_state = Handler::new(move |_| {
            let state = match pc.ice_connection_state() {
                RtcIceConnectionState::Connected | RtcIceConnectionState::Completed => Connectivity::Connected,
                RtcIceConnectionState::Disconnected => Connectivity::Disconnected,
                RtcIceConnectionState::Failed => Connectivity::Failed,
                _ => return,
            };
            links::on_connectivity(link, state);
        });
        let on_negotiation_needed = Handler::new(move |_| links::on_negotiation_needed(link));
        let on_track = Handler::new(move |event: JsValue| {
            let event: RtcTrackEvent = event.unchecked_into();
            let track = event.track();
            let stream = event.streams().get(0).dyn_into::<MediaStream>().ok().or_else(|| {
                let stream = MediaStream::new().ok()?;
                stream.add_track(&track);
                Some(stream)
            });
            if let Some(stream) = stream {
                links::on_track(link, &track, &stream);
            }
        });
        let on_candidate = Handler::new(move |event: JsValue| {
            let candidate = event.unchecked_into::<RtcPeerConnectionIceEvent>().candidate();
            let json = candidate.and_then(|c| js_sys::JSON::stringify(&c.to_json()).ok()?.as_string());
            if let Some(json) = json {
                links::on_candidate(link, json);
            }
        });
        if trickle {
            connection.set_onicecandidate(Some(on_candidate.as_ref().unchecked_ref()));
        }
        channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        channel.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        channel.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        connection.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        connection.set_oniceconnectionstatechange(Some(on_ice_state.as_ref().unchecked_ref()));
        connection.set_onnegotiationneeded(Some(on_negotiation_needed.as_ref().unchecked_ref()));
        connection.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        let handlers = [
            on_open,
            on_close,
            on_message,
            on_low,
            on_state,
            on_ice_state,
            on_negotiation_needed,
            on_track,
            on_candidate,
        ];
        Ok(Self { connection, channel, trickle, _handlers: handlers })
    }

    /// The underlying connection, as handed to apps by `getPeers()`.
    pub fn connection(&self) -> &RtcPeerConnection {
        &self.connection
    }

    /// Sends one message on the data channel.
    pub fn send(&self, message: &Uint8Array) -> Result<(), JsValue> {
        self.channel.send_with_array_buffer_view(message)
    }

    /// Whether it trickles ICE candidates.
    pub fn trickles(&self) -> bool {
        self.trickle
    }

    /// Adds the peer's ICE candidate (`RTCIceCandidateInit` JSON); one it refuses is warned about.
    pub fn add_candidate(&self, candidate: &str) {
        let Ok(init) = js_sys::JSON::parse(candidate) else { return };
        let added = self.connection.unchecked_ref::<Connection>().add_ice_candidate_init(&init);
        let warn = Closure::once_into_js(|e: JsValue| warn(&format!("cannot add an ICE candidate: {}", describe(&e))));
        drop(added.unchecked_ref::<Catchable>().catch_with(&warn));
    }

    /// Bytes the channel holds unsent.
    pub fn buffered(&self) -> u64 {
        u64::from(self.channel.buffered_amount())
    }
}

/// The remote's SCTP `maxMessageSize`, once the connection knows it.
fn max_message_size(connection: &RtcPeerConnection) -> Option<f64> {
    let sctp = Reflect::get(connection, &"sctp".into()).ok().filter(JsValue::is_object)?;
    Reflect::get(&sctp, &"maxMessageSize".into()).ok()?.as_f64()
}

/// `name: message` of a JS error, for warnings.
pub fn describe(error: &JsValue) -> String {
    let text = |key: &str| Reflect::get(error, &key.into()).ok().and_then(|v| v.as_string());
    match (text("name"), text("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        _ => error.as_string().unwrap_or_else(|| format!("{error:?}")),
    }
}

/// Runs one negotiation step on `connection`: the local SDP it made, or why it failed. A
/// `trickle` connection describes itself at once; others wait for ICE gathering.
pub async fn negotiate(
    connection: &RtcPeerConnection,
    step: NegotiationStep,
    trickle: bool,
) -> Result<Option<String>, String> {
    let run = async {
        match step {
            NegotiationStep::MakeOffer => describe_locally(connection, trickle).await.map(Some),
            NegotiationStep::ApplyOffer(sdp) => {
                set_remote(connection, RtcSdpType::Offer, &sdp).await?;
                describe_locally(connection, trickle).await.map(Some)
            }
            NegotiationStep::ApplyAnswer(sdp) => set_remote(connection, RtcSdpType::Answer, &sdp).await.map(|()| None),
            NegotiationStep::RestartIce => describe_restart(connection, None).await.map(Some),
            NegotiationStep::AnswerRestart(sdp) => describe_restart(connection, Some(&sdp)).await.map(Some),
            NegotiationStep::Rollback => {
                let rollback = RtcSessionDescriptionInit::new(RtcSdpType::Rollback);
                JsFuture::from(connection.set_local_description(&rollback)).await.map(|_| None)
            }
        }
    };
    run.await.map_err(|e| describe(&e))
}

async fn set_remote(connection: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
    let description = RtcSessionDescriptionInit::new(kind);
    description.set_sdp(sdp);
    JsFuture::from(connection.set_remote_description(&description)).await?;
    Ok(())
}

/// Makes the local description the signaling state calls for and returns its SDP once ICE
/// gathering is done (or has taken [`ICE_GATHERING_TIMEOUT_MS`]), or at once if it `trickle`s.
async fn describe_locally(connection: &RtcPeerConnection, trickle: bool) -> Result<String, JsValue> {
    JsFuture::from(connection.unchecked_ref::<Connection>().set_local_description_implicitly()).await?;
    if !trickle {
        ice_gathered(connection).await?;
    }
    let local = connection.local_description().ok_or_else(|| JsValue::from_str("no local description"))?;
    Ok(local.sdp())
}

/// Makes the description of an ICE restart (our offer with new credentials, or our answer to the
/// peer's `offer`) and returns its SDP once the new gathering ends. The wait starts before the
/// description is set: the gathering state still reads `complete` from the last gathering then.
async fn describe_restart(connection: &RtcPeerConnection, offer: Option<&str>) -> Result<String, JsValue> {
    let ended = EventWait::start(connection, CANDIDATE_EVENT, |_, event| {
        event.unchecked_ref::<RtcPeerConnectionIceEvent>().candidate().is_none()
    })?;
    match offer {
        Some(sdp) => {
            set_remote(connection, RtcSdpType::Offer, sdp).await?;
            JsFuture::from(connection.unchecked_ref::<Connection>().set_local_description_implicitly()).await?;
        }
        None => {
            let options = RtcOfferOptions::new();
            options.set_ice_restart(true);
            let offer = JsFuture::from(connection.create_offer_with_rtc_offer_options(&options)).await?;
            JsFuture::from(connection.set_local_description(offer.unchecked_ref())).await?;
        }
    }
    ended.finish().await?;
    let local = connection.local_description().ok_or_else(|| JsValue::from_str("no local description"))?;
    Ok(local.sdp())
}

/// Resolves once ICE gathering is complete, or after [`ICE_GATHERING_TIMEOUT_MS`].
async fn ice_gathered(connection: &RtcPeerConnection) -> Result<(), JsValue> {
    if connection.ice_gathering_state() == RtcIceGatheringState::Complete {
        return Ok(());
    }
    EventWait::start(connection, GATHERING_EVENT, |pc, _| pc.ice_gathering_state() == RtcIceGatheringState::Complete)?
        .finish()
        .await
}

/// A wait for an event of a connection that `done` accepts, or [`ICE_GATHERING_TIMEOUT_MS`]. It
/// listens with a listener of its own (not the single `on…` slot), from [`EventWait::start`] until
/// dropped, so overlapping waits do not cut each other short.
struct EventWait {
    connection: RtcPeerConnection,
    event: &'static str,
    promise: Promise,
    listener: Handler,
    timeout: Option<i32>,
}

impl EventWait {
    fn start(
        connection: &RtcPeerConnection,
        event: &'static str,
        done: impl Fn(&RtcPeerConnection, &JsValue) -> bool + 'static,
    ) -> Result<Self, JsValue> {
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let (mut done, mut listener, mut timeout) = (Some(done), None, None);
        let promise = Promise::new(&mut |resolve, _| {
            let Some(done) = done.take() else { return };
            let (watched, finished) = (connection.clone(), resolve.clone());
            listener = Some(Handler::new(move |event: JsValue| {
                if done(&watched, &event) {
                    let _ = finished.call0(&JsValue::NULL);
                }
            }));
            timeout =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ICE_GATHERING_TIMEOUT_MS).ok();
        });
        let Some(listener) = listener else { return Err(JsValue::from_str("the promise executor did not run")) };
        connection.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref())?;
        Ok(Self { connection: connection.clone(), event, promise, listener, timeout })
    }

    async fn finish(self) -> Result<(), JsValue> {
        JsFuture::from(self.promise.clone()).await.map(drop)
    }
}

impl Drop for EventWait {
    fn drop(&mut self) {
        let _ = self.connection.remove_event_listener_with_callback(self.event, self.listener.as_ref().unchecked_ref());
        if let (Some(timeout), Some(window)) = (self.timeout, web_sys::window()) {
            window.clear_timeout_with_handle(timeout);
        }
    }
}
