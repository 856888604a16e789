//! In-memory relay servers, one per strategy, speaking the protocols public relays speak.

mod broker;
mod nostr;
mod tracker;

pub use broker::SimBroker;
pub use nostr::SimNostrRelay;
pub use tracker::SimTracker;

use rendez_core::strategy::RelayData;

/// One client connection to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u64);

/// What a server does in answer to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAction {
    Send(ClientId, RelayData),
    Close(ClientId),
}

/// A relay server.
pub trait RelayServer {
    /// A client connected.
    fn connect(&mut self, _client: ClientId) {}

    /// A client sent a message.
    fn receive(&mut self, client: ClientId, data: RelayData, out: &mut Vec<ServerAction>);

    /// A client's connection ended.
    fn disconnect(&mut self, client: ClientId);
}
