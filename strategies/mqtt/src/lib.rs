//! MQTT strategy: peers announce themselves on a room topic of public MQTT brokers (MQTT 3.1.1
//! over WebSocket) and exchange sealed offers and answers on each other's peer topics.

pub mod packet;
pub mod session;

#[cfg(target_arch = "wasm32")]
mod web;

use rendez_core::pubsub::PubSubStrategy;
use rendez_core::signaling::{room_topic, Topics};
use rendez_core::strategy::StrategyConfig;
use session::MqttSession;

/// Public MQTT brokers with WebSocket listeners, used when the app names none.
pub const DEFAULT_RELAY_URLS: &[&str] =
    &["wss://broker.emqx.io:8084/mqtt", "wss://broker.hivemq.com:8884/mqtt", "wss://test.mosquitto.org:8081/mqtt"];

/// How many of the default brokers a room connects to.
pub const DEFAULT_RELAY_REDUNDANCY: usize = 2;

/// The MQTT strategy for a room.
pub fn strategy(config: &StrategyConfig) -> PubSubStrategy<MqttSession> {
    let topics =
        Topics::new(format!("rendez/{}", room_topic("mqtt", &config.app_id, &config.room_id)), &config.self_id);
    PubSubStrategy::new(config.self_id.clone(), topics.clone(), MqttSession::new(topics, config.relay_count))
}

#[cfg(target_arch = "wasm32")]
pub use web::join_room;
