//! The one trait every signaling strategy implements.

use crate::signaling::{SealedOffer, SignalEvent};
use std::rc::Rc;

/// Delivers what a strategy hears from its relays to the room.
pub type SignalSink = Rc<dyn Fn(SignalEvent)>;

/// What a strategy is told when a room starts.
pub struct StrategyContext {
    pub app_id: String,
    pub room_id: String,
    pub self_id: String,
    /// The relays to use: `relayUrls` from the config, or the strategy's defaults, cut to
    /// `relayRedundancy`.
    pub relay_urls: Vec<String>,
    pub sink: SignalSink,
}

/// A way to reach other peers of a room through public relays. A strategy carries sealed
/// messages only; keys, sealing and peer lifecycle belong to the room.
pub trait Strategy {
    /// Publishes our presence with `offers`, spread over the relays that are open.
    fn announce(&self, offers: Vec<SealedOffer>);
    /// Sends our answer to peer `to` for its offer `offer_id`.
    fn send_answer(&self, to: &str, offer_id: &str, sealed_sdp: &str);
    /// The relay connections by URL (`None` while one is reconnecting).
    fn relay_sockets(&self) -> Vec<(String, Option<web_sys::WebSocket>)>;
    /// Says goodbye to the relays and closes them for good.
    fn leave(&self);
}
