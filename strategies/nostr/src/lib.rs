//! Nostr strategy: peers announce themselves with ephemeral NIP-01 events tagged with a hashed
//! room topic on public relays, and exchange sealed offers and answers tagged with each other's
//! peer topics. Events are signed with a fresh secp256k1 key per room.

pub mod event;
pub mod relay_message;
pub mod session;

#[cfg(target_arch = "wasm32")]
mod web;

use rendez_core::pubsub::PubSubStrategy;
use rendez_core::random::Random;
use rendez_core::signaling::{room_topic, Topics};
use rendez_core::strategy::StrategyConfig;
use session::NostrSession;

/// Public Nostr relays used when the app names none.
pub const DEFAULT_RELAY_URLS: &[&str] =
    &["wss://relay.damus.io", "wss://nos.lol", "wss://relay.primal.net", "wss://nostr.mom", "wss://relay.nostr.band"];

/// How many of the default relays a room connects to.
pub const DEFAULT_RELAY_REDUNDANCY: usize = 3;

/// Event kind of signaling events: in NIP-01's ephemeral range, so relays do not store them.
pub const EVENT_KIND: u32 = 29_371;

/// Single-letter tag carrying the topic, so relays can filter on it (`#x`).
pub const TOPIC_TAG: char = 'x';

/// The Nostr strategy for a room, with a fresh key from `random`.
pub fn strategy(config: &StrategyConfig, random: &mut Random) -> PubSubStrategy<NostrSession> {
    let topics = Topics::new(room_topic("nostr", &config.app_id, &config.room_id), &config.self_id);
    PubSubStrategy::new(config.self_id.clone(), topics.clone(), NostrSession::new(topics, config.relay_count, random))
}

#[cfg(target_arch = "wasm32")]
pub use web::join_room;
