//! One RTCPeerConnection with its data channel.
//!
//! Both ends create the same pre-negotiated channel (id 0), so no `datachannel` event is needed
//! and the offer always carries an application m-line. SDP is exchanged whole, after ICE
//! gathering, because it travels sealed through relays that may not keep per-candidate order.

use super::backpressure::{ChannelClosed, Drain, LOW_WATER};
use super::console::warn;
use crate::renegotiation::Negotiator;
use futures::channel::oneshot;
use futures::future::select;
use gloo_timers::future::TimeoutFuture;
use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelInit, RtcDataChannelType, RtcIceGatheringState,
    RtcPeerConnection, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit, RtcTrackEvent,
};

/// Longest wait for ICE gathering before the SDP is sent with the candidates found so far.
pub const ICE_GATHERING_TIMEOUT_MS: u32 = 5_000;

const GATHERING_EVENT: &str = "icegatheringstatechange";

/// What a peer connection reports.
pub enum PeerEvent {
    /// The data channel opened: the peer is reachable.
    Open,
    /// The channel or connection closed or failed.
    Closed,
    /// A binary message arrived.
    Message(ArrayBuffer),
    /// A remote media track arrived (after a renegotiation).
    Track(RtcTrackEvent),
}

type Handler = Closure<dyn FnMut(JsValue)>;

struct Inner {
    connection: RtcPeerConnection,
    channel: RtcDataChannel,
    drain: Rc<Drain>,
    negotiator: RefCell<Negotiator>,
    on_negotiation_needed: RefCell<Option<Closure<dyn FnMut()>>>,
    _handlers: [Handler; 6],
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.channel.set_onopen(None);
        self.channel.set_onclose(None);
        self.channel.set_onmessage(None);
        self.channel.set_onbufferedamountlow(None);
        self.connection.set_onconnectionstatechange(None);
        self.connection.set_ontrack(None);
        self.connection.set_onnegotiationneeded(None);
        self.connection.close();
    }
}

/// A handle that does not keep the peer alive (for the peer's own event handlers).
pub(crate) struct WeakPeer(std::rc::Weak<Inner>);

impl WeakPeer {
    pub(crate) fn upgrade(&self) -> Option<Peer> {
        self.0.upgrade().map(Peer)
    }
}

/// A shared handle to one peer connection. Closing happens when the last handle drops or on
/// [`Peer::close`].
#[derive(Clone)]
pub struct Peer(Rc<Inner>);

impl Peer {
    /// Creates the connection and its channel; `on_event` receives every [`PeerEvent`].
    pub fn new(config: &RtcConfiguration, on_event: Rc<dyn Fn(PeerEvent)>) -> Result<Self, JsValue> {
        let connection = RtcPeerConnection::new_with_configuration(config)?;
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(0);
        let channel = connection.create_data_channel_with_data_channel_dict("rendez", &init);
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        channel.set_buffered_amount_low_threshold(LOW_WATER);
        let drain = Rc::new(Drain::default());

        let ev = on_event.clone();
        let on_open = Handler::new(move |_| ev(PeerEvent::Open));
        let (ev, dr) = (on_event.clone(), drain.clone());
        let on_close = Handler::new(move |_| {
            dr.wake_all();
            ev(PeerEvent::Closed)
        });
        let ev = on_event.clone();
        let on_message = Handler::new(move |event: JsValue| {
            let data = event.unchecked_into::<MessageEvent>().data();
            match data.dyn_into::<ArrayBuffer>() {
                Ok(buffer) => ev(PeerEvent::Message(buffer)),
                Err(_) => warn("dropped a message that is not binary"),
            }
        });
        let dr = drain.clone();
        let on_low = Handler::new(move |_| dr.wake_all());
        let ev = on_event.clone();
        let on_track = Handler::new(move |event: JsValue| ev(PeerEvent::Track(event.unchecked_into())));
        let (ev, pc) = (on_event, connection.clone());
        let on_state = Handler::new(move |_| {
            if matches!(pc.connection_state(), RtcPeerConnectionState::Failed | RtcPeerConnectionState::Closed) {
                ev(PeerEvent::Closed);
            }
        });
        channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        channel.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        channel.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        connection.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        connection.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        Ok(Self(Rc::new(Inner {
            connection,
            channel,
            drain,
            negotiator: RefCell::new(Negotiator::new(false)),
            on_negotiation_needed: RefCell::new(None),
            _handlers: [on_open, on_close, on_message, on_low, on_state, on_track],
        })))
    }

    /// The underlying connection, as handed to apps by `getPeers()`.
    pub fn connection(&self) -> &RtcPeerConnection {
        &self.0.connection
    }

    /// Creates the offer and returns its SDP once ICE gathering is done.
    pub async fn create_offer(&self) -> Result<String, JsValue> {
        let offer = JsFuture::from(self.0.connection.create_offer()).await?;
        self.set_local(offer.unchecked_into()).await
    }

    /// Applies a remote offer and returns the answer SDP once ICE gathering is done.
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, JsValue> {
        self.set_remote(RtcSdpType::Offer, sdp).await?;
        let answer = JsFuture::from(self.0.connection.create_answer()).await?;
        self.set_local(answer.unchecked_into()).await
    }

    /// Applies the remote answer to our offer.
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), JsValue> {
        self.set_remote(RtcSdpType::Answer, sdp).await
    }

    async fn set_remote(&self, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
        let description = RtcSessionDescriptionInit::new(kind);
        description.set_sdp(sdp);
        JsFuture::from(self.0.connection.set_remote_description(&description)).await?;
        Ok(())
    }

    async fn set_local(&self, description: RtcSessionDescriptionInit) -> Result<String, JsValue> {
        JsFuture::from(self.0.connection.set_local_description(&description)).await?;
        self.ice_gathered().await;
        let local = self.0.connection.local_description().ok_or_else(|| JsValue::from_str("no local description"))?;
        Ok(local.sdp())
    }

    async fn ice_gathered(&self) {
        let pc = &self.0.connection;
        if pc.ice_gathering_state() == RtcIceGatheringState::Complete {
            return;
        }
        let (done, gathered) = oneshot::channel::<()>();
        let done = RefCell::new(Some(done));
        let watcher = pc.clone();
        let on_change = Handler::new(move |_| {
            if watcher.ice_gathering_state() == RtcIceGatheringState::Complete {
                if let Some(done) = done.borrow_mut().take() {
                    let _ = done.send(());
                }
            }
        });
        // A listener of its own (not the single `on…` slot), so overlapping waits do not cut each other short.
        let listener = on_change.as_ref().unchecked_ref();
        let _ = pc.add_event_listener_with_callback(GATHERING_EVENT, listener);
        select(gathered, TimeoutFuture::new(ICE_GATHERING_TIMEOUT_MS)).await;
        let _ = pc.remove_event_listener_with_callback(GATHERING_EVENT, listener);
    }

    /// Waits until the channel can take `len` more bytes.
    pub async fn room_for(&self, len: u32) -> Result<(), ChannelClosed> {
        self.0.drain.room_for(&self.0.channel, len).await
    }

    /// The remote's SCTP `maxMessageSize`, once the connection knows it.
    pub fn max_message_size(&self) -> Option<f64> {
        let sctp = Reflect::get(&self.0.connection, &"sctp".into()).ok().filter(JsValue::is_object)?;
        Reflect::get(&sctp, &"maxMessageSize".into()).ok()?.as_f64()
    }

    /// Sends one frame.
    pub fn send(&self, frame: &Uint8Array) -> Result<(), JsValue> {
        self.0.channel.send_with_array_buffer_view(frame)
    }

    pub(crate) fn downgrade(&self) -> WeakPeer {
        WeakPeer(Rc::downgrade(&self.0))
    }

    /// The perfect-negotiation state of this connection.
    pub(crate) fn negotiator(&self) -> &RefCell<Negotiator> {
        &self.0.negotiator
    }

    /// Installs the handler of `negotiationneeded` (kept alive as long as the peer).
    pub(crate) fn on_negotiation_needed(&self, handler: Closure<dyn FnMut()>) {
        self.0.connection.set_onnegotiationneeded(Some(handler.as_ref().unchecked_ref()));
        *self.0.on_negotiation_needed.borrow_mut() = Some(handler);
    }

    /// Closes the connection; the remote side sees its channel close.
    pub fn close(&self) {
        self.0.channel.close();
        self.0.connection.close();
        self.0.drain.wake_all();
    }
}
