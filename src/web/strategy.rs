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
    /// Our presence proof (the empty text sealed under `presence_context(self_id)`), for
    /// presence strategies to publish with each announcement.
    pub presence_proof: String,
}

/// A way to reach other peers of a room through public relays. A strategy carries sealed
/// messages only; keys, sealing and peer lifecycle belong to the room.
///
/// Peers are found one of two ways. Offer-pool strategies (trackers) publish offers to
/// strangers with each announce and hear answers. Presence strategies (pub/sub relays) publish
/// a bare announcement, report others' as [`SignalEvent::Presence`](crate::signaling::SignalEvent),
/// and then carry an offer addressed to that peer ([`Strategy::direct`]).
pub trait Strategy {
    /// How many fresh offers each announce should carry (0 for presence strategies).
    fn offer_pool_size(&self) -> usize;
    /// Publishes our presence with `offers`, spread over the relays that are open.
    fn announce(&self, offers: Vec<SealedOffer>);
    /// Sends our answer to peer `to` for its offer `offer_id`.
    fn send_answer(&self, to: &str, offer_id: &str, sealed_sdp: &str);
    /// The relay connections by URL (`None` while one is reconnecting).
    fn relay_sockets(&self) -> Vec<(String, Option<web_sys::WebSocket>)>;
    /// Says goodbye to the relays and closes them for good.
    fn leave(&self);
    /// The strategy's way to address an offer to one peer, if it has one.
    fn direct(&self) -> Option<&dyn DirectOffers> {
        None
    }
}

/// Sending an offer to one known peer.
pub trait DirectOffers {
    /// Sends our offer `offer_id` to peer `to`.
    fn send_offer(&self, to: &str, offer_id: &str, sealed_sdp: &str);
}
